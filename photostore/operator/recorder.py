"""Kubernetes Events about a PhotoStorage: what the operator did and what failed."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from photostore.operator.kube import FIELD_MANAGER, ApiError, KubeClient, Obj

logger = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


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


async def record(kube: KubeClient, involved: Obj, type_: str, reason: str, message: str) -> None:
    """Post an Event; a failure to post is logged, never raised (it must not stop a reconcile)."""
    try:
        await kube.create(build_event(involved, type_, reason, message, now_rfc3339()))
    except (ApiError, OSError) as error:
        logger.warning("could not post event %s: %s", reason, error)
