"""The Helm chart's copies of the shipped files (Helm reads nothing outside the chart) are the
files themselves, byte for byte: `make chart-files` writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from photostore.operator.rbac import HEADER, namespaced_roles

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART = REPO_ROOT / "charts" / "photostore-operator"
COPIES = {
    "crds/photostorage.yaml": "crds/photostorage.yaml",
    "crds/peering-crds.yaml": "manifests/operator/peering-crds.yaml",
    "files/rbac.yaml": "manifests/operator/rbac.yaml",
    "files/user-roles.yaml": "manifests/operator/user-roles.yaml",
    "files/prometheus-rules.yaml": "manifests/monitoring/prometheus-rules.yaml",
    "files/grafana-dashboard.json": "manifests/monitoring/grafana-dashboard.json",
}


@pytest.mark.parametrize(("copy", "source"), sorted(COPIES.items()))
def test_chart_copy_is_the_shipped_file(copy: str, source: str) -> None:
    assert (CHART / copy).read_bytes() == (REPO_ROOT / source).read_bytes(), (
        f"{CHART.name}/{copy} differs from {source}: run `make chart-files`"
    )


def test_chart_namespaced_role_is_the_generated_one() -> None:
    text = (CHART / "files" / "rbac-namespaced.yaml").read_text()
    expected = HEADER + yaml.safe_dump_all(namespaced_roles(["NAMESPACE"]), sort_keys=False)
    assert text == expected, "files/rbac-namespaced.yaml is stale: run `make rbac`"
    # The template takes the first document's rules; the first document must be the Role.
    assert text.split("\n---\n")[0].count("kind: Role\n") == 1


def test_chart_holds_every_crd_the_plain_install_applies() -> None:
    plain = {
        doc["metadata"]["name"]
        for path in [REPO_ROOT / "crds/photostorage.yaml", *REPO_ROOT.glob("manifests/*/*.yaml")]
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "CustomResourceDefinition"
    }
    chart = {
        doc["metadata"]["name"]
        for path in (CHART / "crds").glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    assert plain == chart
