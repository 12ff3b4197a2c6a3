"""`helm install` with `watchNamespaces`: a Role, RoleBinding and KopfPeering in each watched
namespace and nothing cluster-wide; the operator, as the release's ServiceAccount, runs a
PhotoStorage there and can touch nothing outside it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helm_cli import CHART, KWOK_VALUES, Helm
from kopf.testing import KopfRunner

from photostore.operator.rbac import rules

# The first test builds helm when the environment came up before helm joined it (minutes).
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def namespaced(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:6]
    rel = {"name": f"ps-helm-ns-{suffix}", "namespace": f"ps-helm-ns-{suffix}",
           "watched": f"ps-helm-watched-{suffix}"}  # fmt: skip
    rel["fullname"] = f"{rel['name']}-photostore-operator"
    helm.kubectl("create", "namespace", rel["watched"])
    helm.helm("install", rel["name"], str(CHART), "-n", rel["namespace"], "--create-namespace",
              "--set", f"watchNamespaces={{{rel['watched']}}}",
              "--wait", "--timeout", "180s", timeout=240)  # fmt: skip
    yield rel
    helm.helm("uninstall", rel["name"], "-n", rel["namespace"], "--ignore-not-found")
    for namespace in (rel["namespace"], rel["watched"]):
        helm.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_namespaced_release_holds_roles_in_the_watched_namespace_only(
    helm: Helm, namespaced: dict[str, str]
) -> None:
    who = f"system:serviceaccount:{namespaced['namespace']}:{namespaced['fullname']}"
    watched = namespaced["watched"]
    assert helm.can_i(who, "create", "deployments", watched)
    assert helm.can_i(who, "patch", "photostorages/status", watched)
    assert not helm.can_i(who, "create", "deployments", namespaced["namespace"])
    assert not helm.can_i(who, "create", "deployments", "default")
    assert not helm.can_i(who, "list", "namespaces", "")
    assert helm.get("clusterrole", namespaced["fullname"]) is None
    assert helm.get("clusterkopfpeering", namespaced["fullname"]) is None
    assert helm.get("kopfpeering", namespaced["fullname"], watched)
    role = helm.get("role", namespaced["fullname"], watched)
    assert role and role["rules"] == rules(namespaced=True)
    deployment = helm.get("deployment", namespaced["fullname"], namespaced["namespace"])
    assert deployment and deployment["status"].get("readyReplicas") == 2
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--namespace={watched}" in command


def test_namespaced_release_account_runs_a_photostorage(
    helm: Helm, namespaced: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = namespaced["watched"]
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(KWOK_VALUES))
    rendered = helm.template("guide", watched, "-f", str(values))
    ps = next(d for d in rendered if d["kind"] == "PhotoStorage")
    ps["metadata"] = {"name": ps["metadata"]["name"]}  # not the release's: applied by hand
    helm.kubectl("apply", "-n", watched, "-f", "-", stdin=yaml.safe_dump(ps))
    kubeconfig = helm.token_kubeconfig(namespaced["namespace"], namespaced["fullname"],
                                       tmp_path / "kc")  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_METRICS_PORT", "0")
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_LIVENESS", "")
    args = ["run", "-m", "photostore.operator", "--standalone", "--namespace", watched]
    with KopfRunner(args, timeout=120) as runner:
        helm.wait_ready(ps["metadata"]["name"], watched)
    assert runner.exception is None, runner.output
    # kopf probes the cluster-wide CRD and namespace lists, which a namespaced install is not
    # granted (it falls back to the namespaces it was given); nothing else may be refused.
    refused = [line for line in runner.output.splitlines() if "is forbidden" in line]
    assert all("at the cluster scope" in line for line in refused), refused
