"""monitoring.enabled: metrics ports opened to Prometheus, and a ServiceMonitor once the
Prometheus Operator's CRD is served."""

from __future__ import annotations

from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "kind": "ServiceMonitor",
            "plural": "servicemonitors",
            "listKind": "ServiceMonitorList",
            "singular": "servicemonitor",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def test_monitoring_adds_a_service_monitor_and_removes_it_when_off(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    crd = "crd/servicemonitors.monitoring.coreos.com"
    if cluster.run("get", crd, check=False).returncode != 0:  # a real one is never replaced
        cluster.apply(SERVICE_MONITOR_CRD)
    cluster.run("wait", "--for=condition=Established", "--timeout=60s", crd)

    cluster.apply(photostorage(NAME, small_spec(monitoring={"enabled": True})), namespace)
    monitor = wait_for(
        "the ServiceMonitor", lambda: cluster.get("servicemonitor", NAME, namespace), timeout=90
    )
    ports = [e["port"] for e in monitor["spec"]["endpoints"]]
    assert ports == ["metrics"]
    for component in ("api", "processor"):
        service = cluster.get("service", f"photos-{component}-metrics", namespace)
        assert service is not None and service["spec"]["clusterIP"] == "None"
        assert service["spec"]["ports"][0]["port"] == 9090
        policy = cluster.get("networkpolicy", f"photos-{component}-metrics", namespace)
        assert policy is not None

    cluster.apply(photostorage(NAME, small_spec(monitoring={"enabled": False})), namespace)
    wait_for(
        "the ServiceMonitor deleted",
        lambda: cluster.get("servicemonitor", NAME, namespace) is None,
        timeout=30,
    )
    assert cluster.get("service", "photos-processor-metrics", namespace) is None
    assert cluster.get("service", "photos-api-metrics", namespace) is None
