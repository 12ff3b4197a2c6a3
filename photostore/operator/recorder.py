"""Kubernetes Events about a PhotoStorage: what the operator did and what failed.

Repeats are aggregated as the kubelet does: the same Event (object, type, reason, message)
posted again within AGGREGATION_WINDOW of its last time raises the first one's count and
lastTimestamp instead of adding another object, so a broken PhotoStorage shows one
`ApplyFailed` with a count, not one per retry.
"""

from __future__ import annotations

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


@dataclass
class Recorder:
    """Posts Events; one per operator process, kept in its state."""

    kube: KubeClient
    _posted: OrderedDict[EventKey, _Posted] = field(default_factory=OrderedDict)

    async def record(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        """Post an Event or count a repeat; a failure is logged, never raised (it must not
        stop a reconcile)."""
        key = (involved["metadata"]["uid"], type_, reason, message[:1024])
        now = now_rfc3339()
        try:
            posted = self._posted.get(key)
            recent = posted is not None and time.monotonic() - posted.at < AGGREGATION_WINDOW
            if posted is not None and recent and await self._count_again(involved, posted, now):
                self._posted.move_to_end(key)
                return
            event = await self.kube.create(build_event(involved, type_, reason, message, now))
        except (ApiError, OSError) as error:
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
