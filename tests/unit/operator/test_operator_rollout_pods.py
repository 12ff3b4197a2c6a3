"""A rollout's pods are listed once it stands still, and on every pass once one was seen
that cannot start; not on every pass of a rollout that moves."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conftest import MakePs
from fake_kube import FakeKube

from photostore.operator.builders.common import selector_labels
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcilers.workloads import ROLLOUT_STALL, assess_workload
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import Operator

PODS = ("", "pods", "list")


def rolling(ready: int) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": "photos-api", "generation": 1},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                       "readyReplicas": ready, "availableReplicas": ready}}  # fmt: skip


def crash_looping(ps: PhotoStorage) -> dict[str, Any]:
    waiting = {"reason": "CrashLoopBackOff", "message": "back-off restarting"}
    container = {"name": "api", "state": {"waiting": waiting}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "photos-api-1", "namespace": ps.namespace,
                         "labels": selector_labels(ps, "api")},
            "status": {"containerStatuses": [container]}}  # fmt: skip


def operator() -> tuple[Operator, FakeKube]:
    kube = FakeKube()
    return Operator(kube=kube, metrics=OperatorMetrics()), kube  # type: ignore[arg-type]


def stand_still(op: Operator) -> None:
    for key, seen in op.rollouts.items():
        op.rollouts[key] = replace(seen, since=seen.since - ROLLOUT_STALL)


async def test_a_moving_rollout_is_not_looked_into(make_ps: MakePs) -> None:
    op, kube = operator()
    ps = make_ps()
    for ready in (0, 1, 2):
        health = await assess_workload(op, ps, rolling(ready), "api")
        assert not health.complete
    assert PODS not in kube.calls


async def test_one_that_stands_still_is_and_its_problem_stays_while_it_moves(
    make_ps: MakePs,
) -> None:
    op, kube = operator()
    ps = make_ps()
    kube.put(crash_looping(ps))
    assert (await assess_workload(op, ps, rolling(1), "api")).problem_reason is None
    stand_still(op)
    health = await assess_workload(op, ps, rolling(1), "api")
    assert health.problem_reason == "CrashLoopBackOff"
    health = await assess_workload(op, ps, rolling(0), "api")  # the counts move; still failing
    assert health.problem_reason == "CrashLoopBackOff"
    assert kube.calls.count(PODS) == 2


async def test_a_finished_rollout_is_forgotten(make_ps: MakePs) -> None:
    op, _ = operator()
    ps = make_ps()
    await assess_workload(op, ps, rolling(1), "api")
    assert op.rollouts
    assert (await assess_workload(op, ps, rolling(3), "api")).complete
    assert not op.rollouts
