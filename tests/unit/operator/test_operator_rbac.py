"""The operator's RBAC is exactly what its code calls: the shipped ClusterRole equals the one
derived from the registry of kinds, and a reconcile through every branch that touches the
apiserver uses every verb of the registry and no other."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from fake_kube import FakeKube

from photostore.operator.builders.common import selector_labels
from photostore.operator.builders.jobs import MIGRATION_COMPONENT
from photostore.operator.builders.quota import quota_name
from photostore.operator.children import ALL, PHOTOSTORAGE, STATUS_VERBS
from photostore.operator.finalizers import TOPICS_FINALIZER
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.rbac import KOPF_RULES, cluster_role, grants
from photostore.operator.reconcile import reconcile
from photostore.operator.spec import parse
from photostore.operator.state import Operator

MANIFEST = Path(__file__).resolve().parents[3] / "manifests" / "operator" / "rbac.yaml"
KEY = ("team", "photos")


def shipped_cluster_role() -> dict[str, Any]:
    role: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return role


def test_the_shipped_cluster_role_is_the_derived_one() -> None:
    assert shipped_cluster_role() == cluster_role()


def test_no_rule_grants_update_or_wildcards() -> None:
    for rule in cluster_role()["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert "update" not in rule["verbs"], rule


def photostorage(spec: dict[str, Any], generation: int) -> dict[str, Any]:
    return {
        "apiVersion": PHOTOSTORAGE.api_version,
        "kind": PHOTOSTORAGE.kind,
        "metadata": {"name": KEY[1], "namespace": KEY[0], "uid": "u-1", "generation": generation},
        "spec": spec,
    }


def full_spec(minimal_spec: Any) -> dict[str, Any]:
    return minimal_spec(
        kafka={"brokers": ["kafka:9092"], "manageTopic": False},
        processor={"autoscaling": {"enabled": False}},
        monitoring={"enabled": True},
        ingress={"host": "photos.example.com"},
    )


async def test_reconcile_uses_exactly_the_registered_verbs(minimal_spec: Any) -> None:
    kube = FakeKube(served=True)
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    spec = full_spec(minimal_spec)
    # An old migration Job to prune, and pods to look at while the rollout is not done.
    ps = photostorage(spec, 1)
    old_job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "photos-migrate-old", "namespace": KEY[0],
                            "labels": selector_labels(parse(ps), MIGRATION_COMPONENT)}}  # fmt: skip
    kube.put(old_job)
    # A child from before (a PhotoStorage made now has no older migration Job to look for).
    quota = {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": quota_name(parse(ps)), "namespace": KEY[0]}}  # fmt: skip
    kube.put(quota)
    # A finalizer left from when kafka.deletionPolicy was Delete: the first pass removes it.
    ps["metadata"]["finalizers"] = [TOPICS_FINALIZER]
    ps["metadata"]["resourceVersion"] = "0"
    kube.put(ps)
    await reconcile(op, KEY)  # creates every child
    await reconcile(op, KEY)  # patches them
    assert ("batch/v1", "Job", KEY[0], "photos-migrate-old") not in kube.objects
    stored = kube.objects[(PHOTOSTORAGE.api_version, PHOTOSTORAGE.kind, *KEY)]
    assert stored["metadata"]["finalizers"] == []

    # Everything optional switched off: each is looked up and deleted.
    off = copy.deepcopy(spec)
    off["quota"] = {"enabled": False}
    off["api"] = {"autoscaling": {"enabled": False}}
    off["backup"] = {"enabled": False}
    off["monitoring"] = {"enabled": False}
    del off["ingress"]
    kube.put(photostorage(off, 2))
    await reconcile(op, KEY)
    # Autoscaling switched back on: the replicas are handed over to the HPA.
    kube.put(photostorage(spec, 3))
    await reconcile(op, KEY)
    # A child the apiserver refuses, twice: the second ApplyFailed Event only counts up.
    kube.refused.add("PodDisruptionBudget")
    await reconcile(op, KEY)
    await reconcile(op, KEY)
    failures = [
        e for (_, kind, _, _), e in kube.objects.items()
        if kind == "Event" and e["reason"] == "ApplyFailed"
    ]  # fmt: skip
    counts = {e["message"]: e["count"] for e in failures}
    assert len(counts) == len(failures)  # one Event object per distinct message
    assert counts["PodDisruptionBudget photos-api: PodDisruptionBudget refused"] == 2

    used: dict[tuple[str, str], set[str]] = {}
    for group, resource, verb in kube.calls:
        used.setdefault((group, resource), set()).add(verb)
    registered = {(k.group, k.plural): set(k.verbs) for k in ALL}
    registered[(PHOTOSTORAGE.group, f"{PHOTOSTORAGE.plural}/status")] = set(STATUS_VERBS)
    assert used == registered


def test_kopf_watches_are_granted_on_top_of_the_code_verbs() -> None:
    granted = grants()
    for kind in ALL:
        expected = set(kind.verbs) | ({"list", "watch"} if kind.watched else set())
        kopf = {v for g, r, vs in KOPF_RULES if (g, r) == (kind.group, kind.plural) for v in vs}
        assert granted[(kind.group, kind.plural)] == expected | kopf
