"""Read a workload's health from its Deployment (and, when stuck, its pods). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from photostore.operator import reasons

Obj = dict[str, Any]


@dataclass(frozen=True)
class WorkloadHealth:
    """What one Deployment shows: counts, whether it is done, and what is wrong if anything."""

    wanted: int = 0
    replicas: int = 0
    ready: int = 0
    updated: int = 0
    available: int = 0
    complete: bool = False
    problem_reason: str | None = None  # CamelCase; set only when the rollout cannot finish alone
    message: str = ""

    @property
    def summary(self) -> str:
        return f"{self.ready}/{self.wanted}"


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _quota_reason(message: str) -> str:
    if "exceeded quota" not in message:
        return reasons.FAILED_CREATE
    return reasons.GPU_QUOTA_EXCEEDED if "nvidia.com/gpu" in message else reasons.QUOTA_EXCEEDED


def deployment_problem(deployment: Obj) -> tuple[str, str] | None:
    """A failure the Deployment itself reports: pods it cannot create, a stalled rollout."""
    failure = _condition(deployment, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        message = str(failure.get("message", ""))
        return _quota_reason(message), message
    progressing = _condition(deployment, "Progressing")
    if (
        progressing
        and progressing.get("status") == "False"
        and progressing.get("reason") == reasons.PROGRESS_DEADLINE_EXCEEDED
    ):
        return reasons.PROGRESS_DEADLINE_EXCEEDED, str(progressing.get("message", ""))
    return None


# A container's waiting reason (as the kubelet reports it) that no retry will fix -> the
# Degraded reason. ErrImagePull and ImagePullBackOff alternate while the kubelet retries a
# pull, so both read as ImagePullBackOff and the condition does not flap between them.
WAITING_PROBLEMS = {
    "CrashLoopBackOff": reasons.CRASH_LOOP_BACK_OFF,
    "ImagePullBackOff": reasons.IMAGE_PULL_BACK_OFF,
    "ErrImagePull": reasons.IMAGE_PULL_BACK_OFF,
    "InvalidImageName": reasons.INVALID_IMAGE_NAME,
    "CreateContainerConfigError": reasons.CREATE_CONTAINER_CONFIG_ERROR,
    "CreateContainerError": reasons.CREATE_CONTAINER_ERROR,
}


def pod_problem(pods: list[Obj]) -> tuple[str, str] | None:
    """The first pod that cannot start or stay up: unschedulable, crash-looping, an image
    it cannot pull or name, a container it cannot create (e.g. a missing Secret key)."""
    for pod in pods:
        name = pod.get("metadata", {}).get("name", "?")
        scheduled = _condition(pod, "PodScheduled")
        if (scheduled or {}).get("reason") == "Unschedulable":
            return (
                reasons.UNSCHEDULABLE,
                f"pod {name}: {(scheduled or {}).get('message', '')}".strip(),
            )
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for container in statuses:
            waiting = (container.get("state") or {}).get("waiting") or {}
            reason = WAITING_PROBLEMS.get(waiting.get("reason", ""))
            if reason:
                detail = waiting.get("message") or waiting.get("reason")
                return reason, f"pod {name} container {container.get('name')}: {detail}"
    return None


def assess_deployment(deployment: Obj | None, pods: list[Obj] | None = None) -> WorkloadHealth:
    """Complete means the controller saw the latest spec and every wanted pod is updated
    and available; `pods` is consulted only when it is not."""
    if deployment is None:
        return WorkloadHealth(message="Deployment not created yet")
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    counts = {
        "replicas": int(status.get("replicas", 0)),
        "ready": int(status.get("readyReplicas", 0)),
        "updated": int(status.get("updatedReplicas", 0)),
        "available": int(status.get("availableReplicas", 0)),
    }
    observed = status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
    complete = (
        observed
        and counts["updated"] == wanted
        and counts["replicas"] == wanted
        and counts["available"] == wanted
    )
    problem = None if complete else deployment_problem(deployment) or pod_problem(pods or [])
    if problem:
        message = problem[1]
    elif complete:
        message = f"{counts['available']}/{wanted} pods available"
    else:
        message = (
            f"rolling out: {counts['updated']}/{wanted} updated, "
            f"{counts['available']}/{wanted} available"
        )
    return WorkloadHealth(
        wanted=wanted,
        complete=complete,
        problem_reason=problem[0] if problem else None,
        message=message,
        **counts,
    )


def with_gpu_quota(health: WorkloadHealth, per_pod: int, quota_gpus: int) -> WorkloadHealth:
    """Name a GPU quota too small for the processors, even when the ReplicaSet's
    FailedCreate condition (which comes and goes between its retries) is not showing."""
    needed = health.wanted * per_pod
    if health.complete or health.problem_reason or needed <= quota_gpus:
        return health
    message = (
        f"exceeded quota: {health.wanted} processors x {per_pod} nvidia.com/gpu need {needed}, "
        f"the namespace quota allows {quota_gpus}"
    )
    return replace(health, problem_reason=reasons.GPU_QUOTA_EXCEEDED, message=message)


def with_min_replicas(health: WorkloadHealth, min_replicas: int) -> WorkloadHealth:
    """Under a HorizontalPodAutoscaler the Deployment starts at one pod; it is not done
    until the HPA has brought it up to `min_replicas`."""
    if health.wanted >= min_replicas or health.problem_reason:
        return health
    message = (
        f"waiting for the HorizontalPodAutoscaler to scale from {health.wanted} "
        f"to minReplicas {min_replicas}"
    )
    return replace(health, wanted=min_replicas, complete=False, message=message)
