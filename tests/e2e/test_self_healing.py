"""What Kubernetes heals on the real node, with photos still flowing: a processor killed in
the middle of its work, and an API pod deleted while clients keep calling."""

from __future__ import annotations

import threading
import time

import httpx
from installation import Installation, jpeg, kill_container, ready, upload, wait_processed
from ps_cluster import wait_for

from photostore.storage import thumbnail_prefix

# Photos large enough that the processor is busy with them when it is killed.
KILLED_BATCH = 12
KILLED_SIZE = (1600, 1200)
# Requests to /health through the Service that may fail while an API pod is replaced:
# kube-proxy drops the pod's endpoint a moment after the pod starts terminating.
ALLOWED_FAILED_REQUESTS = 3


def restarts(installation: Installation, component: str) -> int:
    pods = installation.pods(component)
    return sum(s["restartCount"] for p in pods for s in p["status"].get("containerStatuses", []))


def test_processor_killed_mid_batch_loses_and_duplicates_nothing(
    installation: Installation, user_token: str
) -> None:
    photos = {f"killed-{n}.jpg": jpeg(seed=1000 + n, size=KILLED_SIZE) for n in range(12)}
    (pod,) = installation.pods("processor")
    container_id = pod["status"]["containerStatuses"][0]["containerID"]
    before = restarts(installation, "processor")

    ids = upload(installation, user_token, photos)
    kill_container(container_id)

    wait_for(
        "the processor's container restarted",
        lambda: restarts(installation, "processor") > before,
        timeout=120,
        every=1,
    )
    processed = wait_processed(installation, user_token, ids)
    assert [p["processing_status"] for p in processed] == ["done"] * KILLED_BATCH
    rows = installation.sql(
        "SELECT count(*), count(DISTINCT sha256), max(processing_attempts) FROM photos"
        " WHERE filename LIKE 'killed-%%'"
    )
    count, distinct, attempts = rows[0]
    assert (count, distinct) == (KILLED_BATCH, KILLED_BATCH)
    # At least once, never more than the kill's one repeat: a photo interrupted by the kill is
    # processed again (to the same keys and the same row), never counted as a new photo.
    assert attempts <= 2
    for photo in processed:
        listed = installation.s3.list_objects_v2(
            Bucket=installation.bucket, Prefix=thumbnail_prefix(photo["id"])
        )
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
        assert len(keys) == len(photo["thumbnails"]) == 2, keys


def test_api_pod_deleted_is_replaced_while_the_service_keeps_serving(
    installation: Installation,
) -> None:
    url = installation.api_url()
    results: list[bool] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=url, timeout=5) as client:
            while not stop.is_set():
                try:
                    results.append(client.get("/health").status_code == 200)
                except httpx.HTTPError:
                    results.append(False)
                time.sleep(0.05)

    before = {p["metadata"]["name"] for p in installation.pods("api")}
    victim = sorted(before)[0]
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        time.sleep(1)
        installation.cluster.run("delete", "pod", victim, "-n", installation.namespace)

        def replaced() -> bool:
            pods = installation.pods("api")
            names = {p["metadata"]["name"] for p in pods}
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            return victim not in names and len(live) == 2 and all(ready(p) for p in live)

        wait_for("a replacement API pod Ready", replaced, timeout=240, every=1)
        time.sleep(2)
    finally:
        stop.set()
        poller.join(timeout=10)
    failed = results.count(False)
    print(f"/health through the Service: {len(results)} requests, {failed} failed")
    assert len(results) > 20
    assert failed <= ALLOWED_FAILED_REQUESTS, f"{failed} of {len(results)} requests failed"
