"""Apply one PhotoStorage and photos flow: the migration Job makes the schema, the API pods
serve through their Service, and the processor pod processes what is uploaded."""

from __future__ import annotations

from installation import Installation, jpeg, upload, wait_processed

from photostore.storage import thumbnail_prefix

TABLES = {"users", "sessions", "api_keys", "photos", "outbox", "object_cleanup"}


def test_migration_job_made_the_schema(installation: Installation) -> None:
    jobs = installation.cluster.list(
        "jobs", installation.namespace, "app.kubernetes.io/component=migration"
    )
    assert [job["status"].get("succeeded") for job in jobs] == [1]
    rows = installation.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert {name for (name,) in rows} >= TABLES


def test_api_pods_ready_on_the_real_node(installation: Installation) -> None:
    pods = installation.pods("api")
    assert len(pods) == 2
    for pod in pods:
        assert pod["spec"]["nodeName"] == installation.env["PHOTOSTORE_NODE_NAME"]
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        assert ready == "True", pod["metadata"]["name"]


def test_uploaded_photos_are_processed(installation: Installation, user_token: str) -> None:
    photos = {f"flow-{n}.jpg": jpeg(seed=n) for n in range(4)}
    ids = upload(installation, user_token, photos)

    processed = wait_processed(installation, user_token, ids)

    assert [p["processing_status"] for p in processed] == ["done"] * len(ids)
    for photo in processed:
        assert (photo["width"], photo["height"]) == (640, 480)
        assert set(photo["thumbnails"]) >= {"grid", "preview"}, photo
        listed = installation.s3.list_objects_v2(
            Bucket=installation.bucket, Prefix=thumbnail_prefix(photo["id"])
        )
        assert len(listed.get("Contents", [])) == len(photo["thumbnails"])
