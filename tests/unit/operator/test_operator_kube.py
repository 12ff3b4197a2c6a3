from __future__ import annotations

from typing import Any

from photostore.operator.kube import applied_by, path


def managed(manager: str, operation: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "fieldsV1": fields}


def test_applied_by_finds_the_managers_field() -> None:
    obj = {
        "metadata": {
            "managedFields": [
                managed("kube-controller-manager", "Update", {"f:spec": {"f:replicas": {}}}),
                managed("photostore-operator", "Apply", {"f:spec": {"f:template": {}}}),
            ]
        }
    }
    assert not applied_by(obj, "photostore-operator", "spec", "replicas")
    assert applied_by(obj, "photostore-operator", "spec", "template")
    obj["metadata"]["managedFields"].append(
        managed("photostore-operator", "Apply", {"f:spec": {"f:replicas": {}}})
    )
    assert applied_by(obj, "photostore-operator", "spec", "replicas")
    assert not applied_by(obj, "kube-controller-manager", "spec", "replicas")  # an Update


def test_paths() -> None:
    assert path("v1", "ConfigMap", "team", "c") == "/api/v1/namespaces/team/configmaps/c"
    assert path("apps/v1", "Deployment", "team") == "/apis/apps/v1/namespaces/team/deployments"
    assert (
        path("photos.example.com/v1alpha1", "PhotoStorage", "t", "p")
        == "/apis/photos.example.com/v1alpha1/namespaces/t/photostorages/p"
    )
