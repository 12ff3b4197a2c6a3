"""What an SRE sees: kubectl explain, get columns, the scale subresource, the operator's
liveness and metrics endpoints."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

from kopf.testing import KopfRunner
from ps_cluster import REPO_ROOT, Cluster, free_port, photostorage, small_spec, wait_for

NAME = "photos"


def test_kubectl_explain_shows_the_model_descriptions(cluster: Cluster) -> None:
    explained = cluster.run("explain", "photostorage.spec.processor.gpu").stdout
    assert "nvidia.com/gpu per processor pod." in explained
    assert "Value of the nodes' `accelerator` label." in explained


def test_get_shows_ready_and_replica_columns_and_scale_moves_the_api(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)
    header, row = cluster.run("get", "ps", NAME, "-n", namespace).stdout.splitlines()[:2]
    assert header.split()[:6] == ["NAME", "READY", "API", "PROCESSORS", "LAST", "BACKUP"]
    assert row.split()[:4] == [NAME, "True", "2/2", "2/2"]

    cluster.run("scale", "photostorage", NAME, "-n", namespace, "--replicas=3")

    def scaled() -> bool:
        deployment = cluster.get("deployment", "photos-api", namespace) or {}
        return bool(deployment.get("spec", {}).get("replicas") == 3)

    wait_for("the API Deployment scaled through the PhotoStorage", scaled, timeout=20)

    def reported() -> bool:
        ps = cluster.get("photostorage", NAME, namespace) or {}
        status = ps.get("status") or {}
        return (
            status.get("observedGeneration") == ps["metadata"]["generation"]
            and status.get("api", {}).get("summary") == "3/3"
        )

    wait_for("3/3 API pods reported for the new generation", reported, timeout=60)


def test_operator_command_serves_liveness_and_metrics(
    operator_env: dict[str, str], namespace: str
) -> None:
    liveness, metrics = free_port(), free_port()
    env = {
        **operator_env,
        "PHOTOSTORE_OPERATOR_METRICS_PORT": str(metrics),
        "PHOTOSTORE_OPERATOR_LIVENESS": f"http://127.0.0.1:{liveness}/healthz",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "photostore", "operator", "--standalone", "-n", namespace],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def get(port: int, path: str) -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                    return str(r.read().decode())
            except OSError:
                return None

        wait_for("kopf's liveness probe", lambda: get(liveness, "/healthz"), timeout=30)
        exposed = wait_for("the metrics endpoint", lambda: get(metrics, "/metrics"), timeout=10)
        assert "photostore_operator_reconcile_duration_seconds" in exposed
        assert "photostore_operator_queue_depth" in exposed
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert process.returncode == 0


def test_scale_while_autoscaling_is_parked_and_said(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    scaling = {"enabled": True, "minReplicas": 2, "maxReplicas": 3}
    api = {"replicas": 10, "autoscaling": scaling}  # 10: the default, which says nothing
    cluster.apply(photostorage(NAME, small_spec(api=api)), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)
    quiet = cluster.condition(NAME, namespace, "ReplicasIgnored")
    assert quiet is not None and quiet["status"] == "False"

    cluster.run("scale", "photostorage", NAME, "-n", namespace, "--replicas=7")
    said = cluster.wait_condition(NAME, namespace, "ReplicasIgnored", reason="AutoscalingEnabled")
    assert "spec.api.replicas=7" in said["message"] and "2..3" in said["message"]
    cluster.wait_event(namespace, "AutoscalingEnabled", type_="Warning")
    deployment = cluster.get("deployment", "photos-api", namespace)
    assert deployment is not None and deployment["spec"]["replicas"] in (2, 3)
