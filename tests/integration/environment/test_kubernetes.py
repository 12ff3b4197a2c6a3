"""The local control plane is a real Kubernetes: scheduling, quotas and CEL validation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


@pytest.fixture(scope="module")
def api(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"env-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)


def pod(name: str, resources: dict[str, str] | None = None, gpu_toleration: bool = False) -> dict:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "registry.local/none:1",
                "resources": {"requests": resources or {}, "limits": resources or {}},
            }
        ],
    }
    if gpu_toleration:
        spec["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_deployment_pods_become_running_on_kwok_nodes(
    api: client.ApiClient, namespace: str
) -> None:
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)
    labels = {"app": "smoke"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "smoke"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": "registry.local/none:1"}]},
                },
            },
        },
    )
    deployment = eventually(
        lambda: (
            (d := apps.read_namespaced_deployment("smoke", namespace)).status.ready_replicas == 3
            and d
        ),
        what="3 ready replicas",
    )
    assert deployment.status.available_replicas == 3
    pods = core.list_namespaced_pod(namespace, label_selector="app=smoke").items
    assert len(pods) == 3
    assert {p.status.phase for p in pods} == {"Running"}
    assert all(p.spec.node_name.startswith("kwok-") for p in pods)


def test_gpu_pods_land_only_on_gpu_nodes(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    for i in range(4):
        core.create_namespaced_pod(
            namespace, pod(f"gpu-{i}", {"nvidia.com/gpu": "1"}, gpu_toleration=True)
        )
    # A pod that tolerates the taint but asks for no GPU may go anywhere; one that asks for a
    # GPU without the toleration can go nowhere.
    core.create_namespaced_pod(namespace, pod("gpu-untolerated", {"nvidia.com/gpu": "1"}))

    def scheduled() -> list[Any]:
        pods = core.list_namespaced_pod(namespace).items
        placed = [p for p in pods if p.metadata.name.startswith("gpu-") and p.spec.node_name]
        return placed if len(placed) == 4 else []

    placed = eventually(scheduled, what="4 GPU pods scheduled")
    nodes = {n.metadata.name: n for n in core.list_node().items}
    for p in placed:
        node = nodes[p.spec.node_name]
        assert node.metadata.labels.get("accelerator") == "nvidia-tesla-t4", p.spec.node_name
        assert p.metadata.name != "gpu-untolerated"

    def unschedulable_reason() -> str:
        status = core.read_namespaced_pod("gpu-untolerated", namespace).status
        for condition in status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False":
                return str(condition.message)
        return ""

    message = eventually(unschedulable_reason, what="the untolerated GPU pod to be unschedulable")
    assert "nvidia.com/gpu" in message


def test_gpu_resource_quota_rejects_pod_over_quota(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_resource_quota(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "gpu"},
            "spec": {"hard": {"requests.nvidia.com/gpu": "1"}},
        },
    )
    # The quota controller must have computed usage before admission enforces it.
    eventually(
        lambda: core.read_namespaced_resource_quota("gpu", namespace).status.used is not None,
        what="quota status",
    )
    with pytest.raises(ApiException) as rejected:
        core.create_namespaced_pod(
            namespace, pod("too-many-gpus", {"nvidia.com/gpu": "2"}, gpu_toleration=True)
        )
    assert rejected.value.status == 403
    assert "exceeded quota: gpu" in rejected.value.body
    assert "requests.nvidia.com/gpu=2" in rejected.value.body


def test_crd_cel_rule_rejects_bad_object(api: client.ApiClient, namespace: str) -> None:
    ext = client.ApiextensionsV1Api(api)
    group = f"{uuid.uuid4().hex[:8]}.smoke.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"ranges.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "ranges", "singular": "range", "kind": "Range"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "min": {"type": "integer"},
                                        "max": {"type": "integer"},
                                    },
                                    "x-kubernetes-validations": [
                                        {
                                            "rule": "self.min <= self.max",
                                            "message": "min must not exceed max",
                                        }
                                    ],
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    ext.create_custom_resource_definition(crd)
    try:
        custom = client.CustomObjectsApi(api)

        def established() -> bool:
            conditions = ext.read_custom_resource_definition(f"ranges.{group}").status.conditions
            return any(c.type == "Established" and c.status == "True" for c in conditions or [])

        eventually(established, what="CRD established")

        def body(name: str, low: int, high: int) -> dict[str, Any]:
            return {
                "apiVersion": f"{group}/v1",
                "kind": "Range",
                "metadata": {"name": name},
                "spec": {"min": low, "max": high},
            }

        created = custom.create_namespaced_custom_object(
            group, "v1", namespace, "ranges", body("good", 1, 2)
        )
        assert created["spec"] == {"min": 1, "max": 2}
        with pytest.raises(ApiException) as rejected:
            custom.create_namespaced_custom_object(
                group, "v1", namespace, "ranges", body("bad", 5, 2)
            )
        assert rejected.value.status == 422
        assert "min must not exceed max" in rejected.value.body
    finally:
        ext.delete_custom_resource_definition(f"ranges.{group}")
