"""Names, labels, owner references and images shared by every builder."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from photostore.operator.spec import GROUP, KIND, VERSION, ImageRef, PhotoStorage

APP = "photostore"
MANAGED_BY = "photostore-operator"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"

Obj = dict[str, Any]


def child_name(ps: PhotoStorage, suffix: str) -> str:
    return f"{ps.name}-{suffix}"


def selector_labels(ps: PhotoStorage, component: str) -> dict[str, str]:
    """Labels that pick one component's pods; immutable in a Deployment, so kept minimal."""
    return {
        "app.kubernetes.io/name": APP,
        INSTANCE_LABEL: ps.name,
        COMPONENT_LABEL: component,
    }


def labels(ps: PhotoStorage, component: str) -> dict[str, str]:
    return {
        **selector_labels(ps, component),
        MANAGED_BY_LABEL: MANAGED_BY,
        "app.kubernetes.io/part-of": APP,
        "app.kubernetes.io/version": ps.spec.version,
    }


def owner_reference(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "name": ps.name,
        "uid": ps.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(ps: PhotoStorage, name: str, component: str) -> Obj:
    return {
        "name": name,
        "namespace": ps.namespace,
        "labels": labels(ps, component),
        "ownerReferences": [owner_reference(ps)],
    }


def image(ps: PhotoStorage, ref: ImageRef) -> str:
    return f"{ref.repository}:{ref.tag or ps.spec.version}"


def digest(value: Any) -> str:
    """Short stable hash of JSON-able data (pod template annotations, Job names)."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:10]


def resources(requests: dict[str, Any], limits: dict[str, Any]) -> Obj:
    return {
        "requests": {k: str(v) for k, v in requests.items()},
        "limits": {k: str(v) for k, v in limits.items()},
    }


RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
