"""Namespace guard rails: a ResourceQuota (cpu, memory, GPUs, PVCs) and a LimitRange."""

from __future__ import annotations

from photostore.operator.builders.common import Obj, child_name, metadata
from photostore.operator.spec import PhotoStorage

COMPONENT = "guardrails"
GPU_QUOTA_KEY = "requests.nvidia.com/gpu"
# Containers that state nothing (Jobs, sidecars) still fit a quota that counts limits.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "1", "memory": "1Gi"}


def quota_name(ps: PhotoStorage) -> str:
    return child_name(ps, "quota")


def build_resource_quota(ps: PhotoStorage) -> Obj:
    quota = ps.spec.quota
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": metadata(ps, quota_name(ps), COMPONENT),
        "spec": {
            "hard": {
                "requests.cpu": str(quota.requests.cpu),
                "requests.memory": str(quota.requests.memory),
                "limits.cpu": str(quota.limits.cpu),
                "limits.memory": str(quota.limits.memory),
                GPU_QUOTA_KEY: str(quota.gpus),
                "persistentvolumeclaims": str(quota.persistent_volume_claims),
            }
        },
    }


def build_limit_range(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata(ps, child_name(ps, "limits"), COMPONENT),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": DEFAULT_REQUEST,
                    "default": DEFAULT_LIMIT,
                }
            ]
        },
    }
