"""NetworkPolicies after the guide's security groups: the API takes 8080 from the ingress
namespace or label only, metrics ports open to Prometheus only when monitoring is on, and
every other inbound connection to the instance's pods is denied."""

from __future__ import annotations

from photostore.operator.builders import api, processor
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
    if ps.spec.monitoring.enabled:
        sources.append(_namespace_peer(ps.spec.monitoring.namespace))
    rule = {"from": sources, "ports": _port(api.PORT)}
    return _policy(ps, "api-ingress", selector_labels(ps, api.COMPONENT), [rule])


def build_processor_metrics_policy(ps: PhotoStorage) -> Obj:
    rule = {"from": [_namespace_peer(ps.spec.monitoring.namespace)], "ports": _port(processor.PORT)}
    return _policy(ps, "processor-metrics", selector_labels(ps, processor.COMPONENT), [rule])


def build_network_policies(ps: PhotoStorage) -> list[Obj]:
    policies = [build_default_deny(ps), build_api_ingress_policy(ps)]
    if ps.spec.monitoring.enabled:
        policies.append(build_processor_metrics_policy(ps))
    return policies
