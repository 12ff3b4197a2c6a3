"""The schema migration gate: Deployments wait for their migration Job; a failing one is
Degraded, naming the Job and what its pod said, and the running pods are left alone."""

from __future__ import annotations

from typing import Any

from conftest import photostorage_body
from fake_kube import FakeKube

from photostore.operator.builders.jobs import migration_name
from photostore.operator.conditions import findings
from photostore.operator.health import WorkloadHealth
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.migration import migration_state
from photostore.operator.reconcile import RESYNC_NOT_READY, reconcile
from photostore.operator.spec import parse
from photostore.operator.state import Operator
from photostore.operator.workqueue import Again

DONE = WorkloadHealth(wanted=2, replicas=2, ready=2, updated=2, available=2, complete=True)


def job(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "photos-migrate-abc"}, "status": status}


def failed_pod(finished: str, code: int, message: str) -> dict[str, Any]:
    terminated = {"exitCode": code, "reason": "Error", "message": message, "finishedAt": finished}
    return {"status": {"containerStatuses": [{"state": {"terminated": terminated}}]}}


def test_a_job_that_succeeded_opens_the_gate() -> None:
    state = migration_state(job(succeeded=1), [])
    assert (state.done, state.failed) == (True, False)


def test_a_running_job_holds_the_deployments_back_without_a_failure() -> None:
    state = migration_state(job(active=1), [])
    assert (state.done, state.failed) == (False, False)
    found = {f.type: f for f in findings(DONE, DONE, [], state)}
    assert found["Ready"].status is False
    assert found["Progressing"].status is True
    assert "migrating" in found["Progressing"].message
    assert found["Degraded"].status is False


def test_a_failed_attempt_is_degraded_with_the_pods_last_words() -> None:
    pods = [
        failed_pod("2026-01-01T00:00:01Z", 1, "old"),
        failed_pod("2026-01-01T00:00:09Z", 2, 'password authentication failed for user "x"'),
    ]
    state = migration_state(job(failed=2, active=1), pods)
    assert (state.done, state.failed) == (False, True)
    assert "photos-migrate-abc" in state.message
    assert "exit code 2 (Error): password authentication failed" in state.message
    degraded = {f.type: f for f in findings(DONE, DONE, [], state)}["Degraded"]
    assert (degraded.status, degraded.reason) == (True, "MigrationFailed")


def test_a_job_past_its_backoff_limit_names_the_jobs_reason() -> None:
    failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit"}  # fmt: skip
    state = migration_state(job(failed=4, conditions=[failed]), [])
    assert state.failed
    assert "BackoffLimitExceeded" in state.message


async def test_deployments_wait_for_the_migration_of_their_template() -> None:
    kube = FakeKube()
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    body = photostorage_body()
    kube.put(body)
    kube.put({"apiVersion": "batch/v1", "kind": "Job",
              "metadata": {"name": migration_name(parse(body)), "namespace": "team"},
              "spec": {}, "status": {"failed": 1, "active": 1}})  # fmt: skip
    kube.apply_status["Job"] = {"failed": 1, "active": 1}
    kube.refused.add("ConfigMap")
    again = await reconcile(op, ("team", "photos"))
    assert again == RESYNC_NOT_READY, "a failed apply is retried by a full pass"
    kube.refused.clear()
    await reconcile(op, ("team", "photos"))
    kinds = {k for (_, k, _, _) in kube.objects}
    assert "Deployment" not in kinds, "no pod may start before its schema exists"
    status = kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", "team", "photos")]
    degraded = next(c for c in status["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["reason"] == "MigrationFailed"

    kube.apply_status["Job"] = {"succeeded": 1}
    job_ref = ("batch/v1", "Job", "team", migration_name(parse(body)))
    kube.objects[job_ref]["status"] = {"succeeded": 1}  # as the Job controller writes it
    op.keep_child(("team", "photos"), kube.objects[job_ref])  # and as the watch shows it
    kube.calls.clear()
    await reconcile(op, ("team", "photos"), full=False)  # a status-only nudge looks again
    kinds = {k for (_, k, _, _) in kube.objects}
    assert "Deployment" in kinds
    # The waves before the gate are as the last pass left them: only the Deployments now.
    applied = {resource for _, resource, verb in kube.calls if verb in ("create", "patch")}
    assert applied == {"deployments", "photostorages/status", "events"}


async def test_a_nudge_while_the_job_runs_reads_it_and_applies_nothing() -> None:
    """Every status change of a child (the quota counted, the Job's pod started) nudges the
    PhotoStorage while its Job runs; each is one look at the Job, not a pass of applies."""
    kube = FakeKube()
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    body = photostorage_body()
    kube.put(body)
    kube.apply_status["Job"] = {"active": 1}
    again = await reconcile(op, ("team", "photos"))
    # Not Ready, nothing failed: the short look again is a status refresh too.
    assert again == Again(RESYNC_NOT_READY, full=False)
    job_ref = ("batch/v1", "Job", "team", migration_name(parse(body)))
    kube.objects[job_ref]["status"] = {"failed": 1, "active": 1}  # its first pod failed
    op.keep_child(("team", "photos"), kube.objects[job_ref])  # seen through the watch
    kube.calls.clear()

    await reconcile(op, ("team", "photos"), full=False)
    writes = [c for c in kube.calls if c[2] in ("create", "patch") and c[1] != "events"]
    assert writes == [("photos.example.com", "photostorages/status", "patch")]
    status = kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", "team", "photos")]
    degraded = next(c for c in status["status"]["conditions"] if c["type"] == "Degraded")
    assert degraded["reason"] == "MigrationFailed"
