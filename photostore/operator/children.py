"""Every kind of object the operator reads or writes, in one registry.

The REST paths (`kube.PLURALS`), the child kinds kopf watches, the apply waves, the demo's
listing and the operator's RBAC (`rbac`) are all derived from here, so a kind added to the
code without its permission, or a permission the code never uses, shows up in one test.
"""

from __future__ import annotations

from dataclasses import dataclass

from photostore.operator.spec import GROUP, KIND, PLURAL, VERSION

# Server-side apply creates an absent object and patches a present one.
APPLY = frozenset({"create", "patch"})
# Workloads wait for the wave before them: GPU pods admitted before their namespace's
# ResourceQuota would run beyond it.
GUARD_RAILS_AND_CONFIG = 0
WORKLOADS = 1
# Pods that need the schema wait for the migration Job of their template (`migration`).
AFTER_MIGRATION = 2


@dataclass(frozen=True)
class Kind:
    """A kind the operator touches, and the verbs its code uses on it."""

    api_version: str
    kind: str
    plural: str
    verbs: frozenset[str]
    wave: int | None = None  # children only: when it is applied
    watched: bool = False  # kopf watches it, so drift is repaired from its events
    optional: bool = False  # served only when another project's CRD is installed

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def rbac_verbs(self) -> frozenset[str]:
        """The verbs plus what kopf needs to watch it."""
        return self.verbs | ({"list", "watch"} if self.watched else frozenset())


def _child(api_version: str, kind: str, plural: str, *extra: str, wave: int) -> Kind:
    return Kind(api_version, kind, plural, APPLY | set(extra), wave=wave, watched=True)


CHILDREN: tuple[Kind, ...] = (
    _child("v1", "ResourceQuota", "resourcequotas", "get", "delete", wave=GUARD_RAILS_AND_CONFIG),
    _child("v1", "LimitRange", "limitranges", "get", "delete", wave=GUARD_RAILS_AND_CONFIG),
    _child(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        "get",
        "delete",
        wave=GUARD_RAILS_AND_CONFIG,
    ),
    _child("v1", "ConfigMap", "configmaps", wave=GUARD_RAILS_AND_CONFIG),
    _child("batch/v1", "Job", "jobs", "list", "delete", wave=WORKLOADS),
    _child("apps/v1", "Deployment", "deployments", "get", wave=AFTER_MIGRATION),
    _child("v1", "Service", "services", "get", "delete", wave=WORKLOADS),
    _child("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", wave=WORKLOADS),
    _child(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "get",
        "delete",
        wave=WORKLOADS,
    ),
    _child("batch/v1", "CronJob", "cronjobs", "get", "delete", wave=WORKLOADS),
    _child("networking.k8s.io/v1", "Ingress", "ingresses", "get", "delete", wave=WORKLOADS),
    # Applied only when served; not watched (a drifted ServiceMonitor waits for the resync).
    Kind(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "servicemonitors",
        APPLY | {"get", "delete"},
        wave=WORKLOADS,
        optional=True,
    ),
)

# patch: the finalizer of kafka.deletionPolicy Delete
PHOTOSTORAGE = Kind(
    f"{GROUP}/{VERSION}", KIND, PLURAL, frozenset({"get", "list", "patch"}), watched=True
)
# Read or written, never owned: pods are read to tell a crash loop from a slow rollout.
OTHERS: tuple[Kind, ...] = (
    PHOTOSTORAGE,
    Kind("v1", "Pod", "pods", frozenset({"list"})),
    # get: the storage Secret's keys, to make the bucket and apply its lifecycle
    Kind("v1", "Secret", "secrets", frozenset({"get"})),
    Kind("v1", "Event", "events", frozenset({"create", "patch"})),  # patch: counts repeats
)
ALL: tuple[Kind, ...] = CHILDREN + OTHERS
STATUS_VERBS = frozenset({"patch"})  # photostorages/status, by merge patch

PLURALS = {k.kind: k.plural for k in ALL}
WATCHED_CHILDREN = tuple(k for k in CHILDREN if k.watched)


def wave_of(kind: str) -> int:
    return next(k.wave for k in CHILDREN if k.kind == kind and k.wave is not None)
