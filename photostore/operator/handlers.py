"""kopf handlers: thin. Events only say which PhotoStorage to look at; the work queue and
`reconcile` do the rest. Child objects are watched too, so a deleted or edited child is
put back within a second instead of at the next resync.

While kopf's peering pauses this process (another replica is active), no events reach these
handlers; only retries and resyncs of keys queued before the pause can still run. Such a
pass reads its PhotoStorage from the apiserver, not as the paused watch last showed it, and
server-side apply under the one field manager makes it harmless.

The event handlers are coroutines: kopf runs a plain function in a thread of its executor,
and these touch the work queue and the operator's state, which belong to the event loop
(and a thread hop per event of a dozen watched kinds costs more CPU than the handler)."""

from __future__ import annotations

import logging
import random
from functools import partial
from typing import Any, cast

import kopf

from photostore.operator.children import WATCHED_CHILDREN
from photostore.operator.kube import KubeClient, Obj
from photostore.operator.login import load_login
from photostore.operator.metrics import OperatorMetrics, serve
from photostore.operator.reconcile import reconcile
from photostore.operator.selection import parse_selector, selects
from photostore.operator.settings import OperatorSettings
from photostore.operator.spec import GROUP, PLURAL, VERSION
from photostore.operator.state import Operator, kept
from photostore.operator.workqueue import WorkQueue

PEERING_NAME = "photostore-operator"
DEFAULT_PEERING = "default"  # kopf's name when none is given


def configure(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    """All of kopf's settings in one place."""
    if settings.peering.name == DEFAULT_PEERING:  # not chosen with --peering
        settings.peering.name = PEERING_NAME  # used unless started with --standalone
    # Replicas of one Deployment cannot be told apart, and kopf lets peers of equal priority
    # all run; a random priority makes exactly one of them the active one.
    if ours.priority:
        settings.peering.priority = ours.priority
    elif not settings.peering.priority:  # not chosen with --priority
        settings.peering.priority = random.randint(1, 2**30)
    settings.posting.level = logging.WARNING  # our own Events say what happened
    settings.batching.batch_window = 0.05
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # Every child event runs a handler; a log line each would drown what matters.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """The operator's one login (see `login`), handed to kopf. kopf calls this again after a
    401, which is how it picks up a rotated ServiceAccount token."""
    found = load_login()
    return kopf.ConnectionInfo(
        server=found.server,
        ca_path=found.ca_path,
        insecure=found.insecure,
        token=found.token(),
        certificate_path=found.certificate_path,
        private_key_path=found.private_key_path,
        default_namespace=found.namespace,
    )


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    ours = OperatorSettings()
    configure(settings, ours)
    operator = Operator(
        kube=KubeClient(load_login(ours)),
        metrics=OperatorMetrics(),
        selector=parse_selector(ours.selector),
    )
    if not await operator.kube.allowed("list", "namespaces"):
        # A namespaced install (Roles only): kopf would retry listing namespaces and CRDs
        # across the cluster for about 45 s before it fell back to the namespaces it was
        # given, and only then start watching.
        settings.scanning.disabled = True
    memo.operator = operator
    operator.events.start()
    memo.queue = WorkQueue(
        partial(reconcile, operator), workers=ours.workers, on_timer=operator.unkeep_photostorage
    )
    memo.queue.start()
    operator.notify = lambda key: memo.queue.add(key, full=False)
    operator.revisit = lambda key: memo.queue.add(key, full=True)
    operator.metrics.queue_depth.set_function(lambda: len(memo.queue))
    port = ours.metrics_port
    memo.metrics_server = serve(operator.metrics, port) if port else None


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await memo.queue.stop()
    await memo.operator.events.stop()
    await memo.operator.kube.close()
    if memo.metrics_server is not None:
        server, thread = memo.metrics_server
        server.shutdown()
        thread.join(timeout=5)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def photostorage_event(
    event: kopf.RawEvent, name: str, namespace: str | None, meta: kopf.Meta, memo: Any, **_: Any
) -> None:
    key = (namespace or "", name)
    operator: Operator = memo.operator
    gone = event["type"] == "DELETED" or bool(meta.get("deletionTimestamp"))
    operator.note_photostorage(key[0], name, gone)  # every one counts, ours or not
    if event["type"] == "DELETED" or not selects(operator.selector, meta.get("labels")):
        memo.queue.forget(key)  # gone, or no longer ours (another operator's labels)
        operator.forget(key)
        return
    operator.managed.add(key)
    operator.photostorages[key] = kept(cast(Obj, event["object"]))
    if meta.get("resourceVersion") != operator.status_versions.get(key):
        # our own status write needs no second look
        memo.queue.add(key, full=operator.spec_changed(key, meta.get("generation", 0)))


async def child_event(event: kopf.RawEvent, memo: Any, **_: Any) -> None:
    """A child changed: a full pass if it was deleted or drifted, else a status refresh if
    status is made of it (KEPT_KINDS) and it is not as the operator holds it already.
    Every pod that starts changes the status of the ResourceQuota and a
    PodDisruptionBudget, and no status pass reads those.

    Children are watched without a label filter: a child whose managed-by label or owner
    reference someone removed must still reach its PhotoStorage, to be repaired at once."""
    operator: Operator = memo.operator
    obj = event["object"]
    for key in operator.owners_of(obj):
        if operator.selector and key not in operator.managed:
            continue  # another operator's PhotoStorage
        deleted = event["type"] == "DELETED"
        news = operator.keep_child(key, obj, deleted=deleted)
        drifted = not deleted and operator.child_changed(key, obj)
        if drifted:
            operator.note_drift(key, obj)
        elif not (deleted or news):
            continue  # our own apply seen again, or a status that status is not made of
        memo.queue.add(key, full=deleted or drifted)


for _kind in WATCHED_CHILDREN:
    kopf.on.event(_kind.group, _kind.version, _kind.plural, id=f"child-{_kind.plural}")(child_event)
