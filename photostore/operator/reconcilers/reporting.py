"""Writing one PhotoStorage's status, and an Event for each condition worth one."""

from __future__ import annotations

from photostore.operator import conditions, reasons, recorder
from photostore.operator.api_scaling import REPLICAS_IGNORED
from photostore.operator.backups import BACKUP_HEALTHY, BACKUP_VERIFIED
from photostore.operator.children import PHOTOSTORAGE
from photostore.operator.kube import Obj
from photostore.operator.spec import KIND
from photostore.operator.state import Operator
from photostore.operator.workqueue import Key


async def write_status(op: Operator, key: Key, body: Obj, status: Obj) -> None:
    """Patch status only when it changed, and post Events for conditions that flipped."""
    previous = body.get("status") or {}
    if all(previous.get(k) == v for k, v in status.items()):
        return
    op.unkeep_photostorage(key)
    live = await op.kube.patch_status(
        PHOTOSTORAGE.api_version,
        KIND,
        key[0],
        key[1],
        status,
        resource_version=body["metadata"].get("resourceVersion"),
    )
    op.status_versions[key] = live["metadata"]["resourceVersion"]
    for condition in conditions.flipped(previous.get("conditions") or [], status["conditions"]):
        if condition["type"] == conditions.DEGRADED and condition["status"] == "True":
            await op.events.record(
                body, recorder.WARNING, condition["reason"], condition["message"]
            )
        elif condition["type"] == conditions.READY and condition["status"] == "True":
            await op.events.record(body, recorder.NORMAL, reasons.READY, condition["message"])
        elif condition["type"] == REPLICAS_IGNORED and condition["status"] == "True":
            await op.events.record(
                body, recorder.WARNING, condition["reason"], condition["message"]
            )
        elif condition["type"] in (BACKUP_HEALTHY, BACKUP_VERIFIED, reasons.KAFKA_TOPIC_READY):
            kind = recorder.NORMAL if condition["status"] == "True" else recorder.WARNING
            await op.events.record(body, kind, condition["reason"], condition["message"])
