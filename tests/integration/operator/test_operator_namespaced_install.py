"""The namespaced install: the operator with Roles in the namespaces it watches, and
nothing cluster-wide, reaches Ready and can touch nothing else. And the user-facing roles:
PhotoStorages aggregated into the built-in view, edit and admin roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kopf.testing import KopfRunner
from operator_account import MANIFESTS, NAMESPACE, token_kubeconfig
from ps_cluster import Cluster, photostorage, small_spec, wait_for

from photostore.operator.rbac import namespaced_roles

NAME = "photos"


def can_i(cluster: Cluster, who: str, verb: str, resource: str, namespace: str) -> bool:
    """`resource` may name a subresource: photostorages/status."""
    resource, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, resource, "-n", namespace, "--as", who]
    result = cluster.run(*args, *(["--subresource", sub] if sub else []), check=False)
    return result.stdout.strip() == "yes"


@pytest.fixture
def namespaced_account(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A ServiceAccount of its own, holding only the namespaced install's Roles."""
    account = f"photostore-operator-{uuid.uuid4().hex[:6]}"
    cluster.run("create", "serviceaccount", account, "-n", NAMESPACE)
    for doc in namespaced_roles([namespace], account=(NAMESPACE, account)):
        cluster.apply(doc)
    yield account
    cluster.run("delete", "serviceaccount", account, "-n", NAMESPACE, "--ignore-not-found")


@pytest.fixture
def namespaced_operator(
    cluster: Cluster,
    namespace: str,
    namespaced_account: str,
    operator_kubeconfig: str,  # installs the shared identity: its namespace must exist
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[KopfRunner]:
    token = cluster.run("create", "token", namespaced_account, "-n", NAMESPACE).stdout.strip()
    kubeconfig = token_kubeconfig(cluster, tmp_path / "kubeconfig", token)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_METRICS_PORT", "0")
    args = ["run", "-m", "photostore.operator", "--standalone", "--namespace", namespace]
    with KopfRunner(args, timeout=60) as runner:
        yield runner
    assert runner.exception is None, runner.output
    # It never asked for what a namespaced install does not hold (kopf would retry that for
    # most of a minute before watching anything).
    records = [r for phase in ("setup", "call") for r in caplog.get_records(phase)]
    forbidden = [r.getMessage() for r in records if "forbidden" in r.getMessage()]
    assert not forbidden, forbidden


def test_a_namespaced_install_runs_on_roles_alone(
    cluster: Cluster, namespace: str, namespaced_account: str, namespaced_operator: KopfRunner
) -> None:
    who = f"system:serviceaccount:{NAMESPACE}:{namespaced_account}"
    assert can_i(cluster, who, "create", "deployments", namespace)
    assert not can_i(cluster, who, "create", "deployments", "kube-system")
    assert not can_i(cluster, who, "list", "namespaces", namespace)

    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    cluster.run("delete", "deployment", f"{NAME}-api", "-n", namespace)
    wait_for(
        "the API Deployment restored", lambda: cluster.get("deployment", f"{NAME}-api", namespace)
    )


def test_photostorages_join_the_built_in_user_roles(cluster: Cluster, namespace: str) -> None:
    for doc in yaml.safe_load_all((MANIFESTS / "user-roles.yaml").read_text()):
        cluster.apply(doc)
    for user, role in (("viewer", "view"), ("editor", "edit")):
        cluster.run("create", "rolebinding", f"{user}-{role}", f"--clusterrole={role}",
                    f"--user={user}", "-n", namespace)  # fmt: skip

    def aggregated() -> bool:
        return can_i(cluster, "viewer", "list", "photostorages", namespace) and can_i(
            cluster, "editor", "patch", "photostorages", namespace
        )

    wait_for("the aggregation controller to add the PhotoStorage rules", aggregated, timeout=30)
    assert can_i(cluster, "viewer", "get", "photostorages.photos.example.com", namespace)
    assert not can_i(cluster, "viewer", "create", "photostorages", namespace)
    assert can_i(cluster, "editor", "create", "photostorages", namespace)
    assert can_i(cluster, "editor", "update", "photostorages/scale", namespace)
    assert not can_i(cluster, "editor", "patch", "photostorages/status", namespace)
