"""Two operator processes with kopf peering: only the higher priority one acts, and the
other takes over when it stops."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ps_cluster import REPO_ROOT, Cluster, free_port, photostorage, small_spec, wait_for

NAME = "photos"


def reconciles(port: int) -> float:
    """photostore_operator_reconciles_total{result="ok"} of one operator process."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('photostore_operator_reconciles_total{result="ok"}'):
                return float(line.split()[-1])
    return 0.0


def paused(log: str) -> bool:
    """Whether kopf's last word on peering in this log leaves the operator paused."""
    said = [
        line
        for line in log.splitlines()
        if "Pausing operations" in line or "Resuming operations" in line
    ]
    return not said or "Pausing operations" in said[-1]


class OperatorProcess:
    def __init__(
        self, namespace: str, peering: str, priority: int, log: Path, base_env: dict[str, str]
    ) -> None:
        self.metrics_port = free_port()
        env = {
            **base_env,
            "PHOTOSTORE_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "PHOTOSTORE_OPERATOR_LIVENESS": "",
            "PHOTOSTORE_OPERATOR_PRIORITY": str(priority),
        }
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "photostore", "operator", "--namespace", namespace,
                 f"--peering={peering}"],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def scraped(self) -> float | None:
        try:
            return reconciles(self.metrics_port)
        except OSError:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def peers(
    cluster: Cluster, namespace: str, tmp_path: Path, operator_env: dict[str, str]
) -> Iterator[list[OperatorProcess]]:
    peering = f"photostore-{namespace}"
    cluster.apply(
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": peering}},
        namespace,
    )
    processes = [
        OperatorProcess(
            namespace, peering, priority, tmp_path / f"operator-{priority}.log", operator_env
        )
        for priority in (100, 10)
    ]
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture
def peering_crds(cluster: Cluster) -> None:
    cluster.run(
        "apply", "--server-side", "-f", str(REPO_ROOT / "manifests/operator/peering-crds.yaml")
    )
    cluster.run("wait", "--for=condition=Established", "--timeout=60s", "crd/kopfpeerings.kopf.dev")


@pytest.mark.usefixtures("peering_crds")
def test_only_the_leader_reconciles_and_the_standby_takes_over(
    cluster: Cluster, namespace: str, peers: list[OperatorProcess]
) -> None:
    leader, standby = peers
    wait_for("both operators serving metrics", lambda: all(
        p.scraped() is not None for p in peers
    ), timeout=30)  # fmt: skip
    # kopf starts every operator paused; one that sees no higher priority peer resumes, and
    # pauses again once the leader shows up in the peering object. Wait for that to settle.
    peering = f"photostore-{namespace}"
    wait_for(
        "both operators in the peering object",
        lambda: (
            len((cluster.get("kopfpeering", peering, namespace) or {}).get("status") or {}) >= 2
        ),
        timeout=30,
    )
    wait_for("the standby to be paused", lambda: paused(standby.log.read_text()), timeout=30)
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)
    assert (leader.scraped() or 0) > 0, leader.log.read_text()
    assert standby.scraped() == 0, "the standby must not act while the leader runs"

    leader.stop()
    old = cluster.get("deployment", "photos-api", namespace)
    assert old is not None
    cluster.run("delete", "deployment", "photos-api", "-n", namespace, "--wait=false")

    def restored() -> bool:
        new = cluster.get("deployment", "photos-api", namespace)
        return new is not None and new["metadata"]["uid"] != old["metadata"]["uid"]

    wait_for("the standby restores the deleted Deployment", restored, timeout=60)
    assert (standby.scraped() or 0) > 0, standby.log.read_text()
