"""One PhotoStorage per namespace.

A PhotoStorage's ResourceQuota counts every pod of its namespace, so two PhotoStorages in one
namespace would each count the other's GPU pods against their own quota and block each other.
The oldest one manages the namespace; any other is refused with `NamespaceAlreadyManaged`
and makes no children until the namespace is free again.
"""

from __future__ import annotations

from typing import Any

from photostore.operator import reasons
from photostore.operator.conditions import DEGRADED, PROGRESSING, READY, Finding

REASON = reasons.NAMESPACE_ALREADY_MANAGED


def manager_of(photostorages: list[dict[str, Any]]) -> str | None:
    """The name of the PhotoStorage that manages the namespace: the oldest that is not being
    deleted, the first by name among equals (creation times have one-second steps)."""
    alive = [p["metadata"] for p in photostorages if not p["metadata"].get("deletionTimestamp")]
    if not alive:
        return None
    oldest = min(alive, key=lambda m: (m.get("creationTimestamp") or "", m["name"]))
    name: str = oldest["name"]
    return name


def refused(namespace: str, manager: str) -> list[Finding]:
    message = (
        f"namespace {namespace} is already managed by PhotoStorage {manager}; a namespace "
        "holds one PhotoStorage, since its ResourceQuota covers every pod in the namespace. "
        "Move this one to a namespace of its own."
    )
    return [
        Finding(READY, False, REASON, message),
        Finding(PROGRESSING, False, REASON, message),
        Finding(DEGRADED, True, REASON, message),
    ]
