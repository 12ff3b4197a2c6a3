"""Children a spec change switched off are looked for, except on a fresh PhotoStorage."""

from __future__ import annotations

from typing import Any

from fake_kube import FakeKube

from photostore.operator.builders.ingress import ingress_name
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcile import reconcile
from photostore.operator.spec import parse
from photostore.operator.state import Operator

KEY = ("team", "photos")
OPTIONAL = {"horizontalpodautoscalers", "ingresses", "networkpolicies", "services"}


def operator(kube: FakeKube) -> Operator:
    return Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]


def photostorage(minimal_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "photos.example.com/v1alpha1",
        "kind": "PhotoStorage",
        "metadata": {"name": "photos", "namespace": "team", "uid": "u", "generation": 1},
        "spec": minimal_spec(kafka={"brokers": ["k:9092"], "manageTopic": False}),
    }


async def test_a_fresh_photostorage_looks_for_nothing_to_delete(minimal_spec: Any) -> None:
    kube = FakeKube()
    kube.put(photostorage(minimal_spec))
    await reconcile(operator(kube), KEY)
    assert [c for c in kube.calls if c[1] in OPTIONAL and c[2] == "get"] == []


async def test_children_there_before_the_first_pass_are_still_pruned(minimal_spec: Any) -> None:
    """After a restart, say: the children are there, and so may be one switched off."""
    kube = FakeKube()
    body = photostorage(minimal_spec)
    kube.put(body)
    await reconcile(operator(kube), KEY)
    name = ingress_name(parse(body))
    owner = {"kind": "PhotoStorage", "name": "photos", "uid": "u", "controller": True}
    meta = {"name": name, "namespace": "team", "ownerReferences": [owner]}
    kube.put({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta})
    await reconcile(operator(kube), KEY)  # a new process
    assert ("networking.k8s.io/v1", "Ingress", "team", name) not in kube.objects
