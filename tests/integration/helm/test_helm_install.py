"""`helm install`, `upgrade` and `uninstall` of the chart on the environment's control plane,
in a namespace of its own under a release name of its own (the CRDs are cluster-wide and
shared: the chart's crds/ are installed only when missing, and never deleted here).

The operator's pods land on kwok nodes, which mark them Running and Ready without running
them: `helm install --wait` waits for that. The operator itself runs as a process on this
host (pods cannot reach the apiserver here), logged in with a token of the chart's
ServiceAccount, so it holds exactly the chart's RBAC."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_cli import CHART, KWOK_VALUES, PHOTOSTORAGE, Helm
from kopf.testing import KopfRunner

# The first test builds helm when the environment came up before helm joined it (minutes).
pytestmark = pytest.mark.timeout(900)

CRD = "photostorages.photos.example.com"


@dataclass
class Release:
    name: str
    namespace: str
    fullname: str
    values: Path
    notes: str = ""

    @property
    def account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"


@pytest.fixture(scope="module")
def release(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    suffix = uuid.uuid4().hex[:6]
    name = f"ps-helm-{suffix}"
    values = tmp_path_factory.mktemp("helm") / "values.yaml"
    values.write_text(yaml.safe_dump(KWOK_VALUES))
    rel = Release(name, f"ps-helm-{suffix}", f"{name}-photostore-operator", values)
    installed = helm.helm("install", name, str(CHART), "-n", rel.namespace,
                          "--create-namespace", "-f", str(values),
                          "--wait", "--timeout", "180s", timeout=240)  # fmt: skip
    rel.notes = installed.stdout
    yield rel
    helm.helm("uninstall", name, "-n", rel.namespace, "--ignore-not-found")
    helm.kubectl("delete", "namespace", rel.namespace, "--wait=false", check=False)


def deployment(helm: Helm, release: Release) -> dict[str, Any]:
    found = helm.get("deployment", release.fullname, release.namespace)
    assert found, f"no Deployment {release.fullname}"
    return found


def owned(helm: Helm, release: Release, kind: str) -> list[dict[str, Any]]:
    """The release's objects of `kind` in its namespace, by the chart's selector labels."""
    selector = f"app.kubernetes.io/instance={release.name}"
    listed = helm.kubectl("get", kind, "-n", release.namespace, "-o", "json", "-l", selector)
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


def test_install_waits_for_the_operator_on_kwok_nodes(helm: Helm, release: Release) -> None:
    status = deployment(helm, release)["status"]
    assert status.get("readyReplicas") == 2
    pods = owned(helm, release, "pods")
    assert len(pods) == 2
    for pod in pods:
        assert pod["spec"]["serviceAccountName"] == release.fullname
        node = helm.get("node", pod["spec"]["nodeName"])
        assert node and node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert helm.get("clusterkopfpeering", release.fullname)
    assert helm.get("crd", CRD)
    # NOTES.txt tells what `helm uninstall` leaves behind.
    assert f"`helm uninstall {release.name}` removes the operator" in release.notes
    assert "leaves:\n- the CRDs" in release.notes


def test_operator_account_holds_the_chart_rbac(helm: Helm, release: Release) -> None:
    who, namespace = release.account, release.namespace
    assert helm.can_i(who, "create", "deployments", namespace)
    assert helm.can_i(who, "create", "deployments", "default")  # cluster-wide install
    assert helm.can_i(who, "patch", "photostorages/status", namespace)
    assert helm.can_i(who, "patch", "clusterkopfpeerings", "")
    # The storage Secret's keys are read by name (the bucket); Secrets are never listed.
    assert helm.can_i(who, "get", "secrets", namespace)
    assert not helm.can_i(who, "list", "secrets", namespace)
    assert not helm.can_i(who, "create", "secrets", namespace)
    assert not helm.can_i(who, "delete", "namespaces", "")
    assert not helm.can_i(who, "update", "photostorages", namespace)


def test_chart_photostorage_is_admitted_and_ready_under_the_chart_account(
    helm: Helm, release: Release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ps = helm.get("photostorage", PHOTOSTORAGE, release.namespace)
    assert ps, "the release's PhotoStorage was not admitted"
    assert ps["spec"]["kafka"]["partitions"] == 4  # kafka.topics.photoUpload.partitions
    kubeconfig = helm.token_kubeconfig(release.namespace, release.fullname, tmp_path / "kc")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_METRICS_PORT", "0")
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_LIVENESS", "")
    args = ["run", "-m", "photostore.operator", "--standalone", "--namespace", release.namespace]
    with KopfRunner(args, timeout=120) as runner:
        helm.wait_ready(PHOTOSTORAGE, release.namespace)
        assert helm.get("deployment", f"{PHOTOSTORAGE}-api", release.namespace)
    assert runner.exception is None, runner.output
    assert "Forbidden" not in runner.output, runner.output


def test_upgrade_rolls_the_operator_and_keeps_the_photostorage(
    helm: Helm, release: Release
) -> None:
    uid = (helm.get("photostorage", PHOTOSTORAGE, release.namespace) or {})["metadata"]["uid"]
    before = deployment(helm, release)
    helm.helm("upgrade", release.name, str(CHART), "-n", release.namespace, "-f",
              str(release.values), "--set", "replicas=3", "--set-json",
              'env=[{"name": "PHOTOSTORE_OPERATOR_WORKERS", "value": "4"}]',
              "--wait", "--timeout", "180s", timeout=240)  # fmt: skip
    after = deployment(helm, release)
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    assert after["spec"]["replicas"] == 3
    env = after["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PHOTOSTORE_OPERATOR_WORKERS", "value": "4"} in env
    helm.kubectl("rollout", "status", f"deployment/{release.fullname}", "-n", release.namespace,
                 "--timeout=120s")  # fmt: skip
    replica_sets = owned(helm, release, "replicasets")
    assert len(replica_sets) == 2  # the rollout made a new ReplicaSet
    assert (helm.get("photostorage", PHOTOSTORAGE, release.namespace) or {})["metadata"][
        "uid"
    ] == uid


def test_uninstall_leaves_the_crd_and_the_photostorage(helm: Helm, release: Release) -> None:
    uid = (helm.get("photostorage", PHOTOSTORAGE, release.namespace) or {})["metadata"]["uid"]
    done = helm.helm("uninstall", release.name, "-n", release.namespace, "--wait")
    assert "kept due to the resource policy" in done.stdout + done.stderr
    assert helm.get("deployment", release.fullname, release.namespace) is None
    assert helm.get("clusterrole", release.fullname) is None
    assert helm.get("clusterrolebinding", release.fullname) is None
    assert helm.get("clusterkopfpeering", release.fullname) is None
    assert helm.get("crd", CRD)
    kept = helm.get("photostorage", PHOTOSTORAGE, release.namespace)
    assert kept and kept["metadata"]["uid"] == uid
