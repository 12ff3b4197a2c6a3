"""Prometheus Operator objects for `monitoring.enabled`, applied when its CRDs exist:
a ServiceMonitor over the instance's Services, and a headless Service that exposes the
processors' metrics port (the API Service already exposes /metrics on `http`)."""

from __future__ import annotations

from photostore.operator.builders import processor
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


def processor_metrics_name(ps: PhotoStorage) -> str:
    return child_name(ps, "processor-metrics")


def build_processor_metrics_service(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(ps, processor_metrics_name(ps), processor.COMPONENT),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(ps, processor.COMPONENT),
            "ports": [{"name": "metrics", "port": processor.PORT, "targetPort": "metrics"}],
        },
    }


def build_service_monitor(ps: PhotoStorage) -> Obj:
    """Each endpoint matches the Services that name its port: `http` (API), `metrics`."""
    return {
        "apiVersion": SERVICE_MONITOR_API,
        "kind": "ServiceMonitor",
        "metadata": metadata(ps, ps.name, COMPONENT),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": APP, INSTANCE_LABEL: ps.name}},
            "namespaceSelector": {"matchNames": [ps.namespace]},
            "endpoints": [
                {"port": "http", "path": "/metrics", "interval": "30s"},
                {"port": "metrics", "path": "/metrics", "interval": "30s"},
            ],
        },
    }
