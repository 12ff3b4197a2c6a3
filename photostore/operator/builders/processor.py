"""The GPU image processor: Deployment on the T4 pool and its PodDisruptionBudget."""

from __future__ import annotations

from photostore.operator.builders import config
from photostore.operator.builders.api import build_pdb, pod_template
from photostore.operator.builders.common import (
    RESTRICTED_CONTAINER,
    Obj,
    child_name,
    image,
    metadata,
    resources,
    selector_labels,
)
from photostore.operator.spec import PhotoStorage

COMPONENT = "processor"
GPU_RESOURCE = "nvidia.com/gpu"
ACCELERATOR_LABEL = "accelerator"


def processor_name(ps: PhotoStorage) -> str:
    return child_name(ps, COMPONENT)


def _container(ps: PhotoStorage) -> Obj:
    proc = ps.spec.processor
    requests: dict[str, int | str] = dict(proc.resources.requests.model_dump())
    limits: dict[str, int | str] = dict(proc.resources.limits.model_dump())
    if proc.gpu.enabled:
        requests[GPU_RESOURCE] = proc.gpu.per_pod
        limits[GPU_RESOURCE] = proc.gpu.per_pod

    # /health fails only when the consumer loop stopped (restart it); /ready also while a
    # batch cannot be stored, S3 or PostgreSQL down (take it out of rotation, keep it alive).
    def probe(path: str) -> Obj:
        return {"httpGet": {"path": path, "port": "metrics"}, "timeoutSeconds": 2}

    return {
        "name": COMPONENT,
        "image": image(ps, ps.spec.images.processor),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["python", "-m", "photostore", "processor"],
        "ports": [{"name": "metrics", "containerPort": config.METRICS_PORT, "protocol": "TCP"}],
        "envFrom": config.env_from(ps),
        "env": [
            {"name": "PHOTOSTORE_PROCESSOR_DEVICE", "value": "gpu" if proc.gpu.enabled else "cpu"},
            *config.secret_env(ps),
        ],
        "resources": resources(requests, limits),
        "livenessProbe": {**probe("/health"), "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**probe("/ready"), "periodSeconds": 5, "failureThreshold": 3},
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - read-only root fs,
    }


def processor_replicas(ps: PhotoStorage, lag_replicas: int | None) -> int:
    """spec.processor.replicas, unless scaling by lag: then the count the lag asked for,
    or, before any reading, spec.processor.replicas kept within min..max."""
    proc = ps.spec.processor
    if not proc.autoscaling.enabled:
        return proc.replicas
    if lag_replicas is not None:
        return lag_replicas
    return max(proc.autoscaling.min_replicas, min(proc.autoscaling.max_replicas, proc.replicas))


def build_processor_deployment(ps: PhotoStorage, lag_replicas: int | None = None) -> Obj:
    """`lag_replicas`: what the consumer lag asks for, when scaling by lag."""
    proc = ps.spec.processor
    template = pod_template(ps, COMPONENT, _container(ps))
    if proc.gpu.enabled:
        template["spec"]["nodeSelector"] = {ACCELERATOR_LABEL: proc.gpu.node_type}
        template["spec"]["tolerations"] = [
            {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ps, processor_name(ps), COMPONENT),
        "spec": {
            "replicas": processor_replicas(ps, lag_replicas),
            "selector": {"matchLabels": selector_labels(ps, COMPONENT)},
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": proc.progress_deadline_seconds,
            # A GPU is freed only when its pod goes: surging would need spare GPUs.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
            },
            "template": template,
        },
    }


def build_processor_pdb(ps: PhotoStorage) -> Obj:
    return build_pdb(ps, COMPONENT)
