"""Level-based reconcile of one PhotoStorage: read it, build the children, apply them,
read their health, write status. Called by the work queue, never directly by kopf."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from photostore.operator import conditions, recorder
from photostore.operator.builders import build_children, unwanted
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import child_name, selector_labels
from photostore.operator.builders.jobs import BACKUP_COMPONENT, MIGRATION_COMPONENT
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.health import WorkloadHealth, assess_deployment
from photostore.operator.kube import ApiError, KubeClient, Obj
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.spec import GROUP, KIND, VERSION, PhotoStorage, parse
from photostore.operator.workqueue import Key

logger = logging.getLogger(__name__)

PS_API_VERSION = f"{GROUP}/{VERSION}"
RESYNC_READY = 300.0  # watch events do the real work; this only catches missed ones
RESYNC_NOT_READY = 10.0  # pods turning unschedulable or crash-looping emit no event we watch
FIRST_WAVE = {"ResourceQuota", "LimitRange", "NetworkPolicy", "ConfigMap"}


@dataclass
class Operator:
    """Process-wide state, created at startup and kept in kopf's memo."""

    kube: KubeClient
    metrics: OperatorMetrics
    status_versions: dict[Key, str] = field(default_factory=dict)
    pruned_generation: dict[Key, int] = field(default_factory=dict)

    def forget(self, key: Key) -> None:
        self.status_versions.pop(key, None)
        self.pruned_generation.pop(key, None)


def selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


async def reconcile(op: Operator, key: Key) -> float | None:
    """Reconcile and time it; returns when to look again (None once the object is gone)."""
    started = time.monotonic()
    try:
        again = await _reconcile(op, key)
    except Exception as error:
        op.metrics.reconciles.labels(result="error").inc()
        op.metrics.errors.labels(error=type(error).__name__).inc()
        raise
    finally:
        op.metrics.duration.observe(time.monotonic() - started)
    op.metrics.reconciles.labels(result="ok").inc()
    return again


async def _reconcile(op: Operator, key: Key) -> float | None:
    namespace, name = key
    body = await op.kube.get(PS_API_VERSION, KIND, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        op.forget(key)
        return None  # the garbage collector removes the children through owner references
    try:
        ps = parse(body)
    except ValidationError as error:  # the schema should make this impossible; say so loudly
        await recorder.record(op.kube, body, recorder.WARNING, "InvalidSpec", str(error))
        return None
    wanted = build_children(ps)
    live, errors = await _apply_children(op, body, ps, wanted)
    await _delete_unwanted(op, ps, key, wanted)
    api = await _assess(op, ps, live.get(("Deployment", child_name(ps, API))), API)
    processor = await _assess(
        op, ps, live.get(("Deployment", child_name(ps, PROCESSOR))), PROCESSOR
    )
    cronjob = live.get(("CronJob", child_name(ps, BACKUP_COMPONENT)))
    status = _status(body, ps, api, processor, cronjob, errors)
    await _write_status(op, key, body, status)
    ready = not errors and api.complete and processor.complete
    return RESYNC_READY if ready else RESYNC_NOT_READY


async def _apply_children(
    op: Operator, body: Obj, ps: PhotoStorage, wanted: list[Obj]
) -> tuple[dict[tuple[str, str], Obj], list[str]]:
    """Apply every child, guard rails and config first; return live objects and errors."""
    waves = [
        [o for o in wanted if o["kind"] in FIRST_WAVE],
        [o for o in wanted if o["kind"] not in FIRST_WAVE],
    ]
    live: dict[tuple[str, str], Obj] = {}
    errors: list[str] = []
    for wave in waves:
        results = await asyncio.gather(*(op.kube.apply(o) for o in wave), return_exceptions=True)
        for obj, result in zip(wave, results, strict=True):
            what = f"{obj['kind']} {obj['metadata']['name']}"
            if isinstance(result, ApiError):
                errors.append(f"{what}: {result.message}")
                await recorder.record(op.kube, body, recorder.WARNING, "ApplyFailed", errors[-1])
                continue
            if isinstance(result, BaseException):
                raise result
            live[(obj["kind"], obj["metadata"]["name"])] = result.obj
            op.metrics.applies.labels(kind=obj["kind"], created=str(result.created)).inc()
            if result.created:
                await recorder.record(op.kube, body, recorder.NORMAL, "Created", f"Created {what}")
                if obj["kind"] == "Job":
                    await _prune_old_migrations(op, ps, obj["metadata"]["name"])
    return live, errors


async def _delete_unwanted(op: Operator, ps: PhotoStorage, key: Key, wanted: list[Obj]) -> None:
    """Remove children a spec change switched off; once per generation is enough."""
    if op.pruned_generation.get(key) == ps.generation:
        return
    for api_version, kind, name in unwanted(ps, wanted):
        if await op.kube.delete(api_version, kind, ps.namespace, name):
            logger.info("deleted %s %s/%s, no longer wanted", kind, ps.namespace, name)
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


def _workload_status(ps: PhotoStorage, health: WorkloadHealth, component: str) -> Obj:
    return {
        "replicas": health.replicas,
        "readyReplicas": health.ready,
        "updatedReplicas": health.updated,
        "availableReplicas": health.available,
        "selector": selector(selector_labels(ps, component)),
        "summary": health.summary,
    }


def _status(
    body: Obj,
    ps: PhotoStorage,
    api: WorkloadHealth,
    processor: WorkloadHealth,
    cronjob: Obj | None,
    errors: list[str],
) -> Obj:
    previous = (body.get("status") or {}).get("conditions") or []
    found = conditions.findings(api, processor, errors)
    status: dict[str, Any] = {
        "observedGeneration": ps.generation,
        "conditions": conditions.settle(previous, found, ps.generation, recorder.now_rfc3339()),
        "api": _workload_status(ps, api, API),
        "processor": _workload_status(ps, processor, PROCESSOR),
    }
    cron_status = (cronjob or {}).get("status") or {}
    backup = {
        "lastScheduleTime": cron_status.get("lastScheduleTime"),
        "lastSuccessfulTime": cron_status.get("lastSuccessfulTime"),
    }
    status["backup"] = {k: v for k, v in backup.items() if v}
    return status


async def _write_status(op: Operator, key: Key, body: Obj, status: Obj) -> None:
    """Patch status only when it changed, and post Events for conditions that flipped."""
    previous = body.get("status") or {}
    if all(previous.get(k) == v for k, v in status.items()):
        return
    live = await op.kube.patch_status(PS_API_VERSION, KIND, key[0], key[1], status)
    op.status_versions[key] = live["metadata"]["resourceVersion"]
    for condition in conditions.flipped(previous.get("conditions") or [], status["conditions"]):
        if condition["type"] == conditions.DEGRADED and condition["status"] == "True":
            await recorder.record(
                op.kube, body, recorder.WARNING, condition["reason"], condition["message"]
            )
        elif condition["type"] == conditions.READY and condition["status"] == "True":
            await recorder.record(op.kube, body, recorder.NORMAL, "Ready", condition["message"])
