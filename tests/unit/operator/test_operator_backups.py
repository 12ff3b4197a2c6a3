"""status.backup, BackupHealthy and BackupVerified from the backup and verification Jobs,
and the Jobs the operator makes for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import MakePs

from photostore.operator.backups import assess, schedule_period
from photostore.operator.builders import jobs

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CREATED = "2026-03-01T00:00:00Z"


def job(name: str, ended: str, when: str, message: str = "") -> dict[str, Any]:
    condition = {"type": ended, "status": "True", "lastTransitionTime": when, "message": message}
    return {"metadata": {"name": name}, "status": {"conditions": [condition]}}


def conditions(report: Any) -> dict[str, tuple[bool, str]]:
    return {f.type: (f.status, f.reason) for f in report.findings}


def test_a_recent_success_is_healthy_and_recorded(make_ps: MakePs) -> None:
    backups = [job("b-1", "Complete", "2026-03-10T02:01:00Z"),
               job("b-0", "Complete", "2026-03-09T02:01:00Z")]  # fmt: skip
    report = assess(make_ps(), None, backups, [], {}, NOW, CREATED)
    assert report.status["lastSuccessfulTime"] == "2026-03-10T02:01:00Z"
    assert report.status["lastSuccessfulJob"] == "b-1"
    assert conditions(report)["BackupHealthy"] == (True, "LastBackupSucceeded")


def test_a_failure_after_the_last_success_is_unhealthy_naming_the_job(make_ps: MakePs) -> None:
    backups = [job("b-1", "Complete", "2026-03-09T02:01:00Z"),
               job("b-2", "Failed", "2026-03-10T02:03:00Z", "BackoffLimitExceeded")]  # fmt: skip
    report = assess(make_ps(), None, backups, [], {}, NOW, CREATED)
    assert conditions(report)["BackupHealthy"] == (False, "LastBackupFailed")
    assert report.status["lastFailedJob"] == "b-2"
    message = next(f.message for f in report.findings if f.type == "BackupHealthy")
    assert "b-2" in message and "BackoffLimitExceeded" in message


def test_no_backup_within_the_schedule_is_unhealthy(make_ps: MakePs) -> None:
    backups = [job("b-1", "Complete", "2026-03-08T02:01:00Z")]  # 58 h ago, daily schedule
    report = assess(make_ps(), None, backups, [], {}, NOW, CREATED)
    assert conditions(report)["BackupHealthy"] == (False, "NoBackupWithinSchedule")


def test_a_new_installation_awaits_its_first_backup(make_ps: MakePs) -> None:
    since = (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = assess(make_ps(), None, [], [], {}, NOW, since)
    assert conditions(report)["BackupHealthy"] == (True, "AwaitingFirstBackup")
    assert conditions(assess(make_ps(), None, [], [], {}, NOW, CREATED))["BackupHealthy"] == (
        False,
        "NoBackupWithinSchedule",
    )


def test_times_outlive_the_pruned_jobs(make_ps: MakePs) -> None:
    previous = {"lastSuccessfulTime": "2026-03-10T02:01:00Z", "lastSuccessfulJob": "b-9",
                "lastVerifiedTime": "2026-03-10T04:05:00Z", "lastVerifiedJob": "v-9"}  # fmt: skip
    report = assess(make_ps(), None, [], [], previous, NOW, CREATED)
    assert report.status == previous
    assert conditions(report)["BackupVerified"] == (True, "Verified")


def test_verification_failed_and_not_yet_verified(make_ps: MakePs) -> None:
    backups = [job("b-1", "Complete", "2026-03-10T02:01:00Z")]
    report = assess(make_ps(), None, backups, [], {}, NOW, CREATED)
    assert conditions(report)["BackupVerified"] == (False, "NotVerifiedYet")
    failed = [job("v-1", "Failed", "2026-03-10T04:09:00Z", "row counts differ")]
    report = assess(make_ps(), None, backups, failed, {}, NOW, CREATED)
    assert conditions(report)["BackupVerified"] == (False, "VerificationFailed")
    off = make_ps(backup={"verification": {"enabled": False}})
    assert "BackupVerified" not in conditions(assess(off, None, backups, [], {}, NOW, CREATED))


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [("0 2 * * *", 24), ("0 3 * * 0", 24 * 7), ("0 1 1 * *", 24 * 31),
     ("*/15 * * * *", 1), ("0 */6 * * *", 6), ("@weekly", 24 * 7), ("@hourly", 1)],
)  # fmt: skip
def test_the_schedules_period(schedule: str, hours: int) -> None:
    assert schedule_period(schedule) == timedelta(hours=hours)


def test_max_age_can_be_set(make_ps: MakePs) -> None:
    backups = [job("b-1", "Complete", "2026-03-08T02:01:00Z")]
    lenient = make_ps(backup={"maxAgeHours": 72})
    assert conditions(assess(lenient, None, backups, [], {}, NOW, CREATED))["BackupHealthy"][0]


def test_backup_now_makes_one_job_per_request_from_the_cronjob_template(make_ps: MakePs) -> None:
    ps = make_ps()
    cron = jobs.build_backup_cronjob(ps)
    now = jobs.build_backup_now_job(ps, "2026-03-10")
    assert now["spec"] == cron["spec"]["jobTemplate"]["spec"]
    assert (
        now["metadata"]["name"] == jobs.build_backup_now_job(ps, "2026-03-10")["metadata"]["name"]
    )
    assert now["metadata"]["name"] != jobs.build_backup_now_job(ps, "again")["metadata"]["name"]
    assert now["metadata"]["annotations"][jobs.BACKUP_NOW_ANNOTATION] == "2026-03-10"


def test_backups_may_use_their_own_bucket_keys(make_ps: MakePs) -> None:
    ps = make_ps(backup={"secretName": "backup-keys", "bucket": "dumps"})
    env = jobs.build_backup_cronjob(ps)["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]["env"]
    refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for e in env}
    assert refs["AWS_ACCESS_KEY_ID"] == refs["AWS_SECRET_ACCESS_KEY"] == "backup-keys"
    assert refs["PGPASSWORD"] == "db-creds"
    values = {e["name"]: e.get("value") for e in env}
    assert values["PHOTOSTORE_BACKUP_BUCKET"] == "dumps"


def test_verification_runs_backup_verify_with_a_work_folder(make_ps: MakePs) -> None:
    cron = jobs.build_verify_cronjob(make_ps())
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "photostore", "backup", "verify"]
    assert cron["spec"]["schedule"] == "0 4 * * *"
    assert pod["volumes"] == [{"name": "work", "emptyDir": {}}]
    work = {e["name"]: e.get("value") for e in container["env"]}["PHOTOSTORE_BACKUP_WORK_DIR"]
    assert container["volumeMounts"] == [{"name": "work", "mountPath": work}]
