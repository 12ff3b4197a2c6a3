"""Status conditions after the Kubernetes API conventions. Pure functions.

`Ready`, `Progressing` and `Degraded` summarise; `ApiReady` and `ProcessorReady` say which
part is behind. `lastTransitionTime` moves only when a condition's status flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from photostore.operator import reasons
from photostore.operator.health import WorkloadHealth
from photostore.operator.migration import MigrationState

READY = reasons.READY
PROGRESSING = reasons.PROGRESSING
DEGRADED = reasons.DEGRADED
API_READY = reasons.API_READY
PROCESSOR_READY = reasons.PROCESSOR_READY


@dataclass(frozen=True)
class Finding:
    """One condition as this reconcile sees it, before transition times are settled."""

    type: str
    status: bool
    reason: str
    message: str


def _part(kind: str, health: WorkloadHealth) -> Finding:
    if health.complete:
        return Finding(kind, True, reasons.ROLLOUT_COMPLETE, health.message)
    return Finding(kind, False, health.problem_reason or reasons.ROLLING_OUT, health.message)


def _migrating(migration: MigrationState) -> WorkloadHealth:
    return WorkloadHealth(message=migration.message)


def findings(
    api: WorkloadHealth,
    processor: WorkloadHealth,
    apply_errors: list[str],
    migration: MigrationState | None = None,
) -> list[Finding]:
    """All conditions from the parts' health, any children that failed to apply and the
    schema migration the Deployments wait for."""
    parts = {"api": api, "processor": processor}
    problems: list[tuple[str, str]] = []
    if apply_errors:
        problems.append((reasons.APPLY_FAILED, "; ".join(apply_errors)))
    if migration is not None and migration.failed:
        problems.append((reasons.MIGRATION_FAILED, migration.message))
    for part, health in parts.items():
        if health.problem_reason:
            problems.append((health.problem_reason, f"{part}: {health.message}"))
    behind = [part for part, health in parts.items() if not health.complete]
    if migration is not None and not migration.done and not migration.failed:
        behind.insert(0, "migration")
        parts = {"migration": _migrating(migration), **parts}
    if not problems and not behind:
        ready = Finding(
            READY, True, reasons.ALL_COMPONENTS_READY, "API and processors are available"
        )
        progressing = Finding(
            PROGRESSING, False, reasons.ROLLOUT_COMPLETE, "Nothing left to roll out"
        )
    else:
        detail = "; ".join(f"{part}: {parts[part].message}" for part in behind)
        reason = problems[0][0] if problems else reasons.COMPONENTS_NOT_READY
        ready = Finding(READY, False, reason, problems[0][1] if problems else detail)
        if problems:
            progressing = Finding(PROGRESSING, False, reasons.ROLLOUT_STALLED, problems[0][1])
        else:
            progressing = Finding(PROGRESSING, True, reasons.ROLLING_OUT, detail)
    if problems:
        degraded = Finding(DEGRADED, True, problems[0][0], "; ".join(m for _, m in problems))
    else:
        degraded = Finding(DEGRADED, False, reasons.AS_EXPECTED, "No failures seen")
    return [
        ready,
        progressing,
        degraded,
        _part(API_READY, api),
        _part(PROCESSOR_READY, processor),
    ]


def settle(
    previous: list[dict[str, Any]],
    found: list[Finding],
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """Conditions to write: keep each previous lastTransitionTime unless the status flipped."""
    before = {c.get("type"): c for c in previous}
    settled = []
    for finding in found:
        status = "True" if finding.status else "False"
        old = before.get(finding.type)
        since = old["lastTransitionTime"] if old and old.get("status") == status else now
        settled.append(
            {
                "type": finding.type,
                "status": status,
                "reason": finding.reason,
                "message": finding.message[:4096],
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    return settled


def flipped(previous: list[dict[str, Any]], settled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conditions whose status or reason changed: worth an Event."""
    before = {(c.get("type"), c.get("status"), c.get("reason")) for c in previous}
    return [c for c in settled if (c["type"], c["status"], c["reason"]) not in before]
