from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import photostorage_body
from fake_kube import FakeKube

from photostore.operator.kube import ApplyResult, Obj
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcile import reconcile
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


class EchoingKube(FakeKube):
    """Shows each applied object back to the operator, as its watch does: before the next
    request of the same pass (the apiserver answered the apply first, the watch followed),
    or, `watch_first`, before the apply's own answer."""

    def __init__(self, op: Operator, watch_first: bool = False) -> None:
        super().__init__()
        self.op = op
        self.watch_first = watch_first
        self.echoes: list[dict[str, Any]] = []
        self.drift: list[tuple[str, str]] = []

    def _echo(self) -> None:
        for obj in self.echoes:
            if self.op.child_changed(KEY, obj):
                self.drift.append((obj["kind"], obj["metadata"]["name"]))
        self.echoes.clear()

    async def apply(self, obj: Obj, field_manager: str = "", force: bool = True) -> ApplyResult:
        self._echo()
        result = await super().apply(obj, field_manager, force)
        self.echoes.append(copy.deepcopy(result.obj))
        if self.watch_first:
            self._echo()
        return result

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        self._echo()
        return await super().get(api_version, kind, namespace, name)


@pytest.mark.parametrize("watch_first", [False, True], ids=["answer-first", "watch-first"])
async def test_our_own_applies_seen_during_the_pass_are_not_drift(watch_first: bool) -> None:
    """A first pass creates a dozen children; each comes back through the watch while the
    pass still runs. Read as drift, every one would queue another full pass of applies."""
    operator = Operator(kube=None, metrics=OperatorMetrics())  # type: ignore[arg-type]
    kube = EchoingKube(operator, watch_first)
    operator.kube = kube  # type: ignore[assignment]
    operator.events.kube = kube  # type: ignore[assignment]
    revisited: list[tuple[str, str]] = []
    operator.revisit = revisited.append
    body = photostorage_body()
    kube.put(body)
    await reconcile(operator, KEY)
    assert any(kind == "Deployment" for (_, kind, _, _) in kube.objects)
    assert kube.drift == []
    kube._echo()  # what the watch shows after the pass
    assert kube.drift == [] and revisited == []
    edited = deployment(spec={"replicas": 7})
    edited["metadata"]["name"] = "photos-api"
    assert operator.child_changed(KEY, edited)


def test_a_child_edited_before_its_apply_answered_is_drift_once_the_pass_is_over() -> None:
    """As the last pass left it is not enough: it must be as this pass left it."""
    operator = Operator(kube=None, metrics=None)  # type: ignore[arg-type]
    edited = deployment(spec={"replicas": 9})
    last = {("Deployment", "photos-api"): fingerprint(edited)}
    operator.applied[KEY] = Applied(generation=1, children=last, errors=[])
    operator.begin_pass(KEY)
    assert not operator.child_changed(KEY, deployment(status={"readyReplicas": 2}))
    assert not operator.child_changed(KEY, edited)  # not judged yet
    operator.note_applied(KEY, deployment())
    children = {("Deployment", "photos-api"): fingerprint(deployment())}
    operator.applied[KEY] = Applied(generation=2, children=children, errors=[])
    assert operator.end_pass(KEY, finished=True) == [edited]
    assert operator.end_pass(KEY, finished=True) == []
