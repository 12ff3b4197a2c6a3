"""Processors from the consumer lag: each bound, and the scale-down window."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import MakePs

from photostore.operator.scaling import (
    GPU_QUOTA,
    LAG,
    MAX_REPLICAS,
    MIN_REPLICAS,
    PARTITIONS,
    STABILIZATION,
    LagReading,
    ScaleDecision,
    decide,
    stabilise,
)


def scaled(make_ps: MakePs, gpus: int = 100, per_pod: int = 1, **scaling: Any) -> Any:
    autoscaling = {"enabled": True, "minReplicas": 2, "maxReplicas": 10,
                   "targetLagPerReplica": 100, **scaling}  # fmt: skip
    return make_ps(
        processor={"autoscaling": autoscaling, "gpu": {"perPod": per_pod}},
        quota={"gpus": gpus},
    )


@pytest.mark.parametrize(
    ("lag", "partitions", "gpus", "replicas", "limited_by"),
    [
        (450, 128, 100, 5, LAG),
        (0, 128, 100, 2, MIN_REPLICAS),
        (10_000, 128, 100, 10, MAX_REPLICAS),
        (10_000, 4, 100, 4, PARTITIONS),
        (10_000, 128, 3, 3, GPU_QUOTA),
        (10_000, 6, 3, 3, GPU_QUOTA),  # the tightest cap is named
        (0, 1, 100, 1, PARTITIONS),  # a cap wins over minReplicas: idle pods help nobody
    ],
)
def test_each_bound_caps_and_is_named(
    make_ps: MakePs, lag: int, partitions: int, gpus: int, replicas: int, limited_by: str
) -> None:
    decision = decide(scaled(make_ps, gpus=gpus), LagReading(lag, partitions))
    assert (decision.replicas, decision.limited_by) == (replicas, limited_by)


def test_the_gpu_cap_counts_gpus_per_pod(make_ps: MakePs) -> None:
    decision = decide(scaled(make_ps, gpus=7, per_pod=2), LagReading(10_000, 128))
    assert (decision.replicas, decision.limited_by) == (3, GPU_QUOTA)


def test_without_a_managed_quota_there_is_no_gpu_cap(make_ps: MakePs) -> None:
    ps = make_ps(processor={"autoscaling": {"enabled": True, "maxReplicas": 10,
                                             "targetLagPerReplica": 100}},
                 quota={"enabled": False})  # fmt: skip
    assert decide(ps, LagReading(10_000, 128)).replicas == 10


def test_scale_up_is_at_once_and_scale_down_waits_for_the_window() -> None:
    def d(n: int) -> ScaleDecision:
        return ScaleDecision(n, LAG, f"asks for {n}")

    history, first = stabilise([], 0.0, 60.0, d(8))
    assert first.replicas == 8
    history, up = stabilise(history, 10.0, 60.0, d(9))
    assert up.replicas == 9
    history, down = stabilise(history, 30.0, 60.0, d(2))
    assert (down.replicas, down.limited_by) == (9, STABILIZATION)
    history, later = stabilise(history, 71.0, 60.0, d(2))
    assert (later.replicas, later.limited_by) == (2, LAG)
    assert all(71.0 - t < 60.0 for t, _ in history)
