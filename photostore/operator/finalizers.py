"""The operator's finalizer on a PhotoStorage: present exactly while deleting the
PhotoStorage must first delete something outside Kubernetes (its Kafka topics, with
`kafka.deletionPolicy: Delete`). Pure."""

from __future__ import annotations

from typing import Any

from photostore.operator.spec import GROUP, PhotoStorage

TOPICS_FINALIZER = f"{GROUP}/kafka-topics"


def wants_topic_finalizer(ps: PhotoStorage) -> bool:
    kafka = ps.spec.kafka
    return kafka.manage_topic and kafka.deletion_policy == "Delete"


def finalizer_patch(body: dict[str, Any], present: bool) -> dict[str, Any] | None:
    """The merge patch that adds or removes the finalizer, None when it is as wanted. The
    resourceVersion makes the apiserver refuse it if another writer changed the list."""
    meta = body["metadata"]
    finalizers: list[str] = list(meta.get("finalizers") or [])
    if (TOPICS_FINALIZER in finalizers) == present:
        return None
    if present:
        finalizers.append(TOPICS_FINALIZER)
    else:
        finalizers.remove(TOPICS_FINALIZER)
    return {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
