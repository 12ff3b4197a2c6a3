from __future__ import annotations

from typing import Any

import pytest

from photostore.operator.health import (
    WorkloadHealth,
    assess_deployment,
    with_gpu_quota,
    with_min_replicas,
)


def deployment(wanted: int = 2, generation: int = 1, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "d", "generation": generation},
        "spec": {"replicas": wanted},
        "status": {"observedGeneration": 1, **status},
    }


def pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p-1"}, "status": status}


def test_missing_deployment_is_not_complete() -> None:
    health = assess_deployment(None)
    assert not health.complete and health.problem_reason is None


def test_complete_when_every_wanted_pod_is_updated_and_available() -> None:
    counts = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}
    health = assess_deployment(deployment(**counts))
    assert health.complete and health.summary == "2/2"


def test_not_complete_until_the_controller_saw_the_new_generation() -> None:
    counts = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    assert not assess_deployment(deployment(generation=2, **counts)).complete


def test_gpu_quota_exhausted() -> None:
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": 'pods "p" is forbidden: exceeded quota: q, requested: '
        "requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: "
        "requests.nvidia.com/gpu=1",
    }
    health = assess_deployment(deployment(replicas=1, conditions=[failure]))
    assert health.problem_reason == "GPUQuotaExceeded"
    assert "exceeded quota" in health.message


def test_other_quota_exhausted() -> None:
    failure = {"type": "ReplicaFailure", "status": "True", "message": "exceeded quota: cpu"}
    assert assess_deployment(deployment(conditions=[failure])).problem_reason == "QuotaExceeded"


def test_progress_deadline_exceeded() -> None:
    stalled = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet has timed out progressing.",
    }
    health = assess_deployment(deployment(conditions=[stalled]))
    assert health.problem_reason == "ProgressDeadlineExceeded"


def test_crash_looping_pods() -> None:
    crashing = pod(
        containerStatuses=[
            {"name": "api", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "boom"}}}
        ]
    )
    health = assess_deployment(deployment(), [crashing])
    assert health.problem_reason == "CrashLoopBackOff"
    assert "p-1" in health.message and "boom" in health.message


@pytest.mark.parametrize(
    ("waiting", "reason"),
    [
        ("ImagePullBackOff", "ImagePullBackOff"),
        ("ErrImagePull", "ImagePullBackOff"),
        ("InvalidImageName", "InvalidImageName"),
        ("CreateContainerConfigError", "CreateContainerConfigError"),
        ("CreateContainerError", "CreateContainerError"),
    ],
)
def test_containers_that_cannot_start(waiting: str, reason: str) -> None:
    stuck = pod(
        containerStatuses=[
            {"name": "processor", "state": {"waiting": {"reason": waiting, "message": "why"}}}
        ]
    )
    health = assess_deployment(deployment(), [stuck])
    assert health.problem_reason == reason
    assert "p-1 container processor: why" in health.message


def test_containers_still_being_created_are_no_problem() -> None:
    creating = pod(
        containerStatuses=[{"name": "api", "state": {"waiting": {"reason": "ContainerCreating"}}}]
    )
    assert assess_deployment(deployment(), [creating]).problem_reason is None


def test_unschedulable_pods() -> None:
    pending = pod(
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/8 nodes are available: 4 Insufficient nvidia.com/gpu.",
            }
        ]
    )
    health = assess_deployment(deployment(), [pending])
    assert health.problem_reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in health.message


def test_healthy_pods_are_just_rolling_out() -> None:
    health = assess_deployment(deployment(updatedReplicas=1), [pod(phase="Running")])
    assert health.problem_reason is None
    assert health.message == "rolling out: 1/2 updated, 0/2 available"


def test_gpu_quota_smaller_than_the_processors_need() -> None:
    rolling = WorkloadHealth(wanted=3, replicas=2, available=2, message="rolling out")
    short = with_gpu_quota(rolling, per_pod=2, quota_gpus=4)
    assert short.problem_reason == "GPUQuotaExceeded"
    assert "need 6" in short.message and "allows 4" in short.message
    assert with_gpu_quota(rolling, per_pod=1, quota_gpus=4) == rolling
    done = WorkloadHealth(wanted=3, complete=True)
    assert with_gpu_quota(done, per_pod=2, quota_gpus=4) == done


def test_autoscaled_workload_is_not_done_below_min_replicas() -> None:
    one = WorkloadHealth(wanted=1, replicas=1, ready=1, updated=1, available=1, complete=True)
    waiting = with_min_replicas(one, 3)
    assert not waiting.complete and waiting.summary == "1/3"
    assert "minReplicas 3" in waiting.message
    three = WorkloadHealth(wanted=3, replicas=3, ready=3, updated=3, available=3, complete=True)
    assert with_min_replicas(three, 3) == three
