"""How many processors the Kafka consumer lag asks for, and what capped the answer. Pure.

Wanted: ceil(lag / targetLagPerReplica), at least minReplicas. Capped by maxReplicas, by
the topic's real partition count (a consumer beyond it gets no partition and idles), and by
the GPUs the namespace's quota allows (a pod beyond it is refused). Scaling down waits for
the stabilisation window: the count is the highest asked for within it, as the HPA does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from photostore.operator.spec import PhotoStorage

LAG = "Lag"
MIN_REPLICAS = "MinReplicas"
MAX_REPLICAS = "MaxReplicas"
PARTITIONS = "Partitions"
GPU_QUOTA = "GPUQuota"
STABILIZATION = "ScaleDownStabilization"


@dataclass(frozen=True)
class LagReading:
    lag: int
    partitions: int


@dataclass(frozen=True)
class ScaleDecision:
    replicas: int
    limited_by: str  # LAG when the lag alone decided
    message: str


def gpu_cap(ps: PhotoStorage) -> int | None:
    """Processor pods the namespace's GPU quota admits, when both are managed."""
    proc, quota = ps.spec.processor, ps.spec.quota
    if not (proc.gpu.enabled and quota.enabled) or proc.gpu.per_pod <= 0:
        return None
    return quota.gpus // proc.gpu.per_pod


def decide(ps: PhotoStorage, reading: LagReading) -> ScaleDecision:
    scaling = ps.spec.processor.autoscaling
    wanted = math.ceil(reading.lag / scaling.target_lag_per_replica)
    replicas, limited_by = wanted, LAG
    message = f"lag {reading.lag} / {scaling.target_lag_per_replica} per pod asks for {wanted}"
    if replicas < scaling.min_replicas:
        replicas, limited_by = scaling.min_replicas, MIN_REPLICAS
        message += f"; raised to minReplicas {replicas}"
    caps = [(MAX_REPLICAS, scaling.max_replicas, "maxReplicas"),
            (PARTITIONS, reading.partitions, "the topic's partitions"),
            (GPU_QUOTA, gpu_cap(ps), "the GPU quota")]  # fmt: skip
    for name, cap, words in caps:
        if cap is not None and replicas > cap:
            replicas, limited_by = cap, name
            message += f"; capped at {cap} by {words}"
    return ScaleDecision(replicas, limited_by, message)


def stabilise(
    history: list[tuple[float, int]], now: float, window: float, decision: ScaleDecision
) -> tuple[list[tuple[float, int]], ScaleDecision]:
    """Record this decision; while the window holds a higher one, keep that higher count."""
    kept = [(t, n) for t, n in history if now - t < window] + [(now, decision.replicas)]
    highest = max(n for _, n in kept)
    if highest <= decision.replicas:
        return kept, decision
    message = f"{decision.message}; scale-down to it waits {window:g}s, keeping {highest}"
    return kept, ScaleDecision(highest, STABILIZATION, message)
