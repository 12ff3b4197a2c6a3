"""Prometheus Operator objects for `monitoring.enabled`, applied when its CRDs exist:
a ServiceMonitor over the instance's metrics Services, and the headless Services that
expose the API's and the processors' metrics port (never the API's public port)."""

from __future__ import annotations

from photostore.operator.builders import api, config, processor
from photostore.operator.builders.common import (
    APP,
    INSTANCE_LABEL,
    Obj,
    child_name,
    metadata,
    selector_labels,
)
from photostore.operator.spec import PhotoStorage

COMPONENT = "monitoring"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1"


def metrics_service_name(ps: PhotoStorage, component: str) -> str:
    return child_name(ps, f"{component}-metrics")


def build_metrics_service(ps: PhotoStorage, component: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(ps, metrics_service_name(ps, component), component),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(ps, component),
            "ports": [{"name": "metrics", "port": config.METRICS_PORT, "targetPort": "metrics"}],
        },
    }


def build_metrics_services(ps: PhotoStorage) -> list[Obj]:
    return [build_metrics_service(ps, c) for c in (api.COMPONENT, processor.COMPONENT)]


def build_service_monitor(ps: PhotoStorage) -> Obj:
    """Its endpoint matches the metrics Services of the API and the processors."""
    return {
        "apiVersion": SERVICE_MONITOR_API,
        "kind": "ServiceMonitor",
        "metadata": metadata(ps, ps.name, COMPONENT),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": APP, INSTANCE_LABEL: ps.name}},
            "namespaceSelector": {"matchNames": [ps.namespace]},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }
