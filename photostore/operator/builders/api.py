"""The photo HTTP API: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget."""

from __future__ import annotations

from photostore.operator.builders import config
from photostore.operator.builders.common import (
    RESTRICTED_CONTAINER,
    Obj,
    child_name,
    digest,
    image,
    labels,
    metadata,
    resources,
    selector_labels,
)
from photostore.operator.spec import PhotoStorage

COMPONENT = "api"
PORT = 8080
SERVICE_PORT_NAME = "http"  # the Service's port 80, which the Ingress names
CONFIG_HASH_ANNOTATION = "photos.example.com/config-hash"


def api_name(ps: PhotoStorage) -> str:
    return child_name(ps, COMPONENT)


def _probe(path: str, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _container(ps: PhotoStorage) -> Obj:
    api = ps.spec.api
    return {
        "name": COMPONENT,
        "image": image(ps, ps.spec.images.api),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["python", "-m", "photostore", "api"],
        "ports": [
            {"name": "http", "containerPort": PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": config.METRICS_PORT, "protocol": "TCP"},
        ],
        "envFrom": config.env_from(ps),
        "env": config.secret_env(ps) + config.replica_env(ps),
        "resources": resources(
            api.resources.requests.model_dump(), api.resources.limits.model_dump()
        ),
        "startupProbe": _probe("/health", 2, 30),
        "livenessProbe": _probe("/health", 10, 3),
        "readinessProbe": _probe("/ready", 5, 3),
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - read-only root fs,
    }


def pod_template(ps: PhotoStorage, component: str, container: Obj) -> Obj:
    """Pod template shared by API and processor; the config hash rolls pods on a change."""
    annotations = {CONFIG_HASH_ANNOTATION: digest(config.settings(ps))}
    if ps.spec.monitoring.enabled:
        annotations["prometheus.io/scrape"] = "true"
        annotations["prometheus.io/port"] = str(config.METRICS_PORT)
    return {
        "metadata": {"labels": labels(ps, component), "annotations": annotations},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector_labels(ps, component)},
                }
            ],
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def build_api_deployment(ps: PhotoStorage) -> Obj:
    """With autoscaling on, `replicas` is left out so the HPA alone owns the field."""
    api = ps.spec.api
    deployment_spec: Obj = {
        "selector": {"matchLabels": selector_labels(ps, COMPONENT)},
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": api.progress_deadline_seconds,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {
                "maxSurge": api.rolling_update.max_surge,
                "maxUnavailable": api.rolling_update.max_unavailable,
            },
        },
        "template": pod_template(ps, COMPONENT, _container(ps)),
    }
    if not api.autoscaling.enabled:
        deployment_spec = {"replicas": api.replicas, **deployment_spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(ps, api_name(ps), COMPONENT),
        "spec": deployment_spec,
    }


def build_api_service(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(ps, api_name(ps), COMPONENT),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(ps, COMPONENT),
            "ports": [
                {"name": SERVICE_PORT_NAME, "port": 80, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def build_api_hpa(ps: PhotoStorage) -> Obj:
    scaling = ps.spec.api.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(ps, api_name(ps), COMPONENT),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": api_name(ps)},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def build_pdb(ps: PhotoStorage, component: str) -> Obj:
    """One pod of a component may be evicted at a time; rollouts are bounded separately."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(ps, child_name(ps, component), component),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(ps, component)},
        },
    }


def build_api_pdb(ps: PhotoStorage) -> Obj:
    return build_pdb(ps, COMPONENT)
