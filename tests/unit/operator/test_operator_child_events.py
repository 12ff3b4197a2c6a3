"""Which child events queue a pass: drift and deletion always, a status change only of the
children status is made of."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from photostore.operator.handlers import child_event
from photostore.operator.state import Applied, Operator, fingerprint
from photostore.operator.workqueue import WorkQueue

KEY = ("team", "photos")


def child(kind: str, name: str, **changes: Any) -> dict[str, Any]:
    owner = {"apiVersion": "photos.example.com/v1alpha1", "kind": "PhotoStorage",
             "name": "photos", "uid": "u", "controller": True}  # fmt: skip
    meta = {"name": name, "namespace": "team", "ownerReferences": [owner]}
    return {"kind": kind, "metadata": meta, "spec": {"a": 1}, **changes}


def memo_after_a_pass(*children: dict[str, Any]) -> Any:
    async def work(key: tuple[str, str], full: bool) -> None:
        return None

    operator = Operator(kube=None, metrics=None)  # type: ignore[arg-type]
    applied = {(c["kind"], c["metadata"]["name"]): fingerprint(c) for c in children}
    operator.applied[KEY] = Applied(generation=1, children=applied, errors=[])
    return SimpleNamespace(operator=operator, queue=WorkQueue(work))


def queued(memo: Any) -> dict[tuple[str, str], bool]:
    return {key: key in memo.queue._full for key in memo.queue._pending}


async def test_a_status_change_of_a_child_status_ignores_queues_nothing() -> None:
    budget = child("PodDisruptionBudget", "photos-api")
    memo = memo_after_a_pass(budget)
    await child_event(
        event={"type": "MODIFIED", "object": {**budget, "status": {"x": 2}}}, memo=memo
    )
    assert queued(memo) == {}


async def test_a_status_change_of_a_deployment_queues_a_status_pass() -> None:
    api = child("Deployment", "photos-api")
    memo = memo_after_a_pass(api)
    await child_event(
        event={"type": "MODIFIED", "object": {**api, "status": {"ready": 1}}}, memo=memo
    )
    assert queued(memo) == {KEY: False}


async def test_drift_and_deletion_of_any_child_queue_a_full_pass() -> None:
    budget = child("PodDisruptionBudget", "photos-api")
    memo = memo_after_a_pass(budget)
    await child_event(event={"type": "MODIFIED", "object": {**budget, "spec": {"a": 2}}}, memo=memo)
    assert queued(memo) == {KEY: True}
    memo = memo_after_a_pass(budget)
    await child_event(event={"type": "DELETED", "object": budget}, memo=memo)
    assert queued(memo) == {KEY: True}


async def test_an_apply_answer_seen_again_through_the_watch_queues_nothing() -> None:
    api = child("Deployment", "photos-api", status={"ready": 0})
    api["metadata"]["resourceVersion"] = "5"
    memo = memo_after_a_pass(api)
    memo.operator.keep_child(KEY, api)  # what the apply answered
    await child_event(event={"type": "MODIFIED", "object": api}, memo=memo)
    assert queued(memo) == {}
    later = {**api, "metadata": {**api["metadata"], "resourceVersion": "6"}}
    await child_event(event={"type": "MODIFIED", "object": {**later, "status": {"ready": 1}}},
                      memo=memo)  # fmt: skip
    assert queued(memo) == {KEY: False}
