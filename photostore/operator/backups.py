"""What the backups' Jobs say about them: status.backup and the BackupHealthy and
BackupVerified conditions. Pure.

A backup counts once its Job (scheduled, or asked for with the backup-now annotation)
completed; `photostore backup` writes the manifest last and exits non-zero otherwise. It is
verified once a `photostore backup verify` Job completed: a restore of it matched its
manifest's row counts. Jobs are pruned by the CronJobs' history limits, so the times already
in status are kept when their Jobs are gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from photostore.operator import reasons
from photostore.operator.conditions import Finding
from photostore.operator.spec import PhotoStorage

Obj = dict[str, Any]
BACKUP_HEALTHY = reasons.BACKUP_HEALTHY
BACKUP_VERIFIED = reasons.BACKUP_VERIFIED
GRACE = timedelta(hours=2)
MACRO_HOURS = {"@yearly": 24 * 366, "@annually": 24 * 366, "@monthly": 24 * 31,
               "@weekly": 24 * 7, "@daily": 24, "@midnight": 24, "@hourly": 1}  # fmt: skip


@dataclass
class BackupReport:
    status: Obj = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def schedule_period(schedule: str) -> timedelta:
    """The longest a schedule can leave between two runs, roughly: what restricts the day
    decides (a month, a week or a day), else an hour."""
    schedule = schedule.strip()
    if schedule.startswith("@every"):
        return timedelta(hours=24)  # not parsed here; set backup.maxAgeHours to be exact
    if schedule in MACRO_HOURS:
        return timedelta(hours=MACRO_HOURS[schedule])
    _minute, hour, day, month, weekday = schedule.split()[:5]
    if month not in ("*", "?"):
        return timedelta(days=366)
    if day not in ("*", "?"):
        return timedelta(days=31)
    if weekday not in ("*", "?"):
        return timedelta(days=7)
    if hour == "*" or hour.startswith("*/"):
        return timedelta(hours=int(hour[2:]) if hour.startswith("*/") else 1)
    return timedelta(days=1)


def max_age(ps: PhotoStorage) -> timedelta:
    backup = ps.spec.backup
    if backup.max_age_hours is not None:
        return timedelta(hours=backup.max_age_hours)
    return schedule_period(backup.schedule) + GRACE


def outcome(job: Obj) -> tuple[str, str, str] | None:
    """("Complete" or "Failed", when, message) of a finished Job; None while it runs."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            when = condition.get("lastTransitionTime") or job["status"].get("completionTime", "")
            return condition["type"], when, condition.get("message", "")
    return None


def _newest(jobs: list[Obj], kind: str) -> tuple[str, str, str] | None:
    """(when, Job name, message) of the newest Job that ended as `kind`."""
    found = []
    for job in jobs:
        ended = outcome(job)
        if ended and ended[0] == kind:
            found.append((ended[1], job["metadata"]["name"], ended[2]))
    return max(found) if found else None


def _later(
    found: tuple[str, str, str] | None, known_time: str | None, known_job: str | None
) -> tuple[str | None, str | None]:
    """What status should say: the newest of what the Jobs show and what status said."""
    if found and (not known_time or found[0] >= known_time):
        return found[0], found[1]
    return known_time, known_job


def _parse(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


def assess(
    ps: PhotoStorage,
    cronjob: Obj | None,
    backups: list[Obj],
    verifications: list[Obj],
    previous: Obj,
    now: datetime,
    since: str,
) -> BackupReport:
    """status.backup and its conditions; `since`: when backups began to be expected (the
    CronJob's creation), `previous`: status.backup as it was."""
    status: Obj = {}
    cron = (cronjob or {}).get("status") or {}
    status["lastScheduleTime"] = cron.get("lastScheduleTime") or previous.get("lastScheduleTime")
    good = _newest(backups, "Complete")
    bad = _newest(backups, "Failed")
    status["lastSuccessfulTime"], status["lastSuccessfulJob"] = _later(
        good, previous.get("lastSuccessfulTime"), previous.get("lastSuccessfulJob")
    )
    status["lastFailedTime"], status["lastFailedJob"] = _later(
        bad, previous.get("lastFailedTime"), previous.get("lastFailedJob")
    )
    verified = _newest(verifications, "Complete")
    status["lastVerifiedTime"], status["lastVerifiedJob"] = _later(
        verified, previous.get("lastVerifiedTime"), previous.get("lastVerifiedJob")
    )
    if previous.get("lastRequest"):
        status["lastRequest"] = previous["lastRequest"]
    status = {k: v for k, v in status.items() if v}
    findings = [_healthy(ps, status, bad, now, since)]
    if ps.spec.backup.verification.enabled:
        findings.append(_verified(status, _newest(verifications, "Failed")))
    return BackupReport(status, findings)


def _healthy(
    ps: PhotoStorage, status: Obj, bad: tuple[str, str, str] | None, now: datetime, since: str
) -> Finding:
    last_good = status.get("lastSuccessfulTime")
    if bad and (not last_good or bad[0] > last_good):
        message = f"backup Job {bad[1]} failed at {bad[0]}: {bad[2]}".rstrip(": ")
        return Finding(BACKUP_HEALTHY, False, reasons.LAST_BACKUP_FAILED, message)
    limit = max_age(ps)
    newest = _parse(last_good) if last_good else None
    if newest is None and since and now - _parse(since) <= limit:
        message = f"no backup yet; the first is due within {_hours(limit)} of the schedule"
        return Finding(BACKUP_HEALTHY, True, reasons.AWAITING_FIRST_BACKUP, message)
    if newest is None or now - newest > limit:
        age = "none" if newest is None else f"the newest is from {last_good}"
        message = f"no successful backup within {_hours(limit)} ({age})"
        return Finding(BACKUP_HEALTHY, False, reasons.NO_BACKUP_WITHIN_SCHEDULE, message)
    message = f"backup Job {status.get('lastSuccessfulJob')} succeeded at {last_good}"
    return Finding(BACKUP_HEALTHY, True, reasons.LAST_BACKUP_SUCCEEDED, message)


def _verified(status: Obj, bad: tuple[str, str, str] | None) -> Finding:
    last_good = status.get("lastVerifiedTime")
    if bad and (not last_good or bad[0] > last_good):
        message = f"verification Job {bad[1]} failed at {bad[0]}: {bad[2]}".rstrip(": ")
        return Finding(BACKUP_VERIFIED, False, reasons.VERIFICATION_FAILED, message)
    if not last_good:
        message = "no backup has been restored and checked against its manifest yet"
        return Finding(BACKUP_VERIFIED, False, reasons.NOT_VERIFIED_YET, message)
    message = f"a restore matched its manifest at {last_good} (Job {status['lastVerifiedJob']})"
    return Finding(BACKUP_VERIFIED, True, reasons.VERIFIED, message)


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}h"
