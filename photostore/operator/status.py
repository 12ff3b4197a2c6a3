"""The PhotoStorage status, assembled in one place from what the reconcilers found. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from photostore.operator import conditions
from photostore.operator.backups import BackupReport
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import COMPONENT_LABEL, selector_labels
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.health import WorkloadHealth
from photostore.operator.migration import MigrationState
from photostore.operator.scaling import LagReading, ScaleDecision
from photostore.operator.spec import PhotoStorage

Obj = dict[str, Any]


@dataclass(frozen=True)
class Observed:
    api: WorkloadHealth
    processor: WorkloadHealth
    backup: BackupReport | None = None
    errors: list[str] = field(default_factory=list)
    migration: MigrationState | None = None
    lag: LagReading | None = None
    scaling: ScaleDecision | None = None
    extra: list[conditions.Finding] = field(default_factory=list)  # e.g. KafkaTopicReady

    @property
    def ready(self) -> bool:
        migrated = self.migration is None or self.migration.done
        return not self.errors and migrated and self.api.complete and self.processor.complete


def selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def selector_any_of(labels: dict[str, str], key: str, values: list[str]) -> str:
    """`labels` with `key` set-based: one list that returns what len(values) lists would."""
    terms = [f"{k}={v}" for k, v in labels.items() if k != key]
    return ",".join([*terms, f"{key} in ({','.join(values)})"])


def split_by_component(objs: list[Obj], *components: str) -> list[list[Obj]]:
    """`objs` grouped by their component label, one list per component asked for."""
    found = [obj["metadata"].get("labels", {}).get(COMPONENT_LABEL) for obj in objs]
    return [[obj for obj, c in zip(objs, found, strict=True) if c == want] for want in components]


def _workload(ps: PhotoStorage, health: WorkloadHealth, component: str) -> Obj:
    return {
        "replicas": health.replicas,
        "readyReplicas": health.ready,
        "updatedReplicas": health.updated,
        "availableReplicas": health.available,
        "selector": selector(selector_labels(ps, component)),
        "summary": health.summary,
    }


def build_status(
    ps: PhotoStorage, previous_conditions: list[Obj], observed: Observed, now: str
) -> Obj:
    found = conditions.findings(
        observed.api, observed.processor, observed.errors, observed.migration
    )
    found += observed.extra
    if observed.backup is not None:
        found += observed.backup.findings
    processor = _workload(ps, observed.processor, PROCESSOR)
    if observed.lag is not None:
        processor["lag"] = observed.lag.lag
        processor["partitions"] = observed.lag.partitions
    if observed.scaling is not None:
        processor["desiredReplicas"] = observed.scaling.replicas
        processor["limitedBy"] = observed.scaling.limited_by
        processor["scalingMessage"] = observed.scaling.message
    return {
        "observedGeneration": ps.generation,
        "conditions": conditions.settle(previous_conditions, found, ps.generation, now),
        "api": _workload(ps, observed.api, API),
        "processor": processor,
        "backup": observed.backup.status if observed.backup is not None else {},
    }
