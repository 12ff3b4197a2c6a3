"""Each reconciler on its own, against the recording fake KubeClient."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fake_kube import FakeKube

from photostore.operator.builders.common import selector_labels
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcilers import backup, reporting, workloads
from photostore.operator.spec import parse
from photostore.operator.state import Operator
from photostore.operator.status import selector_any_of

KEY = ("team", "photos")


def operator() -> tuple[Operator, FakeKube]:
    kube = FakeKube()
    return Operator(kube=kube, metrics=OperatorMetrics()), kube  # type: ignore[arg-type]


def body(minimal_spec: Any, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "photos.example.com/v1alpha1",
        "kind": "PhotoStorage",
        "metadata": {"name": "photos", "namespace": "team", "uid": "u", "generation": 1,
                     "annotations": annotations or {}},
        "spec": minimal_spec(),
    }  # fmt: skip


async def test_backup_now_creates_one_job_per_value(minimal_spec: Any) -> None:
    op, kube = operator()
    asked = body(minimal_spec, {"photos.example.com/backup-now": "first"})
    report = await backup.backups(op, asked, parse(asked), None)
    assert report is not None and report.status["lastRequest"] == "first"
    jobs = [k for k in kube.objects if k[1] == "Job"]
    assert len(jobs) == 1

    asked["status"] = {"backup": report.status}  # what the status write kept
    await backup.backups(op, asked, parse(asked), None)
    assert len([k for k in kube.objects if k[1] == "Job"]) == 1
    events = [e for (_, k, _, _), e in kube.objects.items() if k == "Event"]
    assert [e["reason"] for e in events] == ["BackupRequested"]


async def test_backups_switched_off_report_nothing(minimal_spec: Any) -> None:
    op, kube = operator()
    off = body(minimal_spec)
    off["spec"]["backup"] = {"enabled": False}
    assert await backup.backups(op, off, parse(off), None) is None
    assert kube.calls == []


async def test_status_is_written_only_when_it_changed_with_events_for_flips(
    minimal_spec: Any,
) -> None:
    op, kube = operator()
    obj = body(minimal_spec)
    kube.put(obj)
    obj = kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", *KEY)]
    failed = {"type": "BackupHealthy", "status": "False", "reason": "LastBackupFailed",
              "message": "Job b-1 failed"}  # fmt: skip
    status = {"observedGeneration": 1, "conditions": [failed]}
    await reporting.write_status(op, KEY, obj, status)
    writes = [c for c in kube.calls if c[1] == "photostorages/status"]
    assert len(writes) == 1
    events = [e for (_, k, _, _), e in kube.objects.items() if k == "Event"]
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "LastBackupFailed")]

    obj = kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", *KEY)]
    await reporting.write_status(op, KEY, obj, status)  # the same again: no write, no Event
    assert len([c for c in kube.calls if c[1] == "photostorages/status"]) == 1
    assert len([k for k in kube.objects if k[1] == "Event"]) == 1


def finished_job(ps_body: dict[str, Any], name: str, component: str, when: str) -> dict[str, Any]:
    labels = selector_labels(parse(ps_body), component)
    done = {"type": "Complete", "status": "True", "lastTransitionTime": when}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "team", "labels": labels},
        "status": {"conditions": [done]},
    }


async def test_backup_and_verification_jobs_are_read_in_one_list(minimal_spec: Any) -> None:
    op, kube = operator()
    obj = body(minimal_spec)
    obj["spec"]["backup"] = {"verification": {"enabled": True}}
    kube.put(finished_job(obj, "b-1", "backup", "2026-01-01T00:00:00Z"))
    kube.put(finished_job(obj, "v-1", "backup-verify", "2026-01-01T01:00:00Z"))
    kube.put(finished_job(obj, "m-1", "migration", "2026-01-01T02:00:00Z"))
    report = await backup.backups(op, obj, parse(obj), None)
    assert report is not None
    assert report.status["lastSuccessfulJob"] == "b-1"
    assert report.status["lastVerifiedJob"] == "v-1"
    assert [c for c in kube.calls if c[1] == "jobs"] == [("batch", "jobs", "list")]


def test_a_set_based_selector_keeps_the_other_labels() -> None:
    found = selector_any_of({"app": "p", "component": "backup"}, "component", ["backup", "verify"])
    assert found == "app=p,component in (backup,verify)"


async def test_backup_jobs_are_listed_again_only_when_what_makes_them_changed(
    minimal_spec: Any,
) -> None:
    op, kube = operator()
    obj = body(minimal_spec)
    cronjob = {"kind": "CronJob", "metadata": {"name": "photos-backup", "resourceVersion": "1"}}
    op.keep_child(KEY, cronjob)

    def lists() -> int:
        return kube.calls.count(("batch", "jobs", "list"))

    await backup.backups(op, obj, parse(obj), None)
    await backup.backups(op, obj, parse(obj), None)
    assert lists() == 1
    op.keep_child(KEY, {**cronjob, "metadata": {**cronjob["metadata"], "resourceVersion": "2"}})
    await backup.backups(op, obj, parse(obj), None)  # it started or ended a Job
    assert lists() == 2
    migration = {"kind": "Job", "metadata": {"name": "photos-migrate-1", "resourceVersion": "1",
                 "labels": {"app.kubernetes.io/component": "migration"}}}  # fmt: skip
    op.keep_child(KEY, migration)
    op.keep_child(KEY, {**migration, "metadata": {**migration["metadata"], "resourceVersion": "2"}})
    await backup.backups(op, obj, parse(obj), None)  # a schema migration makes no backup
    assert lists() == 2
    obj["metadata"]["annotations"] = {"nudge": "1"}
    await backup.backups(op, obj, parse(obj), None)
    assert lists() == 3
    held = op.backup_jobs[KEY]
    op.backup_jobs[KEY] = replace(held, listed_at=held.listed_at - backup.JOBS_RELIST)
    await backup.backups(op, obj, parse(obj), None)  # a Job made by hand shows up in time
    assert lists() == 4


def rolling_deployment(component: str) -> dict[str, Any]:
    name = f"photos-{component}"
    meta = {"name": name, "namespace": "team", "generation": 1}
    status = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1}
    return {"kind": "Deployment", "metadata": meta, "spec": {"replicas": 1}, "status": status}


def pod(ps_body: dict[str, Any], component: str, waiting: str | None) -> dict[str, Any]:
    labels = selector_labels(parse(ps_body), component)
    meta = {"name": f"photos-{component}-x", "namespace": "team", "labels": labels}
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    status = {"containerStatuses": [{"name": component, "state": state}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": status}


async def test_both_rollouts_read_their_pods_in_one_list(minimal_spec: Any) -> None:
    op, kube = operator()
    ps_body = body(minimal_spec)
    ps = parse(ps_body)
    kube.put(pod(ps_body, "api", None))
    kube.put(pod(ps_body, "processor", "CrashLoopBackOff"))
    live = {("Deployment", f"photos-{c}"): rolling_deployment(c) for c in ("api", "processor")}
    health = await workloads.assess_workloads(op, ps, live)
    assert kube.calls.count(("", "pods", "list")) == 1
    assert health["processor"].problem_reason == "CrashLoopBackOff"
    assert health["api"].problem_reason is None and not health["api"].complete
    # A finished rollout reads no pods at all.
    for deployment in live.values():
        deployment["status"] |= {"readyReplicas": 1, "availableReplicas": 1}
    health = await workloads.assess_workloads(op, ps, live)
    assert kube.calls.count(("", "pods", "list")) == 1
    assert health["api"].complete and health["processor"].complete
