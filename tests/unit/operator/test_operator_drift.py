"""Describing what was changed in a child, in the fields the operator sets."""

from __future__ import annotations

from typing import Any

from photostore.operator.drift import differences

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "photos-api",
        "labels": {"app.kubernetes.io/managed-by": "photostore-operator"},
        "ownerReferences": [{"kind": "PhotoStorage", "name": "photos", "uid": "u"}],
    },
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "api"}]}}},
}


def live(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "photos-api",
            "uid": "live-uid",
            "resourceVersion": "9",
            "labels": {"app.kubernetes.io/managed-by": "photostore-operator", "extra": "x"},
            "ownerReferences": [{"kind": "PhotoStorage", "name": "photos", "uid": "u"}],
        },
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate"},
            "template": {"spec": {"containers": [{"name": "api", "imagePullPolicy": "Always"}]}},
        },
        "status": {"replicas": 7},
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = obj
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return obj


def test_defaults_and_fields_of_others_are_no_drift() -> None:
    assert differences(DESIRED, live()) == []


def test_a_changed_value_is_named_with_both_values() -> None:
    assert differences(DESIRED, live(spec__replicas=5)) == ["spec.replicas was 5, set back to 2"]


def test_a_removed_label_is_named() -> None:
    labels = {"extra": "x"}
    assert differences(DESIRED, live(metadata__labels=labels)) == [
        "metadata.labels.app.kubernetes.io/managed-by was removed"
    ]


def test_a_removed_owner_reference_is_named() -> None:
    assert differences(DESIRED, live(metadata__ownerReferences=None)) == [
        "metadata.ownerReferences was removed"
    ]


def test_a_changed_list_entry_is_named_by_index() -> None:
    containers = [{"name": "sidecar"}]
    found = differences(DESIRED, live(spec__template=({"spec": {"containers": containers}})))
    assert found == ["spec.template.spec.containers[0].name was 'sidecar', set back to 'api'"]
