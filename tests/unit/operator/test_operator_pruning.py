"""Children a spec change switched off are looked for, except on a fresh PhotoStorage."""

from __future__ import annotations

from conftest import photostorage_body
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


async def test_a_fresh_photostorage_looks_for_nothing_to_delete() -> None:
    kube = FakeKube()
    kube.put(photostorage_body())
    await reconcile(operator(kube), KEY)
    assert [c for c in kube.calls if c[1] in OPTIONAL and c[2] == "get"] == []
    # Nor for older migration Jobs: the one list of Jobs is the backups' (status).
    assert kube.calls.count(("batch", "jobs", "list")) == 1


async def test_children_there_before_the_first_pass_are_still_pruned() -> None:
    """After a restart, say: the children are there, and so may be one switched off."""
    kube = FakeKube()
    body = photostorage_body()
    kube.put(body)
    await reconcile(operator(kube), KEY)
    name = ingress_name(parse(body))
    owner = {"kind": "PhotoStorage", "name": "photos", "uid": "u", "controller": True}
    meta = {"name": name, "namespace": "team", "ownerReferences": [owner]}
    kube.put({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta})
    await reconcile(operator(kube), KEY)  # a new process
    assert ("networking.k8s.io/v1", "Ingress", "team", name) not in kube.objects
