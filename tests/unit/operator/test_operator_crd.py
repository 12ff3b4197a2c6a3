from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from photostore.operator import crd

CRD_FILE = Path(__file__).resolve().parents[3] / "crds" / "photostorage.yaml"


def _walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, child in (node.get("properties") or {}).items():
        found += _walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _walk(node["items"], f"{path}[]")
    return found


def _schema() -> dict[str, Any]:
    version = crd.build_crd()["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def test_committed_crd_matches_the_models() -> None:
    assert CRD_FILE.read_text() == crd.render(), (
        "crds/photostorage.yaml is stale: python -m photostore crd > crds/photostorage.yaml"
    )


def test_schema_is_structural() -> None:
    for path, node in _walk(_schema()["properties"]["spec"], ".spec"):
        assert ("$ref" not in node and "anyOf" not in node) or node.get(
            "x-kubernetes-int-or-string"
        ), path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        assert node.get("default", "") is not None, path


def _properties(node: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any], bool]]:
    """Every property below `node`: its path, its schema, whether its parent requires it."""
    found = []
    required = set(node.get("required") or [])
    for name, child in (node.get("properties") or {}).items():
        found.append((f"{path}.{name}", child, name in required))
        found += _properties(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _properties(node["items"], f"{path}[]")
    return found


def test_every_field_is_described_and_states_its_default() -> None:
    root = _schema()
    fields = _properties(root["properties"]["spec"], "spec")
    fields += _properties(root["properties"]["status"], "status")
    assert len(fields) > 100
    for name in ("apiVersion", "kind", "spec", "status"):
        assert root["properties"][name]["description"], name
    for path, node, required in fields:
        description = node.get("description", "")
        assert description, f"{path} has no description"
        body, _, last = description.rstrip(".").rpartition(". ")
        assert body, f"{path}: {description!r} says nothing besides its default"
        if "default" not in node:
            assert last == "Required" if required else last.startswith("Default: "), (
                f"{path}: {description!r}"
            )
            continue
        default = node["default"]
        stated = last.removeprefix("Default: ")
        if stated == "the defaults of its fields":
            children = node["properties"]
            assert default == {k: v["default"] for k, v in children.items() if "default" in v}
        else:
            assert json.loads(stated) == default, f"{path}: {description!r} vs {default!r}"


def test_a_field_without_description_stops_the_generator() -> None:
    class Undescribed(BaseModel):
        count: int = 3

    with pytest.raises(ValueError, match="count has no description"):
        crd.openapi_schema(Undescribed, "spec")


def test_nested_defaults_are_complete_objects() -> None:
    api = _schema()["properties"]["spec"]["properties"]["api"]
    assert api["properties"]["rollingUpdate"]["default"] == {"maxSurge": 3, "maxUnavailable": 1}
    assert api["properties"]["autoscaling"]["default"]["minReplicas"] == 10


def test_cel_rules_cover_cross_field_checks() -> None:
    rules = [
        rule["rule"]
        for _, node in _walk(_schema()["properties"]["spec"])
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert "self.minReplicas <= self.maxReplicas" in rules
    assert "self.daysToIA < self.daysToGlacier" in rules
    assert any("quota.gpus" in r for r in rules)


def test_subresources_printer_columns_and_short_name() -> None:
    definition = crd.build_crd()
    version = definition["spec"]["versions"][0]
    assert version["subresources"]["scale"]["specReplicasPath"] == ".spec.api.replicas"
    assert "status" in version["subresources"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Ready", "API", "Processors", "Last Backup", "Age"]
    assert "ps" in definition["spec"]["names"]["shortNames"]


def test_rendered_yaml_parses_to_the_same_crd() -> None:
    documents = [d for d in yaml.safe_load_all(crd.render()) if d]
    assert documents == [crd.build_crd()]
