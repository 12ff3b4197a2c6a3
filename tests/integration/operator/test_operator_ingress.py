"""spec.ingress on the real control plane: the operator, as its ServiceAccount, makes the
API's Ingress, undoes edits to it, and deletes it when spec.ingress is removed."""

from __future__ import annotations

import json
from typing import Any

from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"
HOST = "photos.example.com"
INGRESS = {
    "host": HOST,
    "tlsSecretName": "photos-tls",
    "ingressClassName": "nginx",
    "controllerAddresses": ["10.244.0.0/16"],
}
LIMIT_RPS = "nginx.ingress.kubernetes.io/limit-rps"


def _ingress(cluster: Cluster, namespace: str) -> dict[str, Any] | None:
    return cluster.get("ingress", "photos-api", namespace)


def _trusted_proxies(cluster: Cluster, namespace: str) -> str | None:
    config = cluster.get("configmap", "photos-config", namespace) or {}
    return str(config.get("data", {}).get("PHOTOSTORE_TRUSTED_PROXIES"))


def test_ingress_is_made_repaired_and_deleted_with_spec_ingress(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec(ingress=INGRESS)), namespace)
    made = wait_for("the Ingress", lambda: _ingress(cluster, namespace), timeout=60)
    ps = cluster.get("photostorage", NAME, namespace)
    assert ps is not None
    assert made["metadata"]["ownerReferences"][0]["uid"] == ps["metadata"]["uid"]
    assert made["spec"]["ingressClassName"] == "nginx"
    assert made["spec"]["tls"] == [{"hosts": [HOST], "secretName": "photos-tls"}]
    (rule,) = made["spec"]["rules"]
    assert rule["host"] == HOST
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = cluster.get("service", backend["name"], namespace)
    assert service is not None, "the Ingress points at the API Service"
    assert backend["port"]["name"] in [p["name"] for p in service["spec"]["ports"]]
    notes = made["metadata"]["annotations"]
    assert (notes[LIMIT_RPS], notes["nginx.ingress.kubernetes.io/limit-burst-multiplier"]) == (
        "10",
        "2",
    )
    wait_for(
        "the controller's addresses trusted",
        lambda: _trusted_proxies(cluster, namespace) == "10.244.0.0/16",
        timeout=30,
    )

    # Someone loosens the limit and drops TLS: both come back.
    cluster.run("annotate", "ingress", "photos-api", "-n", namespace, "--overwrite",
                f"{LIMIT_RPS}=1000")  # fmt: skip
    cluster.run("patch", "ingress", "photos-api", "-n", namespace, "--type=json",
                "-p", json.dumps([{"op": "remove", "path": "/spec/tls"}]))  # fmt: skip

    def repaired() -> bool:
        now = _ingress(cluster, namespace) or {}
        return (
            now.get("metadata", {}).get("annotations", {}).get(LIMIT_RPS) == "10"
            and now.get("spec", {}).get("tls") == made["spec"]["tls"]
        )

    wait_for("the Ingress repaired", repaired, timeout=30)

    # Deleted by hand: made again.
    cluster.run("delete", "ingress", "photos-api", "-n", namespace, "--wait=false")
    uid = made["metadata"]["uid"]
    wait_for(
        "the Ingress made again",
        lambda: (
            (_ingress(cluster, namespace) or {"metadata": {"uid": uid}})["metadata"]["uid"] != uid
        ),
        timeout=30,
    )

    # spec.ingress removed: the Ingress goes, and the controller's addresses with it.
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    wait_for("the Ingress deleted", lambda: _ingress(cluster, namespace) is None, timeout=30)
    cluster.wait_event(namespace, "Deleted", "Ingress photos-api")
    wait_for("no proxy trusted", lambda: _trusted_proxies(cluster, namespace) == "", timeout=30)
