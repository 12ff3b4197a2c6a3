"""Level-based reconcile of one PhotoStorage: read it, build the children, apply them,
read their health, write status. Called by the work queue, never directly by kopf."""

from __future__ import annotations

import asyncio
import time

from pydantic import ValidationError

from photostore.operator import conditions, reasons, recorder
from photostore.operator.api_scaling import replicas_finding
from photostore.operator.background import RETRY as CHECK_RETRY
from photostore.operator.bucket import check_bucket
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import child_name
from photostore.operator.builders.jobs import BACKUP_COMPONENT
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.children import PHOTOSTORAGE
from photostore.operator.finalizers import (
    finalizer_patch,
    wants_topic_finalizer,
)
from photostore.operator.health import (
    with_gpu_quota,
    with_min_replicas,
)
from photostore.operator.kube import ApiError, Obj
from photostore.operator.namespace_owner import refused
from photostore.operator.reconcilers import backup, kafka, reporting, workloads
from photostore.operator.reconcilers.namespace import namespace_manager
from photostore.operator.spec import KIND, parse
from photostore.operator.state import Operator
from photostore.operator.status import Observed, build_status
from photostore.operator.topic import check_topic
from photostore.operator.workqueue import Again, Key

RESYNC_READY = 300.0  # watch events do the real work; this only catches missed ones
RESYNC_NOT_READY = 10.0  # pods turning unschedulable or crash-looping emit no event we watch


async def reconcile(op: Operator, key: Key, full: bool = True) -> float | Again | None:
    """Reconcile and time it; returns when to look again (None once the object is gone).

    Without `full`, and when nothing but the children's status changed since the last full
    pass, only status is refreshed: three reads instead of a dozen applies."""
    started = time.monotonic()
    try:
        again = await _reconcile(op, key, full)
    except Exception as error:
        if isinstance(error, ApiError) and error.status == 409:
            # A write made from a PhotoStorage someone changed meanwhile: read it, and again.
            op.unkeep_photostorage(key)
            op.metrics.reconciles.labels(result="conflict").inc()
            return Again(0.0, full)
        op.metrics.reconciles.labels(result="error").inc()
        op.metrics.errors.labels(error=type(error).__name__).inc()
        raise
    finally:
        op.metrics.duration.observe(time.monotonic() - started)
    op.metrics.reconciles.labels(result="ok").inc()
    return again


async def photostorage(op: Operator, key: Key) -> Obj | None:
    """The PhotoStorage as its watch last showed it, or read when the watch has not shown it
    since the operator last wrote it."""
    kept = op.photostorages.get(key)
    if kept is not None:
        return kept
    return await op.kube.get(PHOTOSTORAGE.api_version, KIND, *key)


async def _reconcile(op: Operator, key: Key, full: bool) -> float | Again | None:
    namespace, name = key
    body = await photostorage(op, key)
    if body is None:
        op.forget(key)
        return None
    if body["metadata"].get("deletionTimestamp"):
        op.forget(key)  # the garbage collector removes the children through owner references
        return await kafka.release_topics(op, key, body)
    try:
        ps = parse(body)
    except ValidationError as error:  # the schema should make this impossible; say so loudly
        await op.events.record(body, recorder.WARNING, reasons.INVALID_SPEC, str(error))
        return None
    patch = finalizer_patch(body, wants_topic_finalizer(ps))
    if patch is not None:
        op.unkeep_photostorage(key)
        body = await op.kube.patch(PHOTOSTORAGE.api_version, KIND, namespace, name, patch)
    manager = await namespace_manager(op, key)
    if manager not in (None, name):
        previous = (body.get("status") or {}).get("conditions") or []
        found = refused(namespace, str(manager))
        status = {
            "observedGeneration": ps.generation,
            "conditions": conditions.settle(previous, found, ps.generation, recorder.now_rfc3339()),
        }
        await reporting.write_status(op, key, body, status)
        return RESYNC_NOT_READY
    reading = await kafka.processor_lag(op, key, ps)
    decision = kafka.scale(op, key, ps, reading)
    desired = decision.replicas if decision else None
    last_pass = op.applied.get(key)
    migration = None if last_pass is None else last_pass.migration
    applied_as = None if last_pass is None else (last_pass.generation, last_pass.processors)
    if last_pass is None or full or applied_as != (ps.generation, desired):
        live, errors, migration = await workloads.full_pass(op, key, body, ps, desired)
    else:
        job = None
        if last_pass.migrating:
            # The Deployments wait for the Job: look at it alone, apply them once it is done.
            job = await workloads.migration_job(op, ps)
            migration = await workloads.migration_gate(op, ps, job)
        if last_pass.migrating and migration is not None and migration.done:
            # Only the waves it held back, unless an apply of the last pass failed: all again.
            migrated = None if last_pass.errors else job
            live, errors, migration = await workloads.full_pass(
                op, key, body, ps, desired, migrated=migrated
            )
        else:
            live = await workloads.read_workloads(op, ps)
            errors = last_pass.errors
    # What status is made of, read at once: each is a round trip or two to the apiserver.
    health, bucket, backups = await asyncio.gather(
        workloads.assess_workloads(op, ps, live),
        check_bucket(op, key, ps),
        backup.backups(op, body, ps, live.get(("CronJob", child_name(ps, BACKUP_COMPONENT)))),
    )
    api, processor = health[API], health[PROCESSOR]
    if ps.spec.api.autoscaling.enabled:
        api = with_min_replicas(api, ps.spec.api.autoscaling.min_replicas)
    if ps.spec.processor.gpu.enabled and ps.spec.quota.enabled:
        processor = with_gpu_quota(processor, ps.spec.processor.gpu.per_pod, ps.spec.quota.gpus)
    topic = check_topic(op, key, ps)
    observed = Observed(
        api=api,
        processor=processor,
        backup=backups,
        errors=errors,
        migration=migration,
        lag=reading,
        scaling=decision,
        extra=[f for f in (topic, bucket, replicas_finding(ps)) if f is not None],
    )
    previous = (body.get("status") or {}).get("conditions") or []
    status = build_status(ps, previous, observed, recorder.now_rfc3339())
    await reporting.write_status(op, key, body, status)
    again = RESYNC_READY if observed.ready else RESYNC_NOT_READY
    if any(not f.status for f in (topic, bucket) if f is not None):
        again = min(again, CHECK_RETRY)
    if ps.spec.processor.autoscaling.enabled:
        again = min(again, kafka.LAG_INTERVAL)
    # Short looks are for what no watched event announces (a pod that cannot start, a check
    # outside Kubernetes, the lag): status is enough, unless an apply failed and is retried.
    return again if again == RESYNC_READY or errors else Again(again, full=False)
