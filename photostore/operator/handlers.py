"""kopf handlers: thin. Events only say which PhotoStorage to look at; the work queue and
`reconcile` do the rest. Child objects are watched too, so a deleted or edited child is
put back within a second instead of at the next resync.

While kopf's peering pauses this process (another replica is active), no events reach these
handlers; only retries and resyncs of keys queued before the pause can still run, and
server-side apply under the one field manager makes such a pass harmless."""

from __future__ import annotations

import logging
import os
import random
from functools import partial
from typing import Any

import kopf

from photostore.operator.builders.common import MANAGED_BY, MANAGED_BY_LABEL
from photostore.operator.kube import KubeClient
from photostore.operator.metrics import OperatorMetrics, serve
from photostore.operator.reconcile import reconcile
from photostore.operator.spec import GROUP, KIND, PLURAL, VERSION
from photostore.operator.state import Operator
from photostore.operator.workqueue import WorkQueue

METRICS_PORT_ENV = "PHOTOSTORE_OPERATOR_METRICS_PORT"
WORKERS_ENV = "PHOTOSTORE_OPERATOR_WORKERS"
PEERING_NAME = "photostore-operator"
DEFAULT_PEERING = "default"  # kopf's name when none is given

CHILD_RESOURCES = [
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "configmaps"),
    ("", "v1", "resourcequotas"),
    ("", "v1", "limitranges"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("batch", "v1", "cronjobs"),
    ("batch", "v1", "jobs"),
]


def configure(settings: kopf.OperatorSettings) -> None:
    """All operator settings in one place."""
    if settings.peering.name == DEFAULT_PEERING:  # not chosen with --peering
        settings.peering.name = PEERING_NAME  # used unless started with --standalone
    # Replicas of one Deployment cannot be told apart, and kopf lets peers of equal priority
    # all run; a random priority makes exactly one of them the active one.
    priority = os.environ.get("PHOTOSTORE_OPERATOR_PRIORITY")
    if priority:
        settings.peering.priority = int(priority)
    elif not settings.peering.priority:  # not chosen with --priority
        settings.peering.priority = random.randint(1, 2**30)
    settings.posting.level = logging.WARNING  # our own Events say what happened
    settings.batching.batch_window = 0.05
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # Every child event runs a handler; a log line each would drown what matters.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """kopf's own readers, which look at KUBECONFIG when called, not when imported."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    configure(settings)
    operator = Operator(kube=KubeClient(), metrics=OperatorMetrics())
    memo.operator = operator
    memo.queue = WorkQueue(
        partial(reconcile, operator), workers=int(os.environ.get(WORKERS_ENV, "8"))
    )
    memo.queue.start()
    operator.notify = lambda key: memo.queue.add(key, full=False)
    operator.metrics.queue_depth.set_function(lambda: len(memo.queue))
    port = int(os.environ.get(METRICS_PORT_ENV, "8000"))
    memo.metrics_server = serve(operator.metrics, port) if port else None


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await memo.queue.stop()
    await memo.operator.kube.close()
    if memo.metrics_server is not None:
        server, thread = memo.metrics_server
        server.shutdown()
        thread.join(timeout=5)


@kopf.on.event(GROUP, VERSION, PLURAL)
def photostorage_event(
    event: kopf.RawEvent, name: str, namespace: str | None, meta: kopf.Meta, memo: Any, **_: Any
) -> None:
    key = (namespace or "", name)
    operator: Operator = memo.operator
    if event["type"] == "DELETED":
        memo.queue.forget(key)
        operator.forget(key)
    elif meta.get("resourceVersion") != operator.status_versions.get(key):
        # our own status write needs no second look
        memo.queue.add(key, full=operator.spec_changed(key, meta.get("generation", 0)))


def child_event(
    event: kopf.RawEvent, namespace: str | None, meta: kopf.Meta, memo: Any, **_: Any
) -> None:
    """A child changed: a full pass if it was deleted or drifted, else a status refresh."""
    operator: Operator = memo.operator
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == KIND and str(owner.get("apiVersion", "")).startswith(GROUP):
            key = (namespace or "", owner["name"])
            deleted = event["type"] == "DELETED"
            memo.queue.add(key, full=deleted or operator.child_changed(key, event["object"]))


for _group, _version, _plural in CHILD_RESOURCES:
    kopf.on.event(
        _group, _version, _plural, id=f"child-{_plural}", labels={MANAGED_BY_LABEL: MANAGED_BY}
    )(child_event)
