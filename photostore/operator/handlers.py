"""kopf handlers: thin. Events only say which PhotoStorage to look at; the work queue and
`reconcile` do the rest. Child objects are watched too, so a deleted or edited child is
put back within a second instead of at the next resync."""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Any

import kopf

from photostore.operator.builders.common import MANAGED_BY, MANAGED_BY_LABEL
from photostore.operator.kube import KubeClient
from photostore.operator.metrics import OperatorMetrics, serve
from photostore.operator.reconcile import Operator, reconcile
from photostore.operator.spec import GROUP, KIND, PLURAL, VERSION
from photostore.operator.workqueue import WorkQueue

METRICS_PORT_ENV = "PHOTOSTORE_OPERATOR_METRICS_PORT"
WORKERS_ENV = "PHOTOSTORE_OPERATOR_WORKERS"
PEERING_NAME = "photostore-operator"

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
    settings.peering.name = PEERING_NAME  # used unless started with --standalone
    settings.peering.priority = int(os.environ.get("PHOTOSTORE_OPERATOR_PRIORITY", "0"))
    settings.posting.level = logging.WARNING  # our own Events say what happened
    settings.batching.batch_window = 0.05
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    configure(settings)
    operator = Operator(kube=KubeClient(), metrics=OperatorMetrics())
    memo.operator = operator
    memo.queue = WorkQueue(
        partial(reconcile, operator), workers=int(os.environ.get(WORKERS_ENV, "8"))
    )
    memo.queue.start()
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
    if event["type"] == "DELETED":
        memo.queue.forget(key)
        memo.operator.forget(key)
    elif meta.get("resourceVersion") != memo.operator.status_versions.get(key):
        memo.queue.add(key)  # our own status write needs no second look


def child_event(namespace: str | None, meta: kopf.Meta, memo: Any, **_: Any) -> None:
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == KIND and str(owner.get("apiVersion", "")).startswith(GROUP):
            memo.queue.add((namespace or "", owner["name"]))


for _group, _version, _plural in CHILD_RESOURCES:
    kopf.on.event(
        _group, _version, _plural, id=f"child-{_plural}", labels={MANAGED_BY_LABEL: MANAGED_BY}
    )(child_event)
