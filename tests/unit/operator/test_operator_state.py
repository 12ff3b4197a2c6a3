from __future__ import annotations

from typing import Any

from photostore.operator.state import Applied, Operator, fingerprint

KEY = ("team", "photos")


def deployment(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "Deployment",
        "metadata": {"name": "photos-api", "resourceVersion": "1", "labels": {"a": "b"}},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1},
    }
    for key, value in changes.items():
        obj[key] = {**obj[key], **value}
    return obj


def test_status_and_resource_version_are_not_drift() -> None:
    same = deployment(status={"readyReplicas": 2}, metadata={"resourceVersion": "9"})
    assert fingerprint(same) == fingerprint(deployment())


def test_spec_and_label_changes_are_drift() -> None:
    assert fingerprint(deployment(spec={"replicas": 5})) != fingerprint(deployment())
    assert fingerprint(deployment(metadata={"labels": {}})) != fingerprint(deployment())


def test_operator_knows_which_children_changed() -> None:
    operator = Operator(kube=None, metrics=None)  # type: ignore[arg-type]
    assert operator.child_changed(KEY, deployment())  # never applied: unknown
    children = {("Deployment", "photos-api"): fingerprint(deployment())}
    operator.applied[KEY] = Applied(generation=1, children=children, errors=[])
    assert not operator.child_changed(KEY, deployment(status={"readyReplicas": 2}))
    assert operator.child_changed(KEY, deployment(spec={"replicas": 3}))
    assert operator.spec_changed(KEY, 2) and not operator.spec_changed(KEY, 1)
    operator.forget(KEY)
    assert operator.spec_changed(KEY, 1)
