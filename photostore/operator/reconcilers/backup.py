"""The backups of one PhotoStorage: backup-now requests, and status.backup with its
conditions from the backup and verification Jobs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from photostore.operator import reasons, recorder
from photostore.operator.backups import BackupReport, assess
from photostore.operator.builders.common import COMPONENT_LABEL, digest, selector_labels
from photostore.operator.builders.jobs import (
    BACKUP_COMPONENT,
    BACKUP_NOW_ANNOTATION,
    MIGRATION_COMPONENT,
    VERIFY_COMPONENT,
    build_backup_now_job,
)
from photostore.operator.kube import ApiError, Obj
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import KeptJobs, Operator, kept
from photostore.operator.status import selector_any_of, split_by_component

JOBS_RELIST = 60.0  # seconds; a Job made by hand is seen within this


async def backups(
    op: Operator, body: Obj, ps: PhotoStorage, cronjob: Obj | None
) -> BackupReport | None:
    """status.backup and its conditions; a new value of the backup-now annotation first
    starts a backup (once: the value is kept in status.backup.lastRequest)."""
    if not ps.spec.backup.enabled:
        return None
    previous = dict((body.get("status") or {}).get("backup") or {})
    request = (body["metadata"].get("annotations") or {}).get(BACKUP_NOW_ANNOTATION)
    if request and request != previous.get("lastRequest"):
        job = build_backup_now_job(ps, request)
        try:
            await op.kube.create(job)
        except ApiError as error:
            if error.status != 409:  # 409: this request's Job exists already
                raise
        message = (
            f"backup Job {job['metadata']['name']} started for {BACKUP_NOW_ANNOTATION}={request}"
        )
        await op.events.record(body, recorder.NORMAL, reasons.BACKUP_REQUESTED, message)
        previous["lastRequest"] = request
    jobs = await backup_jobs(op, body, ps)
    backups, verifications = split_by_component(jobs, BACKUP_COMPONENT, VERIFY_COMPONENT)
    since = ((cronjob or body)["metadata"]).get("creationTimestamp", "")
    return assess(ps, cronjob, backups, verifications, previous, datetime.now(UTC), since)


async def backup_jobs(op: Operator, body: Obj, ps: PhotoStorage) -> list[Obj]:
    """The backup and verification Jobs, listed again only when what makes them may have
    made or ended one (`jobs_signature`), or JOBS_RELIST after the last list: the Jobs the
    CronJobs make are not the PhotoStorage's, so no event of theirs reaches the operator."""
    key = (ps.namespace, ps.name)
    signature = jobs_signature(body, op.children.get(key, {}))
    now = time.monotonic()
    held = op.backup_jobs.get(key)
    if held is not None and held.signature == signature and now - held.listed_at < JOBS_RELIST:
        return held.jobs
    jobs = await op.kube.list("batch/v1", "Job", ps.namespace, backup_jobs_selector(ps))
    op.backup_jobs[key] = KeptJobs(signature, now, [kept(job) for job in jobs])
    return op.backup_jobs[key].jobs


def jobs_signature(body: Obj, children: Mapping[tuple[str, str], Obj | None]) -> str:
    """What changes when a backup Job may have started or ended: the CronJobs' status (their
    active Jobs, last schedule and success), the PhotoStorage's Jobs (backup-now; not its
    schema migrations), its annotations (a backup-now request, or an SRE's nudge) and its
    generation."""
    versions = sorted(
        (kind, name, meta.get("resourceVersion", ""))
        for (kind, name), obj in children.items()
        if kind in ("CronJob", "Job")
        and (meta := (obj or {}).get("metadata", {})).get("labels", {}).get(COMPONENT_LABEL)
        != MIGRATION_COMPONENT
    )
    meta = body["metadata"]
    return digest([versions, meta.get("annotations") or {}, meta.get("generation", 0)])


def backup_jobs_selector(ps: PhotoStorage) -> str:
    """The backup and the verification Jobs of `ps`, in one list."""
    labels = selector_labels(ps, BACKUP_COMPONENT)
    return selector_any_of(labels, COMPONENT_LABEL, [BACKUP_COMPONENT, VERIFY_COMPONENT])
