"""The operator logs in as a cluster gives it to: a ServiceAccount's bound token, through a
kubeconfig or through the in-cluster files, and it follows the token when it is rotated."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from operator_account import NAMESPACE, apiserver, request_token
from ps_cluster import REPO_ROOT, Cluster, photostorage, small_spec, wait_for

from photostore.operator.kube import KubeClient

NAME = "photos"


async def test_the_client_sends_a_kubeconfig_token(
    operator_kubeconfig: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token in a kubeconfig reaches the apiserver: without it the apiserver sees
    system:anonymous and refuses."""
    monkeypatch.setenv("KUBECONFIG", operator_kubeconfig)
    kube = KubeClient()
    try:
        listed = await kube.list("photos.example.com/v1alpha1", "PhotoStorage", namespace)
    finally:
        await kube.close()
    assert listed == []


def answers_to(cluster: Cluster, token: str) -> int:
    """The HTTP status the apiserver gives a request carrying `token`."""
    server, ca = apiserver(cluster)
    response = httpx.get(
        f"{server}/apis/photos.example.com/v1alpha1/photostorages",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=ca),
        timeout=10,
    )
    return response.status_code


def write_atomically(path: Path, text: str) -> None:
    """As the kubelet writes a projected token: a new file swapped in by rename."""
    fresh = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fresh.write_text(text)
    fresh.replace(path)


@pytest.fixture
def bound_secrets(cluster: Cluster) -> Iterator[list[str]]:
    """Secrets that tokens are bound to; deleting one ends its token."""
    names = [f"operator-login-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        cluster.run("create", "secret", "generic", name, "-n", NAMESPACE)
    yield names
    for name in names:
        cluster.run("delete", "secret", name, "-n", NAMESPACE, "--ignore-not-found")


@pytest.fixture
def in_cluster_operator(
    cluster: Cluster,
    namespace: str,
    operator_kubeconfig: str,
    bound_secrets: list[str],
    tmp_path: Path,
) -> Iterator[Path]:
    """`python -m photostore operator` started as in a pod: the service host and port in its
    environment, the ServiceAccount's token, CA and namespace in files, and no kubeconfig."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    server, ca = apiserver(cluster)
    host, port = server.removeprefix("https://").rsplit(":", 1)
    shutil.copy(ca, account / "ca.crt")
    (account / "namespace").write_text(NAMESPACE)
    write_atomically(account / "token", request_token(cluster, bound_secrets[0]))
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(
        KUBERNETES_SERVICE_HOST=host,
        KUBERNETES_SERVICE_PORT=port,
        HOME=str(tmp_path),  # no ~/.kube/config to fall back on
        PHOTOSTORE_OPERATOR_SERVICE_ACCOUNT_DIR=str(account),
        PHOTOSTORE_OPERATOR_METRICS_PORT="0",
        PHOTOSTORE_OPERATOR_LIVENESS="",
    )
    log = tmp_path / "operator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "photostore", "operator", "--standalone", "-n", namespace],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    yield account
    process.terminate()
    process.wait(timeout=20)
    assert process.returncode == 0, log.read_text()[-4000:]


def test_in_cluster_login_follows_a_rotated_token(
    cluster: Cluster, namespace: str, in_cluster_operator: Path, bound_secrets: list[str]
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)

    # The kubelet rotates the token; then the first one stops working altogether.
    first = (in_cluster_operator / "token").read_text()
    fresh = request_token(cluster, bound_secrets[1])
    write_atomically(in_cluster_operator / "token", fresh)
    cluster.run("delete", "secret", bound_secrets[0], "-n", NAMESPACE)
    wait_for("the first token to be refused", lambda: answers_to(cluster, first) == 401)
    assert answers_to(cluster, fresh) == 200

    # Repairing drift and reporting a new generation both need the apiserver to accept us.
    cluster.run("delete", "deployment", f"{NAME}-api", "-n", namespace)
    wait_for(
        "the deleted API Deployment to be restored",
        lambda: cluster.get("deployment", f"{NAME}-api", namespace),
        timeout=30,
    )
    cluster.run("patch", "photostorage", NAME, "-n", namespace, "--type=merge",
                "-p", '{"spec": {"api": {"replicas": 3}}}')  # fmt: skip

    def reported() -> bool:
        ps = cluster.get("photostorage", NAME, namespace) or {}
        return (ps.get("status") or {}).get("observedGeneration") == ps["metadata"]["generation"]

    wait_for("the new generation observed with the rotated token", reported, timeout=60)
