"""Applying the children of one PhotoStorage: wave by wave (guard rails and config, the
rest, then the Deployments once their schema migration succeeded), with the HPA handover,
DriftRepaired Events and the pruning of what a spec change switched off."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from photostore.operator import reasons, recorder
from photostore.operator.builders import build_children, unwanted
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import COMPONENT_LABEL, child_name, selector_labels
from photostore.operator.builders.jobs import (
    BACKUP_COMPONENT,
    MIGRATION_COMPONENT,
    migration_name,
)
from photostore.operator.builders.monitoring import SERVICE_MONITOR_API
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.builders.quota import quota_name
from photostore.operator.children import AFTER_MIGRATION, WORKLOADS, wave_of
from photostore.operator.drift import differences
from photostore.operator.health import (
    WorkloadHealth,
    assess_deployment,
)
from photostore.operator.kube import FIELD_MANAGER, ApiError, ApplyResult, Obj, applied_by
from photostore.operator.migration import MigrationState, migration_state
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import Applied, Operator, fingerprint
from photostore.operator.status import selector, selector_any_of, split_by_component
from photostore.operator.workqueue import Key

QUOTA_WAIT = 3.0
DISCOVERY_INTERVAL = 60.0
HANDOVER_MANAGER = "photostore-operator-handover"


@dataclass(frozen=True)
class AppliedChildren:
    """What `apply_children` found."""

    live: dict[tuple[str, str], Obj]
    errors: list[str]
    migration: MigrationState | None
    created_only: bool  # it applied some children, and made every one of them


async def full_pass(
    op: Operator,
    key: Key,
    body: Obj,
    ps: PhotoStorage,
    desired: int | None,
    migrated: Obj | None = None,
) -> tuple[dict[tuple[str, str], Obj], list[str], MigrationState | None]:
    """Apply the children. With `migrated` (the migration Job the last pass stopped at, now
    succeeded, nothing else changed since) only the waves it held back are applied: the
    others are as that pass left them, or drift would have asked for a whole pass."""
    monitors = ps.spec.monitoring.enabled and await serves_service_monitors(op)
    wanted = build_children(ps, lag_replicas=desired, service_monitors=monitors)
    if ps.spec.api.autoscaling.enabled and op.spec_changed(key, ps.generation):
        await hand_replicas_to_hpa(op, ps)
    known: dict[tuple[str, str], Obj] = {}
    if migrated is not None:
        known = await read_workloads(op, ps)
        known[("Job", migrated["metadata"]["name"])] = migrated
        wanted = [o for o in wanted if wave_of(o["kind"]) >= AFTER_MIGRATION]
    op.begin_pass(key)
    try:
        applied = await apply_children(op, key, body, ps, wanted, known)
        live, errors, migration = applied.live, applied.errors, applied.migration
        # A PhotoStorage whose spec never changed, and none of whose children was there
        # before this pass, has nothing switched off to look for.
        fresh = ps.generation == 1 and applied.created_only
        await delete_unwanted(op, body, ps, key, wanted, fresh=fresh)
        if fresh:  # the Deployments a migration holds back are not there either
            for obj in wanted:
                child = (obj["kind"], obj["metadata"]["name"])
                if obj["kind"] == "Deployment" and child not in live:
                    op.note_absent(key, *child)
    except BaseException:
        op.end_pass(key, finished=False)  # the retry is a full pass anyway
        raise
    fingerprints = {child: fingerprint(obj) for child, obj in live.items()}
    if migrated is not None and key in op.applied:
        fingerprints = {**op.applied[key].children, **fingerprints}
    op.applied[key] = Applied(ps.generation, fingerprints, errors, desired, migration)
    drifted = op.end_pass(key, finished=True)
    for obj in drifted:
        op.note_drift(key, obj)
    if drifted:
        op.revisit(key)
    if migration is not None and not migration.done:
        live.update(await read_workloads(op, ps))  # the pods that keep running, for status
    return live, errors, migration


async def read_workloads(op: Operator, ps: PhotoStorage) -> dict[tuple[str, str], Obj]:
    """The children that status is made of: as the watch last showed them, or read when the
    watch has not shown them yet."""
    wanted = [
        ("apps/v1", "Deployment", child_name(ps, API)),
        ("apps/v1", "Deployment", child_name(ps, PROCESSOR)),
        ("batch/v1", "CronJob", child_name(ps, BACKUP_COMPONENT)),
    ]
    found = await asyncio.gather(*(kept_or_read(op, ps, *ref) for ref in wanted))
    return {(k, n): obj for (_, k, n), obj in zip(wanted, found, strict=True) if obj is not None}


async def kept_or_read(
    op: Operator, ps: PhotoStorage, api_version: str, kind: str, name: str
) -> Obj | None:
    key = (ps.namespace, ps.name)
    if op.knows_child(key, kind, name):
        return op.kept_child(key, kind, name)
    obj = await op.kube.get(api_version, kind, ps.namespace, name)
    if obj is not None:
        op.keep_child(key, obj)
    return obj


async def apply_children(
    op: Operator,
    key: Key,
    body: Obj,
    ps: PhotoStorage,
    wanted: list[Obj],
    known: dict[tuple[str, str], Obj] | None = None,
) -> AppliedChildren:
    """Apply every child wave by wave: guard rails and config first, then the rest only once
    they are all in place, and the Deployments only once their schema migration succeeded.
    Return live objects, errors and the migration's state. Repairs of what someone changed
    are reported."""
    before = op.applied[key].children if key in op.applied else {}
    drifted = op.drifted.pop(key, {})
    repaired: list[str] = []
    numbers = sorted({wave_of(o["kind"]) for o in wanted})
    live: dict[tuple[str, str], Obj] = dict(known or {})  # children not applied this time
    errors: list[str] = []
    created: list[str] = []
    applied_count = existing_count = 0
    migration: MigrationState | None = None
    for number in numbers:
        wave = [o for o in wanted if wave_of(o["kind"]) == number]
        if number == WORKLOADS:
            if errors:
                # No workload before its guard rails: GPU pods admitted without the quota
                # would run beyond it. The failure is reported and the next pass retries.
                break
            await quota_counted(op, ps, live.get(("ResourceQuota", quota_name(ps))))
        if number == AFTER_MIGRATION:
            migration = await migration_gate(op, ps, live.get(("Job", migration_name(ps))))
            if errors or not migration.done:
                break
        results = await asyncio.gather(*(apply(op, key, o) for o in wave), return_exceptions=True)
        for obj, result in zip(wave, results, strict=True):
            what = f"{obj['kind']} {obj['metadata']['name']}"
            if isinstance(result, ApiError):
                errors.append(f"{what}: {result.message}")
                await op.events.record(body, recorder.WARNING, reasons.APPLY_FAILED, errors[-1])
                continue
            if isinstance(result, BaseException):
                raise result
            child = (obj["kind"], obj["metadata"]["name"])
            live[child] = result.obj
            op.metrics.applies.labels(kind=obj["kind"], created=str(result.created)).inc()
            applied_count += 1
            existing_count += not result.created
            if result.created and child in before:
                repaired.append(f"{what} was deleted; created again")
            elif result.created:
                created.append(what)
            elif child in drifted and (changes := differences(obj, drifted[child])):
                repaired.append(f"{what}: {'; '.join(changes)}")
            if result.created:
                # Older migration Jobs are looked for unless every child so far was new to
                # a PhotoStorage never changed: one made just now has none.
                if obj["kind"] == "Job" and (ps.generation > 1 or existing_count):
                    await prune_old_migrations(op, ps, obj["metadata"]["name"])
                if (obj["kind"], obj["metadata"]["name"]) == ("Deployment", child_name(ps, API)):
                    live[("Deployment", child_name(ps, API))] = await start_at_min(
                        op, ps, result.obj
                    )
                    op.note_applied(key, live[("Deployment", child_name(ps, API))])
                    op.keep_child(key, live[("Deployment", child_name(ps, API))])
    if created:  # one Event per pass, not one per child: a first apply creates a dozen
        message = "Created " + ", ".join(created)
        await op.events.record(body, recorder.NORMAL, reasons.CREATED, message)
    for message in repaired:
        await op.events.record(body, recorder.NORMAL, reasons.DRIFT_REPAIRED, message)
    return AppliedChildren(live, errors, migration, applied_count > 0 and not existing_count)


async def apply(op: Operator, key: Key, obj: Obj) -> ApplyResult:
    """Apply one child and note what came back at once: the watch shows it to the operator
    again, maybe before the rest of its wave is applied, and that is not drift."""
    result = await op.kube.apply(obj)
    op.note_applied(key, result.obj)
    op.keep_child(key, result.obj)
    return result


async def migration_job(op: Operator, ps: PhotoStorage) -> Obj | None:
    """The migration Job of the current pod template, if it is there: as the watch last showed
    it, else listed by its labels (the operator's role has no `get` on Jobs, and needs none
    elsewhere)."""
    name = migration_name(ps)
    job = op.kept_child((ps.namespace, ps.name), "Job", name)
    if job is not None:
        return job
    jobs = await op.kube.list(
        "batch/v1", "Job", ps.namespace, selector(selector_labels(ps, MIGRATION_COMPONENT))
    )
    return next((job for job in jobs if job["metadata"]["name"] == name), None)


async def migration_gate(op: Operator, ps: PhotoStorage, job: Obj | None) -> MigrationState:
    """The migration Job's state; its pods are read only once one has failed."""
    pods: list[Obj] = []
    if job is not None and (job.get("status") or {}).get("failed"):
        name = job["metadata"]["name"]
        pods = await op.kube.list("v1", "Pod", ps.namespace, f"job-name={name}")
    return migration_state(job, pods)


async def serves_service_monitors(op: Operator) -> bool:
    """Whether the Prometheus Operator's CRDs are installed, asked at most once a minute."""
    checked_at, served = op.service_monitors
    if time.monotonic() - checked_at > DISCOVERY_INTERVAL:
        served = await op.kube.serves(SERVICE_MONITOR_API, "ServiceMonitor")
        op.service_monitors = (time.monotonic(), served)
    return served


def replicas_patch(ps: PhotoStorage, replicas: int) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": child_name(ps, API), "namespace": ps.namespace},
        "spec": {"replicas": replicas},
    }


async def hand_replicas_to_hpa(op: Operator, ps: PhotoStorage) -> None:
    """When autoscaling is switched on, the operator stops applying `replicas`. Were it the
    field's only owner, the apiserver would reset it to 1 until the HPA acts; a handover
    manager takes it over at its current value first (the documented SSA handover)."""
    name = child_name(ps, API)
    live = await op.kube.get("apps/v1", "Deployment", ps.namespace, name)
    if live is None or not applied_by(live, FIELD_MANAGER, "spec", "replicas"):
        return
    patch = replicas_patch(ps, live["spec"]["replicas"])
    await op.kube.apply(patch, field_manager=HANDOVER_MANAGER, force=False)


async def start_at_min(op: Operator, ps: PhotoStorage, created: Obj) -> Obj:
    """A new autoscaled API Deployment starts at one pod until the HPA's first sync; start
    it at minReplicas instead, under the handover manager so the HPA can take it over."""
    scaling = ps.spec.api.autoscaling
    if not scaling.enabled or created["spec"].get("replicas", 1) >= scaling.min_replicas:
        return created
    patch = replicas_patch(ps, scaling.min_replicas)
    return (await op.kube.apply(patch, field_manager=HANDOVER_MANAGER, force=False)).obj


async def quota_counted(op: Operator, ps: PhotoStorage, quota: Obj | None) -> None:
    """Pods are refused while a new ResourceQuota has no usage computed, and the ReplicaSet
    then backs off for seconds; so give the quota controller a moment first."""
    deadline = time.monotonic() + QUOTA_WAIT
    while quota is not None and time.monotonic() < deadline:
        if (quota.get("status") or {}).get("hard") == quota["spec"]["hard"]:
            return
        await asyncio.sleep(0.05)
        quota = await op.kube.get("v1", "ResourceQuota", ps.namespace, quota_name(ps))


async def delete_unwanted(
    op: Operator, body: Obj, ps: PhotoStorage, key: Key, wanted: list[Obj], fresh: bool = False
) -> None:
    """Remove children a spec change switched off; once per generation is enough, and a
    `fresh` PhotoStorage (see `full_pass`) needs no look at all."""
    if op.pruned_generation.get(key) == ps.generation:
        return
    if fresh:
        op.pruned_generation[key] = ps.generation
        return
    refs = [
        ref
        for ref in unwanted(ps, wanted)
        if ref[1] != "ServiceMonitor" or await serves_service_monitors(op)
    ]
    found = await asyncio.gather(*(op.kube.get(v, k, ps.namespace, n) for v, k, n in refs))

    async def delete(api_version: str, kind: str, name: str, obj: Obj | None) -> str | None:
        owners = (obj or {}).get("metadata", {}).get("ownerReferences") or []
        if not any(o.get("uid") == ps.uid and o.get("controller") for o in owners):
            return None  # absent, or someone else's object of the same name
        if await op.kube.delete(api_version, kind, ps.namespace, name):
            return f"{kind} {name}"
        return None

    gone = await asyncio.gather(*(delete(*ref, obj) for ref, obj in zip(refs, found, strict=True)))
    deleted = [what for what in gone if what is not None]
    if deleted:
        message = "Deleted " + ", ".join(deleted) + " (switched off in the spec)"
        await op.events.record(body, recorder.NORMAL, reasons.DELETED, message)
    op.pruned_generation[key] = ps.generation


async def prune_old_migrations(op: Operator, ps: PhotoStorage, current: str) -> None:
    jobs = await op.kube.list(
        "batch/v1", "Job", ps.namespace, selector(selector_labels(ps, MIGRATION_COMPONENT))
    )
    for job in jobs:
        if job["metadata"]["name"] != current:
            await op.kube.delete("batch/v1", "Job", ps.namespace, job["metadata"]["name"])


async def assess_workloads(
    op: Operator, ps: PhotoStorage, live: dict[tuple[str, str], Obj]
) -> dict[str, WorkloadHealth]:
    """Health of the API and processor Deployments. Pods are read only for a rollout that is
    not done, and then in one list for both: a first rollout has both under way at once."""
    deployments = {c: live.get(("Deployment", child_name(ps, c))) for c in (API, PROCESSOR)}
    health = {c: assess_deployment(d) for c, d in deployments.items()}
    pending = [
        c
        for c, h in health.items()
        if deployments[c] is not None and not h.complete and not h.problem_reason
    ]
    if not pending:
        return health
    labels = selector_labels(ps, pending[0])
    pods = await op.kube.list(
        "v1", "Pod", ps.namespace, selector_any_of(labels, COMPONENT_LABEL, pending)
    )
    for component, found in zip(pending, split_by_component(pods, *pending), strict=True):
        health[component] = assess_deployment(deployments[component], found)
    return health
