"""NetworkPolicies after the guide's security groups: the API takes 8080 from the ingress
namespace or label only, the metrics port (9090, API and processors) opens to Prometheus's
namespace only when monitoring is on, and every other inbound connection to the instance's
pods is denied."""

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

COMPONENT = "network"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _namespace_peer(namespace: str) -> Obj:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}


def _policy(ps: PhotoStorage, suffix: str, pods: dict[str, str], ingress: list[Obj]) -> Obj:
    spec: Obj = {"podSelector": {"matchLabels": pods}, "policyTypes": ["Ingress"]}
    if ingress:  # the apiserver drops an empty list, and applying it again is a change
        spec["ingress"] = ingress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(ps, child_name(ps, suffix), COMPONENT),
        "spec": spec,
    }


def _port(number: int) -> list[Obj]:
    return [{"protocol": "TCP", "port": number}]


def build_default_deny(ps: PhotoStorage) -> Obj:
    pods = {"app.kubernetes.io/name": APP, INSTANCE_LABEL: ps.name}
    return _policy(ps, "default-deny", pods, [])


def build_api_ingress_policy(ps: PhotoStorage) -> Obj:
    peers = ps.spec.api.ingress
    sources = [_namespace_peer(peers.namespace)]
    if peers.pod_labels:
        sources.append({"namespaceSelector": {}, "podSelector": {"matchLabels": peers.pod_labels}})
    rule = {"from": sources, "ports": _port(api.PORT)}
    return _policy(ps, "api-ingress", selector_labels(ps, api.COMPONENT), [rule])


def build_metrics_policy(ps: PhotoStorage, component: str) -> Obj:
    peer = _namespace_peer(ps.spec.monitoring.namespace)
    rule = {"from": [peer], "ports": _port(config.METRICS_PORT)}
    return _policy(ps, f"{component}-metrics", selector_labels(ps, component), [rule])


def build_network_policies(ps: PhotoStorage) -> list[Obj]:
    policies = [build_default_deny(ps), build_api_ingress_policy(ps)]
    if ps.spec.monitoring.enabled:
        policies += [build_metrics_policy(ps, c) for c in (api.COMPONENT, processor.COMPONENT)]
    return policies
