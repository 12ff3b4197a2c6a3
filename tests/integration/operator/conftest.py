"""The operator's integration fixtures: CRD installed once, a fresh namespace per test,
and the operator running in-process under kopf's KopfRunner, watching that namespace, as a
cluster runs it: logged in as its own ServiceAccount with a bound token, holding exactly the
RBAC of manifests/operator/. The tests themselves act as the environment's admin."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kopf.testing import KopfRunner
from operator_account import install_identity, request_token, token_kubeconfig
from ps_cluster import CRD_FILE, Cluster


@pytest.fixture(scope="session")
def cluster(env: dict[str, str], kubeconfig: str) -> Cluster:
    cluster = Cluster(env["KUBECTL"], kubeconfig)
    cluster.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    cluster.run(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/photostorages.photos.example.com",
    )
    return cluster


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = (
        f"ps-{request.node.name[:30].lower().replace('_', '-').strip('-')}-{uuid.uuid4().hex[:6]}"
    )
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name)
    cluster.run("create", "namespace", name)
    yield name
    cluster.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kubeconfig holding only a ServiceAccount token of the operator (no certificate)."""
    install_identity(cluster)
    path = tmp_path_factory.mktemp("operator") / "kubeconfig"
    return str(token_kubeconfig(cluster, path, request_token(cluster)))


@pytest.fixture
def operator_env(operator_kubeconfig: str) -> dict[str, str]:
    """The environment of an operator process started by a test: the ServiceAccount's login."""
    return {**os.environ, "KUBECONFIG": operator_kubeconfig}


@pytest.fixture
def operator(
    namespace: str, operator_kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KopfRunner]:
    """The operator watching only this test's namespace (so tests never share one)."""
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_METRICS_PORT", "0")
    monkeypatch.setenv("KUBECONFIG", operator_kubeconfig)
    args = ["run", "-m", "photostore.operator", "--standalone", "--namespace", namespace]
    with KopfRunner(args, timeout=60) as runner:
        yield runner
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
