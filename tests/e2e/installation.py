"""The end-to-end installation: one PhotoStorage on the real node, and what tests do with it.

One session-wide installation on the real node (hack/env/node): a namespace annotated so that
the apiserver's PodNodeSelector and PodTolerationRestriction put every pod there, a throwaway
database on the environment's PostgreSQL (empty: the migration Job must make the schema), a
throwaway bucket and Kafka topic, and the operator as a local process logged in with its
ServiceAccount's token, watching that namespace. The pods run the project's image
(photostore.local/photostore:dev) for real; the tests reach the API through its Service's
ClusterIP, which kube-proxy makes reachable from this host.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from PIL import Image
from ps_cluster import REPO_ROOT, Cluster, wait_for
from real_node import real_node_spec
from real_node import secret as secret

from photostore.events import admin_config
from photostore.local_env import env_file

NAME = "photos"
# Generous but bounded: two cores shared with other test runs start Python processes slowly.
READY_TIMEOUT = 420
PROCESSED_TIMEOUT = 300


def node_annotations(pool: str) -> dict[str, str]:
    """The namespace annotations that send every pod created there to the real node."""
    key, _, value = pool.partition("=")
    toleration = {"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}
    return {
        "scheduler.alpha.kubernetes.io/node-selector": pool,
        "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([toleration]),
    }


def e2e_spec(database: str, bucket: str, topic: str) -> dict[str, Any]:
    """The real-node PhotoStorage of `make demo`, its limits raised for the tests' load."""
    spec = real_node_spec(database, bucket, topic, requests_per_10s=1000)
    spec["backup"] = {"schedule": "0 3 1 1 *"}  # never due during a run: tests start it
    return spec


def jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG of seeded noise over a gradient: different bytes for every seed."""
    width, height = size
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    pixels = gradient + rng.integers(0, 55, (height, width, 3)).astype(np.float32)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def containerd_socket() -> Path:
    """The real node's containerd socket (hack/env/node/node.sh)."""
    return env_file().parent / "run" / "containerd" / "containerd.sock"


def kill_container(container_id: str) -> None:
    """SIGKILL a container's process from the host, as the kernel's OOM killer or a node
    failure would: PID 1 of a container ignores SIGKILL sent from inside its namespace."""
    subprocess.run(
        ["ctr", "-a", str(containerd_socket()), "-n", "k8s.io", "task", "kill", "-s", "SIGKILL",
         container_id.removeprefix("containerd://")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


@dataclass
class Installation:
    """The session's PhotoStorage and what the tests need to look at it."""

    cluster: Cluster
    namespace: str
    database_url: str
    bucket: str
    topic: str
    s3: Any
    operator_log: Path
    env: dict[str, str]

    def ps(self) -> dict[str, Any]:
        return self.cluster.run_json("get", "photostorage", NAME, "-n", self.namespace)

    def condition(self, kind: str) -> dict[str, Any] | None:
        return self.cluster.condition(NAME, self.namespace, kind)

    def pods(self, component: str) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/instance={NAME},app.kubernetes.io/component={component}"
        return self.cluster.list("pods", self.namespace, selector)

    def api_url(self) -> str:
        service = self.cluster.run_json("get", "service", f"{NAME}-api", "-n", self.namespace)
        return f"http://{service['spec']['clusterIP']}:80"

    def client(self, token: str | None = None, timeout: float = 30) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api_url(), headers=headers, timeout=timeout)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query.encode(), params).fetchall()

    def patch_spec(self, patch: dict[str, Any]) -> None:
        self.cluster.run(
            "patch", "photostorage", NAME, "-n", self.namespace, "--type", "merge",
            "-p", json.dumps({"spec": patch}),
        )  # fmt: skip

    def operator_log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.operator_log.read_text(errors="replace").splitlines()[-lines:])


def start_operator(namespace: str, kubeconfig: Path, log_path: Path) -> subprocess.Popen[bytes]:
    operator_env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "PHOTOSTORE_OPERATOR_METRICS_PORT": "0",
        "PHOTOSTORE_OPERATOR_LIVENESS": "",
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "photostore", "operator", "--standalone", "-n", namespace],
            cwd=REPO_ROOT,
            env=operator_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def delete_topics(brokers: str, topics: list[str]) -> None:
    futures = AdminClient(admin_config(brokers)).delete_topics(topics, operation_timeout=10)
    for future in futures.values():
        with contextlib.suppress(KafkaException):  # a topic already gone is fine
            future.result(timeout=15)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def wait_processed(
    installation: Installation, token: str, photo_ids: list[str], timeout: float = PROCESSED_TIMEOUT
) -> list[dict[str, Any]]:
    """Poll the API until every photo is processed (done or failed); return the photos."""

    def check() -> list[dict[str, Any]] | None:
        with installation.client(token) as client:
            photos = [client.get(f"/v1/photos/{photo_id}").json() for photo_id in photo_ids]
        pending = [p for p in photos if p.get("processing_status") not in ("done", "failed")]
        return None if pending else photos

    return wait_for(f"{len(photo_ids)} photos processed", check, timeout=timeout, every=2)


def upload(installation: Installation, token: str, photos: dict[str, bytes]) -> list[str]:
    ids = []
    with installation.client(token, timeout=60) as client:
        for filename, data in photos.items():
            response = client.post(
                "/v1/photos", files={"file": (filename, data, "image/jpeg")}, data={"tags": "e2e"}
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    return ids


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
