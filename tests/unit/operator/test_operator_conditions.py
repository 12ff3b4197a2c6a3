from __future__ import annotations

from conftest import MakePs

from photostore.operator import conditions
from photostore.operator.api_scaling import replicas_finding
from photostore.operator.health import WorkloadHealth

DONE = WorkloadHealth(wanted=2, replicas=2, ready=2, updated=2, available=2, complete=True)
ROLLING = WorkloadHealth(wanted=2, replicas=2, updated=1, message="rolling out")
NO_GPU = WorkloadHealth(wanted=2, problem_reason="GPUQuotaExceeded", message="exceeded quota")


def by_type(found: list[conditions.Finding]) -> dict[str, conditions.Finding]:
    return {f.type: f for f in found}


def test_all_ready() -> None:
    found = by_type(conditions.findings(DONE, DONE, []))
    assert found["Ready"].status and found["Ready"].reason == "AllComponentsReady"
    assert not found["Progressing"].status
    assert not found["Degraded"].status and found["Degraded"].reason == "AsExpected"
    assert found["ApiReady"].status and found["ProcessorReady"].status


def test_rolling_out_is_progressing_not_degraded() -> None:
    found = by_type(conditions.findings(DONE, ROLLING, []))
    assert not found["Ready"].status and found["Ready"].reason == "ComponentsNotReady"
    assert found["Progressing"].status and found["Progressing"].reason == "RollingOut"
    assert not found["Degraded"].status
    assert found["ProcessorReady"].reason == "RollingOut"
    assert found["ApiReady"].status


def test_gpu_quota_exhausted_is_degraded_with_the_reason() -> None:
    found = by_type(conditions.findings(DONE, NO_GPU, []))
    assert found["Degraded"].status and found["Degraded"].reason == "GPUQuotaExceeded"
    assert "processor: exceeded quota" in found["Degraded"].message
    assert not found["Ready"].status and found["Ready"].reason == "GPUQuotaExceeded"
    assert not found["Progressing"].status and found["Progressing"].reason == "RolloutStalled"
    assert found["ProcessorReady"].reason == "GPUQuotaExceeded"


def test_apply_failure_is_degraded() -> None:
    found = by_type(conditions.findings(DONE, DONE, ["Deployment x: forbidden"]))
    assert found["Degraded"].reason == "ApplyFailed"
    assert not found["Ready"].status


def test_transition_time_moves_only_when_status_flips() -> None:
    first = conditions.settle([], conditions.findings(DONE, ROLLING, []), 1, "T1")
    second = conditions.settle(first, conditions.findings(DONE, NO_GPU, []), 2, "T2")
    times = {c["type"]: c["lastTransitionTime"] for c in second}
    assert times["Ready"] == "T1"  # False -> False, though the reason changed
    assert times["Degraded"] == "T2"  # False -> True
    assert times["Progressing"] == "T2"  # True -> False
    assert all(c["observedGeneration"] == 2 for c in second)


def test_flipped_reports_status_or_reason_changes() -> None:
    first = conditions.settle([], conditions.findings(DONE, ROLLING, []), 1, "T1")
    same = conditions.settle(first, conditions.findings(DONE, ROLLING, []), 1, "T2")
    assert conditions.flipped(first, same) == []
    worse = conditions.settle(first, conditions.findings(DONE, NO_GPU, []), 1, "T2")
    assert {c["type"] for c in conditions.flipped(first, worse)} == {
        "Ready",
        "Progressing",
        "Degraded",
        "ProcessorReady",
    }


def test_replicas_parked_while_autoscaling_are_said(make_ps: MakePs) -> None:
    on = {"enabled": True, "minReplicas": 2, "maxReplicas": 4}
    assert replicas_finding(make_ps(api={"autoscaling": {"enabled": False}, "replicas": 7})) is None
    quiet = replicas_finding(make_ps(api={"autoscaling": on}))
    assert quiet is not None and not quiet.status
    parked = replicas_finding(make_ps(api={"autoscaling": on, "replicas": 7}))
    assert parked is not None and parked.status and parked.reason == "AutoscalingEnabled"
    assert "spec.api.replicas=7" in parked.message and "2..4" in parked.message
