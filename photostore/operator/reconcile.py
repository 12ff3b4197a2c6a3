"""Level-based reconcile of one PhotoStorage: read it, build the children, apply them,
read their health, write status. Called by the work queue, never directly by kopf."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from confluent_kafka import KafkaException
from pydantic import ValidationError

from photostore.events import dead_letter_topic
from photostore.operator import conditions, recorder
from photostore.operator.api_scaling import REPLICAS_IGNORED, replicas_finding
from photostore.operator.background import RETRY as CHECK_RETRY
from photostore.operator.backups import BACKUP_HEALTHY, BACKUP_VERIFIED, BackupReport, assess
from photostore.operator.bucket import check_bucket
from photostore.operator.builders import build_children, unwanted
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import child_name, selector_labels
from photostore.operator.builders.jobs import (
    BACKUP_COMPONENT,
    BACKUP_NOW_ANNOTATION,
    MIGRATION_COMPONENT,
    VERIFY_COMPONENT,
    build_backup_now_job,
    migration_name,
)
from photostore.operator.builders.monitoring import SERVICE_MONITOR_API
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.builders.quota import quota_name
from photostore.operator.children import AFTER_MIGRATION, WORKLOADS, wave_of
from photostore.operator.drift import differences
from photostore.operator.finalizers import (
    TOPICS_FINALIZER,
    finalizer_patch,
    wants_topic_finalizer,
)
from photostore.operator.health import (
    WorkloadHealth,
    assess_deployment,
    with_gpu_quota,
    with_min_replicas,
)
from photostore.operator.kube import FIELD_MANAGER, ApiError, Obj, applied_by
from photostore.operator.lag import LagUnavailableError, read_lag
from photostore.operator.migration import MigrationState, migration_state
from photostore.operator.namespace_owner import manager_of, refused
from photostore.operator.scaling import LagReading, ScaleDecision, decide, stabilise
from photostore.operator.spec import GROUP, KIND, VERSION, PhotoStorage, parse
from photostore.operator.state import Applied, Operator, fingerprint
from photostore.operator.status import Observed, build_status, selector
from photostore.operator.topic import check_topic, delete_topics
from photostore.operator.workqueue import Key

logger = logging.getLogger(__name__)

PS_API_VERSION = f"{GROUP}/{VERSION}"
RESYNC_READY = 300.0  # watch events do the real work; this only catches missed ones
RESYNC_NOT_READY = 10.0  # pods turning unschedulable or crash-looping emit no event we watch
LAG_INTERVAL = 15.0  # how often scaling by Kafka lag looks at the lag
QUOTA_WAIT = 3.0
DISCOVERY_INTERVAL = 60.0
HANDOVER_MANAGER = "photostore-operator-handover"


async def reconcile(op: Operator, key: Key, full: bool = True) -> float | None:
    """Reconcile and time it; returns when to look again (None once the object is gone).

    Without `full`, and when nothing but the children's status changed since the last full
    pass, only status is refreshed: three reads instead of a dozen applies."""
    started = time.monotonic()
    try:
        again = await _reconcile(op, key, full)
    except Exception as error:
        op.metrics.reconciles.labels(result="error").inc()
        op.metrics.errors.labels(error=type(error).__name__).inc()
        raise
    finally:
        op.metrics.duration.observe(time.monotonic() - started)
    op.metrics.reconciles.labels(result="ok").inc()
    return again


async def _reconcile(op: Operator, key: Key, full: bool) -> float | None:
    namespace, name = key
    body = await op.kube.get(PS_API_VERSION, KIND, namespace, name)
    if body is None:
        op.forget(key)
        return None
    if body["metadata"].get("deletionTimestamp"):
        op.forget(key)  # the garbage collector removes the children through owner references
        return await _release_topics(op, key, body)
    try:
        ps = parse(body)
    except ValidationError as error:  # the schema should make this impossible; say so loudly
        await op.events.record(body, recorder.WARNING, "InvalidSpec", str(error))
        return None
    patch = finalizer_patch(body, wants_topic_finalizer(ps))
    if patch is not None:
        body = await op.kube.patch(PS_API_VERSION, KIND, namespace, name, patch)
    manager = manager_of(await op.kube.list(PS_API_VERSION, KIND, namespace))
    if manager not in (None, name):
        previous = (body.get("status") or {}).get("conditions") or []
        found = refused(namespace, str(manager))
        status = {
            "observedGeneration": ps.generation,
            "conditions": conditions.settle(previous, found, ps.generation, recorder.now_rfc3339()),
        }
        await _write_status(op, key, body, status)
        return RESYNC_NOT_READY
    reading = await _processor_lag(op, key, ps)
    decision = _scale(op, key, ps, reading)
    desired = decision.replicas if decision else None
    last_pass = op.applied.get(key)
    if (
        full
        or last_pass is None
        or last_pass.generation != ps.generation
        or last_pass.processors != desired
        or last_pass.migrating
    ):
        live, errors, migration = await _full_pass(op, key, body, ps, desired)
    else:
        live = await _read_workloads(op, ps)
        errors, migration = last_pass.errors, last_pass.migration
    api = await _assess(op, ps, live.get(("Deployment", child_name(ps, API))), API)
    if ps.spec.api.autoscaling.enabled:
        api = with_min_replicas(api, ps.spec.api.autoscaling.min_replicas)
    processor = await _assess(
        op, ps, live.get(("Deployment", child_name(ps, PROCESSOR))), PROCESSOR
    )
    if ps.spec.processor.gpu.enabled and ps.spec.quota.enabled:
        processor = with_gpu_quota(processor, ps.spec.processor.gpu.per_pod, ps.spec.quota.gpus)
    topic = check_topic(op, key, ps)
    bucket = await check_bucket(op, key, ps)
    observed = Observed(
        api=api,
        processor=processor,
        backup=await _backups(
            op, body, ps, live.get(("CronJob", child_name(ps, BACKUP_COMPONENT)))
        ),
        errors=errors,
        migration=migration,
        lag=reading,
        scaling=decision,
        extra=[f for f in (topic, bucket, replicas_finding(ps)) if f is not None],
    )
    previous = (body.get("status") or {}).get("conditions") or []
    status = build_status(ps, previous, observed, recorder.now_rfc3339())
    await _write_status(op, key, body, status)
    again = RESYNC_READY if observed.ready else RESYNC_NOT_READY
    if any(not f.status for f in (topic, bucket) if f is not None):
        again = min(again, CHECK_RETRY)
    return min(again, LAG_INTERVAL) if ps.spec.processor.autoscaling.enabled else again


async def _release_topics(op: Operator, key: Key, body: Obj) -> float | None:
    """Delete the Kafka topics of a PhotoStorage being deleted with deletionPolicy Delete,
    then let it go; while Kafka does not confirm, say so and try again."""
    if TOPICS_FINALIZER not in (body["metadata"].get("finalizers") or []):
        return None
    kafka = body["spec"]["kafka"]
    topic = kafka.get("topic", "photoUpload")
    try:
        await asyncio.to_thread(delete_topics, kafka["brokers"], topic)
    except KafkaException as error:
        message = f"topics {topic} and {dead_letter_topic(topic)} not deleted yet: {error}"
        await op.events.record(body, recorder.WARNING, "TopicDeletionFailed", message)
        return CHECK_RETRY
    await op.events.record(
        body, recorder.NORMAL, "TopicsDeleted", f"deleted {topic} and {dead_letter_topic(topic)}"
    )
    patch = finalizer_patch(body, present=False)
    if patch is not None:
        await op.kube.patch(PS_API_VERSION, KIND, key[0], key[1], patch)
    return None


def _scale(
    op: Operator, key: Key, ps: PhotoStorage, reading: LagReading | None
) -> ScaleDecision | None:
    """Processors the lag asks for, within their bounds and the scale-down window. Without
    a reading, the last choice within the current bounds (not a reset)."""
    scaling = ps.spec.processor.autoscaling
    if not scaling.enabled:
        op.scale_history.pop(key, None)
        op.scale_decisions.pop(key, None)
        return None
    if reading is None:
        last = op.scale_decisions.get(key)
        if last is None:
            return None
        replicas = max(scaling.min_replicas, min(scaling.max_replicas, last.replicas))
        return ScaleDecision(replicas, last.limited_by, "lag unreadable; " + last.message)
    window = float(scaling.scale_down_stabilization_seconds)
    history, decision = stabilise(
        op.scale_history.get(key, []), time.monotonic(), window, decide(ps, reading)
    )
    op.scale_history[key] = history
    op.scale_decisions[key] = decision
    return decision


async def _processor_lag(op: Operator, key: Key, ps: PhotoStorage) -> LagReading | None:
    """Consumer lag and partitions, read at most every LAG_INTERVAL; None when scaling by
    lag is off or the lag cannot be read."""
    if not ps.spec.processor.autoscaling.enabled:
        return None
    now = time.monotonic()
    read_at, reading = op.lag_readings.get(key, (0.0, None))
    if now - read_at < LAG_INTERVAL:
        return reading
    kafka = ps.spec.kafka
    try:
        reading = await asyncio.to_thread(
            read_lag, kafka.brokers, kafka.topic, kafka.consumer_group
        )
    except LagUnavailableError as error:
        logger.warning("consumer lag of %s/%s unavailable: %s", *key, error)
        reading = None
    op.lag_readings[key] = (now, reading)
    return reading


async def _full_pass(
    op: Operator, key: Key, body: Obj, ps: PhotoStorage, desired: int | None
) -> tuple[dict[tuple[str, str], Obj], list[str], MigrationState | None]:
    monitors = ps.spec.monitoring.enabled and await _serves_service_monitors(op)
    wanted = build_children(ps, lag_replicas=desired, service_monitors=monitors)
    if ps.spec.api.autoscaling.enabled and op.spec_changed(key, ps.generation):
        await _hand_replicas_to_hpa(op, ps)
    live, errors, migration = await _apply_children(op, key, body, ps, wanted)
    await _delete_unwanted(op, body, ps, key, wanted)
    fingerprints = {child: fingerprint(obj) for child, obj in live.items()}
    op.applied[key] = Applied(ps.generation, fingerprints, errors, desired, migration)
    if migration is not None and not migration.done:
        live.update(await _read_workloads(op, ps))  # the pods that keep running, for status
    return live, errors, migration


async def _read_workloads(op: Operator, ps: PhotoStorage) -> dict[tuple[str, str], Obj]:
    """The children that status is made of, read fresh."""
    wanted = [
        ("apps/v1", "Deployment", child_name(ps, API)),
        ("apps/v1", "Deployment", child_name(ps, PROCESSOR)),
        ("batch/v1", "CronJob", child_name(ps, BACKUP_COMPONENT)),
    ]
    found = await asyncio.gather(*(op.kube.get(v, k, ps.namespace, n) for v, k, n in wanted))
    return {(k, n): obj for (_, k, n), obj in zip(wanted, found, strict=True) if obj is not None}


async def _apply_children(
    op: Operator, key: Key, body: Obj, ps: PhotoStorage, wanted: list[Obj]
) -> tuple[dict[tuple[str, str], Obj], list[str], MigrationState | None]:
    """Apply every child wave by wave: guard rails and config first, then the rest only once
    they are all in place, and the Deployments only once their schema migration succeeded.
    Return live objects, errors and the migration's state. Repairs of what someone changed
    are reported."""
    before = op.applied[key].children if key in op.applied else {}
    drifted = op.drifted.pop(key, {})
    repaired: list[str] = []
    numbers = sorted({wave_of(o["kind"]) for o in wanted})
    live: dict[tuple[str, str], Obj] = {}
    errors: list[str] = []
    created: list[str] = []
    migration: MigrationState | None = None
    for number in numbers:
        wave = [o for o in wanted if wave_of(o["kind"]) == number]
        if number == WORKLOADS:
            if errors:
                # No workload before its guard rails: GPU pods admitted without the quota
                # would run beyond it. The failure is reported and the next pass retries.
                break
            await _quota_counted(op, ps, live.get(("ResourceQuota", quota_name(ps))))
        if number == AFTER_MIGRATION:
            migration = await _migration(op, ps, live.get(("Job", migration_name(ps))))
            if errors or not migration.done:
                break
        results = await asyncio.gather(*(op.kube.apply(o) for o in wave), return_exceptions=True)
        for obj, result in zip(wave, results, strict=True):
            what = f"{obj['kind']} {obj['metadata']['name']}"
            if isinstance(result, ApiError):
                errors.append(f"{what}: {result.message}")
                await op.events.record(body, recorder.WARNING, "ApplyFailed", errors[-1])
                continue
            if isinstance(result, BaseException):
                raise result
            child = (obj["kind"], obj["metadata"]["name"])
            live[child] = result.obj
            op.metrics.applies.labels(kind=obj["kind"], created=str(result.created)).inc()
            if result.created and child in before:
                repaired.append(f"{what} was deleted; created again")
            elif result.created:
                created.append(what)
            elif child in drifted and (changes := differences(obj, drifted[child])):
                repaired.append(f"{what}: {'; '.join(changes)}")
            if result.created:
                if obj["kind"] == "Job":
                    await _prune_old_migrations(op, ps, obj["metadata"]["name"])
                if (obj["kind"], obj["metadata"]["name"]) == ("Deployment", child_name(ps, API)):
                    live[("Deployment", child_name(ps, API))] = await _start_at_min(
                        op, ps, result.obj
                    )
    if created:  # one Event per pass, not one per child: a first apply creates a dozen
        message = "Created " + ", ".join(created)
        await op.events.record(body, recorder.NORMAL, "Created", message)
    for message in repaired:
        await op.events.record(body, recorder.NORMAL, "DriftRepaired", message)
    return live, errors, migration


async def _backups(
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
        await op.events.record(body, recorder.NORMAL, "BackupRequested", message)
        previous["lastRequest"] = request
    backups, verifications = await asyncio.gather(
        op.kube.list(
            "batch/v1", "Job", ps.namespace, selector(selector_labels(ps, BACKUP_COMPONENT))
        ),
        op.kube.list(
            "batch/v1", "Job", ps.namespace, selector(selector_labels(ps, VERIFY_COMPONENT))
        ),
    )
    since = ((cronjob or body)["metadata"]).get("creationTimestamp", "")
    return assess(ps, cronjob, backups, verifications, previous, datetime.now(UTC), since)


async def _migration(op: Operator, ps: PhotoStorage, job: Obj | None) -> MigrationState:
    """The migration Job's state; its pods are read only once one has failed."""
    pods: list[Obj] = []
    if job is not None and (job.get("status") or {}).get("failed"):
        name = job["metadata"]["name"]
        pods = await op.kube.list("v1", "Pod", ps.namespace, f"job-name={name}")
    return migration_state(job, pods)


async def _serves_service_monitors(op: Operator) -> bool:
    """Whether the Prometheus Operator's CRDs are installed, asked at most once a minute."""
    checked_at, served = op.service_monitors
    if time.monotonic() - checked_at > DISCOVERY_INTERVAL:
        served = await op.kube.serves(SERVICE_MONITOR_API, "ServiceMonitor")
        op.service_monitors = (time.monotonic(), served)
    return served


def _replicas_patch(ps: PhotoStorage, replicas: int) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": child_name(ps, API), "namespace": ps.namespace},
        "spec": {"replicas": replicas},
    }


async def _hand_replicas_to_hpa(op: Operator, ps: PhotoStorage) -> None:
    """When autoscaling is switched on, the operator stops applying `replicas`. Were it the
    field's only owner, the apiserver would reset it to 1 until the HPA acts; a handover
    manager takes it over at its current value first (the documented SSA handover)."""
    name = child_name(ps, API)
    live = await op.kube.get("apps/v1", "Deployment", ps.namespace, name)
    if live is None or not applied_by(live, FIELD_MANAGER, "spec", "replicas"):
        return
    patch = _replicas_patch(ps, live["spec"]["replicas"])
    await op.kube.apply(patch, field_manager=HANDOVER_MANAGER, force=False)


async def _start_at_min(op: Operator, ps: PhotoStorage, created: Obj) -> Obj:
    """A new autoscaled API Deployment starts at one pod until the HPA's first sync; start
    it at minReplicas instead, under the handover manager so the HPA can take it over."""
    scaling = ps.spec.api.autoscaling
    if not scaling.enabled or created["spec"].get("replicas", 1) >= scaling.min_replicas:
        return created
    patch = _replicas_patch(ps, scaling.min_replicas)
    return (await op.kube.apply(patch, field_manager=HANDOVER_MANAGER, force=False)).obj


async def _quota_counted(op: Operator, ps: PhotoStorage, quota: Obj | None) -> None:
    """Pods are refused while a new ResourceQuota has no usage computed, and the ReplicaSet
    then backs off for seconds; so give the quota controller a moment first."""
    deadline = time.monotonic() + QUOTA_WAIT
    while quota is not None and time.monotonic() < deadline:
        if (quota.get("status") or {}).get("hard") == quota["spec"]["hard"]:
            return
        await asyncio.sleep(0.05)
        quota = await op.kube.get("v1", "ResourceQuota", ps.namespace, quota_name(ps))


async def _delete_unwanted(
    op: Operator, body: Obj, ps: PhotoStorage, key: Key, wanted: list[Obj]
) -> None:
    """Remove children a spec change switched off; once per generation is enough."""
    if op.pruned_generation.get(key) == ps.generation:
        return
    deleted = []
    for api_version, kind, name in unwanted(ps, wanted):
        found = await op.kube.get(api_version, kind, ps.namespace, name)
        owners = (found or {}).get("metadata", {}).get("ownerReferences") or []
        if not any(o.get("uid") == ps.uid and o.get("controller") for o in owners):
            continue  # absent, or someone else's object of the same name
        if await op.kube.delete(api_version, kind, ps.namespace, name):
            deleted.append(f"{kind} {name}")
    if deleted:
        message = "Deleted " + ", ".join(deleted) + " (switched off in the spec)"
        await op.events.record(body, recorder.NORMAL, "Deleted", message)
    op.pruned_generation[key] = ps.generation


async def _prune_old_migrations(op: Operator, ps: PhotoStorage, current: str) -> None:
    jobs = await op.kube.list(
        "batch/v1", "Job", ps.namespace, selector(selector_labels(ps, MIGRATION_COMPONENT))
    )
    for job in jobs:
        if job["metadata"]["name"] != current:
            await op.kube.delete("batch/v1", "Job", ps.namespace, job["metadata"]["name"])


async def _assess(
    op: Operator, ps: PhotoStorage, deployment: Obj | None, component: str
) -> WorkloadHealth:
    """Health of a Deployment; its pods are listed only when the rollout is not done."""
    health = assess_deployment(deployment)
    if deployment is None or health.complete or health.problem_reason:
        return health
    pods = await op.kube.list("v1", "Pod", ps.namespace, selector(selector_labels(ps, component)))
    return assess_deployment(deployment, pods)


async def _write_status(op: Operator, key: Key, body: Obj, status: Obj) -> None:
    """Patch status only when it changed, and post Events for conditions that flipped."""
    previous = body.get("status") or {}
    if all(previous.get(k) == v for k, v in status.items()):
        return
    live = await op.kube.patch_status(PS_API_VERSION, KIND, key[0], key[1], status)
    op.status_versions[key] = live["metadata"]["resourceVersion"]
    for condition in conditions.flipped(previous.get("conditions") or [], status["conditions"]):
        if condition["type"] == conditions.DEGRADED and condition["status"] == "True":
            await op.events.record(
                body, recorder.WARNING, condition["reason"], condition["message"]
            )
        elif condition["type"] == conditions.READY and condition["status"] == "True":
            await op.events.record(body, recorder.NORMAL, "Ready", condition["message"])
        elif condition["type"] == REPLICAS_IGNORED and condition["status"] == "True":
            await op.events.record(
                body, recorder.WARNING, condition["reason"], condition["message"]
            )
        elif condition["type"] in (BACKUP_HEALTHY, BACKUP_VERIFIED):
            kind = recorder.NORMAL if condition["status"] == "True" else recorder.WARNING
            await op.events.record(body, kind, condition["reason"], condition["message"])
