"""Kubernetes Events about a PhotoStorage: what the operator did and what failed.

Repeats are aggregated as the kubelet does: the same Event (object, type, reason, message)
posted again within AGGREGATION_WINDOW of its last time raises the first one's count and
lastTimestamp instead of adding another object, so a broken PhotoStorage shows one
`ApplyFailed` with a count, not one per retry.

Once started, the Recorder posts in the background, as client-go's event broadcaster does:
a reconcile hands its Events over and goes on, rather than holding its worker for one more
round trip per Event (a new PhotoStorage gets about five). The queues are bounded; when the
apiserver cannot keep up, further Events are dropped and logged, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from photostore.operator.kube import FIELD_MANAGER, ApiError, KubeClient, Obj

logger = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
AGGREGATION_WINDOW = 600.0  # seconds, as the kubelet's event correlator
REMEMBERED = 4096  # distinct Events kept for aggregation; the oldest are forgotten first
POSTERS = 8  # Events posted at once
QUEUED = 1000  # Events waiting to be posted per poster, at most
DRAIN_SECONDS = 5.0  # on stop, how long the Events still queued may take to go out

EventKey = tuple[str, str, str, str]  # involved uid, type, reason, message


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(involved: Obj, type_: str, reason: str, message: str, now: str) -> Obj:
    meta = involved["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": FIELD_MANAGER},
        "reportingComponent": FIELD_MANAGER,
        "reportingInstance": os.environ.get("HOSTNAME", FIELD_MANAGER),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


@dataclass
class _Posted:
    name: str
    count: int
    at: float


Queued = tuple[Obj, str, str, str]  # involved object (its reference), type, reason, message


def reference(involved: Obj) -> Obj:
    """What an Event needs of the object it is about: a queued Event keeps only this."""
    meta = involved["metadata"]
    return {
        "apiVersion": involved["apiVersion"],
        "kind": involved["kind"],
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid")},
    }


@dataclass
class Recorder:
    """Posts Events; one per operator process, kept in its state. Until `start`, and after
    `stop`, `record` posts before it returns.

    Started, it posts through POSTERS queues at once, each object's Events always through
    the same one: in order, and counted up without two posts of one Event racing."""

    kube: KubeClient
    _posted: OrderedDict[EventKey, _Posted] = field(default_factory=OrderedDict)
    _queues: list[asyncio.Queue[Queued]] = field(default_factory=list)
    _posters: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._queues = [asyncio.Queue(maxsize=QUEUED) for _ in range(POSTERS)]
        self._posters = [asyncio.create_task(self._post_queued(q)) for q in self._queues]

    async def stop(self) -> None:
        """Post what is queued (for up to DRAIN_SECONDS), then post inline again."""
        queues, posters, self._queues, self._posters = self._queues, self._posters, [], []
        if not queues:
            return
        drained = asyncio.gather(*(q.join() for q in queues))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained, DRAIN_SECONDS)
        for poster in posters:
            poster.cancel()
        await asyncio.gather(*posters, return_exceptions=True)

    async def record(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        """Post an Event or count a repeat; a failure is logged, never raised (it must not
        stop a reconcile)."""
        if not self._queues:
            await self._post(involved, type_, reason, message)
            return
        queue = self._queues[hash(involved["metadata"]["uid"]) % len(self._queues)]
        try:
            queue.put_nowait((reference(involved), type_, reason, message))
        except asyncio.QueueFull:
            logger.warning("event %s dropped: %d events wait to be posted", reason, QUEUED)

    async def _post_queued(self, queue: asyncio.Queue[Queued]) -> None:
        while True:
            event = await queue.get()
            try:
                await self._post(*event)
            except Exception:  # the poster must outlive any one Event
                logger.exception("could not post event %s", event[2])
            finally:
                queue.task_done()

    async def _post(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        key = (involved["metadata"]["uid"], type_, reason, message[:1024])
        now = now_rfc3339()
        try:
            posted = self._posted.get(key)
            recent = posted is not None and time.monotonic() - posted.at < AGGREGATION_WINDOW
            if posted is not None and recent and await self._count_again(involved, posted, now):
                self._posted.move_to_end(key)
                return
            event = await self.kube.create(build_event(involved, type_, reason, message, now))
        except (ApiError, OSError, TimeoutError) as error:
            logger.warning("could not post event %s: %s", reason, error)
            return
        self._posted[key] = _Posted(event["metadata"]["name"], 1, time.monotonic())
        self._posted.move_to_end(key)
        while len(self._posted) > REMEMBERED:
            self._posted.popitem(last=False)

    async def _count_again(self, involved: Obj, posted: _Posted, now: str) -> bool:
        """Raise the count of an Event posted before; False if it is gone (expired)."""
        patch = {"count": posted.count + 1, "lastTimestamp": now}
        try:
            await self.kube.patch(
                "v1", "Event", involved["metadata"]["namespace"], posted.name, patch
            )
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        posted.count += 1
        posted.at = time.monotonic()
        return True
