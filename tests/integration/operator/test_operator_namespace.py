"""One PhotoStorage per namespace: a second one is refused, and takes over when the first
is gone."""

from __future__ import annotations

from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for


def test_a_second_photostorage_in_a_namespace_is_refused_until_the_first_goes(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage("first", small_spec()), namespace)
    cluster.wait_condition("first", namespace, "Ready", timeout=90)
    cluster.apply(photostorage("second", small_spec()), namespace)

    refused = cluster.wait_condition(
        "second", namespace, "Degraded", reason="NamespaceAlreadyManaged", timeout=30
    )
    assert "first" in refused["message"]
    ready = cluster.condition("second", namespace, "Ready")
    assert ready is not None and ready["status"] == "False"
    assert cluster.get("deployment", "second-api", namespace) is None
    assert cluster.get("resourcequota", "second-quota", namespace) is None
    assert cluster.condition("first", namespace, "Ready")["status"] == "True"  # type: ignore[index]

    cluster.run("delete", "photostorage", "first", "-n", namespace)
    cluster.wait_condition("second", namespace, "Ready", timeout=60)
    wait_for(
        "the second's API Deployment", lambda: cluster.get("deployment", "second-api", namespace)
    )
