"""What the operator remembers between reconciles (kept in kopf's memo via `Operator`).

Nothing here is needed for correctness after a restart: it only lets a child's status
change be answered with a status refresh instead of a full pass of applies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from photostore.operator.builders.common import digest
from photostore.operator.conditions import Finding
from photostore.operator.kube import KubeClient, Obj
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.migration import MigrationState
from photostore.operator.recorder import Recorder
from photostore.operator.scaling import LagReading, ScaleDecision
from photostore.operator.spec import GROUP, KIND
from photostore.operator.workqueue import Key


def fingerprint(obj: Mapping[str, Any]) -> str:
    """What a child looks like apart from its status: a change here is drift (or a spec
    change by another controller, such as the HPA), one in status is just news."""
    meta = obj.get("metadata") or {}
    shape = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    shape["labels"] = meta.get("labels")
    shape["owners"] = meta.get("ownerReferences")
    return digest(shape)


# The children that status is read from: the Deployments, the backup CronJob and the
# migration Job. Their latest state comes with every watch event, so it is kept rather than
# read again on each status pass.
KEPT_KINDS = frozenset({"Deployment", "CronJob", "Job"})


def kept(obj: Mapping[str, Any]) -> Obj:
    """An object as the operator keeps it: without its managedFields, which are large (most
    of a PhotoStorage's bytes once a few managers wrote it) and not read."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


@dataclass
class Applied:
    """What the last full pass over one PhotoStorage applied."""

    generation: int
    children: dict[tuple[str, str], str]  # (kind, name) -> fingerprint of the live object
    errors: list[str]
    processors: int | None = None  # replicas chosen from the consumer lag, if scaling by it
    migration: MigrationState | None = None  # of the Job the Deployments wait for

    @property
    def migrating(self) -> bool:
        """Deployments are held back: the next pass must look at the Job again."""
        return self.migration is not None and not self.migration.done


@dataclass
class BackgroundCheck:
    """The last (or running) check of something outside Kubernetes (`background`)."""

    version: Hashable
    started: float
    task: asyncio.Task[Finding] | None = None
    finding: Finding | None = None


@dataclass(frozen=True)
class KeptSecret:
    """The storage Secret of one PhotoStorage as last read (`bucket.storage_secret`)."""

    name: str
    read_at: float  # monotonic
    secret: Obj | None  # its data only; None: not found


@dataclass(frozen=True)
class KeptManager:
    """Who manages a namespace, from one list of its PhotoStorages (`reconcilers.namespace`)."""

    changes: int  # `Operator.photostorage_changes` of the namespace just before that list
    names: frozenset[str]  # the PhotoStorages it showed
    manager: str | None


@dataclass(frozen=True)
class KeptJobs:
    """The backup and verification Jobs of one PhotoStorage as last listed
    (`reconcilers.backup`)."""

    signature: str
    listed_at: float  # monotonic
    jobs: list[Obj]


def _ignore(key: Key) -> None:
    return None


@dataclass
class Operator:
    """Process-wide state, created at startup and kept in kopf's memo."""

    kube: KubeClient
    metrics: OperatorMetrics
    events: Recorder = field(init=False)
    status_versions: dict[Key, str] = field(default_factory=dict)
    # Each PhotoStorage as its watch last showed it: a pass reads it from here rather than
    # from the apiserver. Dropped when the operator writes one, until the watch shows it
    # again, and before a pass its timer queued (a retry, a look again): such a pass may run
    # while kopf's peering has paused the watches, and must not apply a spec it kept from
    # before. The operator's status writes carry the resourceVersion they were made from,
    # so one made from a body the watch had not yet replaced is refused (409) and made again.
    photostorages: dict[Key, Obj] = field(default_factory=dict)
    pruned_generation: dict[Key, int] = field(default_factory=dict)
    applied: dict[Key, Applied] = field(default_factory=dict)
    lag_readings: dict[Key, tuple[float, LagReading | None]] = field(default_factory=dict)
    scale_history: dict[Key, list[tuple[float, int]]] = field(default_factory=dict)
    scale_decisions: dict[Key, ScaleDecision] = field(default_factory=dict)
    service_monitors: tuple[float, bool] = (float("-inf"), False)  # (asked at, served)
    checks: dict[tuple[Key, str], BackgroundCheck] = field(default_factory=dict)
    secrets: dict[Key, KeptSecret] = field(default_factory=dict)
    backup_jobs: dict[Key, KeptJobs] = field(default_factory=dict)
    # Per namespace: PhotoStorage events that may have changed who is in it, counted; and
    # the manager found by the last list. One int and one name per namespace ever seen.
    photostorage_changes: dict[str, int] = field(default_factory=dict)
    managers: dict[str, KeptManager] = field(default_factory=dict)
    # Children as the applies of a full pass still under way returned them: the watch
    # shows each of our own writes back to us, and those are not drift.
    applying: dict[Key, dict[tuple[str, str], str]] = field(default_factory=dict)
    # Children the watch showed during a full pass before their own apply had answered
    # (the watch can be quicker than the response): judged once the pass is over.
    unconfirmed: dict[Key, dict[tuple[str, str], Obj]] = field(default_factory=dict)
    # Children seen changed by someone else since the last full pass, as they were seen.
    drifted: dict[Key, dict[tuple[str, str], Obj]] = field(default_factory=dict)
    # KEPT_KINDS children as the watch or the operator's own applies last showed them;
    # None: known not to be there (`note_absent`).
    children: dict[Key, dict[tuple[str, str], Obj | None]] = field(default_factory=dict)
    selector: dict[str, str] = field(default_factory=dict)  # labels of the ones it manages
    managed: set[Key] = field(default_factory=set)  # seen, and matching `selector`
    notify: Callable[[Key], None] = _ignore  # look at a key again (status only), set at startup
    revisit: Callable[[Key], None] = _ignore  # a full pass again (drift), set at startup

    def __post_init__(self) -> None:
        self.events = Recorder(self.kube)

    def unkeep_photostorage(self, key: Key) -> None:
        """The next pass over `key` reads it from the apiserver (unless the watch shows it
        first)."""
        self.photostorages.pop(key, None)

    def forget(self, key: Key) -> None:
        self.managed.discard(key)
        for check_key in [k for k in self.checks if k[0] == key]:
            check = self.checks.pop(check_key)
            if check.task is not None:
                check.task.cancel()
        self.lag_readings.pop(key, None)
        self.scale_history.pop(key, None)
        self.scale_decisions.pop(key, None)
        self.status_versions.pop(key, None)
        self.photostorages.pop(key, None)
        self.pruned_generation.pop(key, None)
        self.applied.pop(key, None)
        self.applying.pop(key, None)
        self.unconfirmed.pop(key, None)
        self.drifted.pop(key, None)
        self.children.pop(key, None)
        self.secrets.pop(key, None)
        self.backup_jobs.pop(key, None)

    def note_photostorage(self, namespace: str, name: str, gone: bool) -> None:
        """A PhotoStorage event. One that may add a PhotoStorage to its namespace or take
        one away makes the namespace's kept manager stale: its next pass lists again."""
        kept = self.managers.get(namespace)
        if gone or kept is None or name not in kept.names:
            self.photostorage_changes[namespace] = self.photostorage_changes.get(namespace, 0) + 1

    def keep_child(self, key: Key, obj: Mapping[str, Any], deleted: bool = False) -> bool:
        """Note the latest state of a child seen by the watch or returned by an apply; a
        child of a kind status is not read from is not kept. Returns whether it is news to
        status: a kept kind's child other than as kept (an apply's answer seen again through
        the watch is not)."""
        if obj.get("kind") not in KEPT_KINDS:
            return False
        child = (obj.get("kind", ""), obj.get("metadata", {}).get("name", ""))
        if deleted:
            self.children.get(key, {}).pop(child, None)
            return True
        held = self.children.get(key, {}).get(child)
        self.children.setdefault(key, {})[child] = kept(obj)
        version = obj.get("metadata", {}).get("resourceVersion")
        return held is None or held["metadata"].get("resourceVersion") != version

    def note_absent(self, key: Key, kind: str, name: str) -> None:
        """This child is not there, and only the operator makes it: its own apply, seen by
        the watch, is what will change that."""
        self.children.setdefault(key, {})[(kind, name)] = None

    def kept_child(self, key: Key, kind: str, name: str) -> Obj | None:
        return self.children.get(key, {}).get((kind, name))

    def knows_child(self, key: Key, kind: str, name: str) -> bool:
        """Is the child kept, or known to be absent?"""
        return (kind, name) in self.children.get(key, {})

    def owners_of(self, obj: Mapping[str, Any]) -> set[Key]:
        """The PhotoStorages a child belongs to: by its owner reference, and by what the last
        full passes applied, so that a child whose owner reference or labels someone removed
        is still recognised as ours and repaired at once."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        child = (obj.get("kind", ""), meta.get("name", ""))
        keys = {
            (namespace, ref["name"])
            for ref in meta.get("ownerReferences") or []
            if ref.get("kind") == KIND and str(ref.get("apiVersion", "")).startswith(GROUP)
        }
        keys.update(
            key for key, applied in self.applied.items()
            if key[0] == namespace and child in applied.children
        )  # fmt: skip
        return keys

    def note_drift(self, key: Key, obj: Mapping[str, Any]) -> None:
        child = (obj.get("kind", ""), obj.get("metadata", {}).get("name", ""))
        self.drifted.setdefault(key, {})[child] = dict(obj)

    def begin_pass(self, key: Key) -> None:
        """A full pass of applies starts: from now on its own writes are expected back."""
        self.applying[key] = {}
        self.unconfirmed.pop(key, None)

    def note_applied(self, key: Key, obj: Mapping[str, Any]) -> None:
        """A full pass just applied this child and the apiserver answered with `obj`."""
        child = (obj.get("kind", ""), obj.get("metadata", {}).get("name", ""))
        self.applying.setdefault(key, {})[child] = fingerprint(obj)

    def end_pass(self, key: Key, finished: bool) -> list[Obj]:
        """The pass is over, its `applied` recorded if it `finished`. Returns the children
        the watch showed during it that differ from what it left: drift after all."""
        self.applying.pop(key, None)
        seen = self.unconfirmed.pop(key, {})
        return [obj for obj in seen.values() if finished and self.child_changed(key, obj)]

    def child_changed(self, key: Key, obj: Mapping[str, Any]) -> bool:
        """Does this child differ from what the operator last applied (or is it unknown)?
        During a full pass, a child that is not as its apply answered (not answered yet, or
        applied twice) is judged when the pass is over (`end_pass`), not called changed now."""
        child = (obj.get("kind", ""), obj.get("metadata", {}).get("name", ""))
        seen = fingerprint(obj)
        in_flight = self.applying.get(key)
        if in_flight is not None:
            if in_flight.get(child) != seen:
                self.unconfirmed.setdefault(key, {})[child] = dict(obj)
            return False
        applied = self.applied.get(key)
        return applied is None or applied.children.get(child) != seen

    def spec_changed(self, key: Key, generation: int) -> bool:
        applied = self.applied.get(key)
        return applied is None or applied.generation != generation
