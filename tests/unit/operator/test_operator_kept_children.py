"""Status passes read the workloads as the watch last showed them, not from the apiserver."""

from __future__ import annotations

import copy
from typing import Any

from conftest import photostorage_body
from fake_kube import FakeKube

from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcile import reconcile
from photostore.operator.state import Operator, kept

KEY = ("team", "photos")
PS_REF = ("photos.example.com/v1alpha1", "PhotoStorage", *KEY)
API_REF = ("apps/v1", "Deployment", "team", "photos-api")
WORKLOAD_READS = {("apps", "deployments", "get"), ("batch", "cronjobs", "get")}


async def reconciled(kube: FakeKube | None = None) -> tuple[Operator, FakeKube]:
    kube = kube or FakeKube()
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    kube.put(photostorage_body())
    await reconcile(op, KEY)
    kube.calls.clear()
    return op, kube


def rolled_out(deployment: dict[str, Any]) -> dict[str, Any]:
    done = copy.deepcopy(deployment)
    wanted = done["spec"].get("replicas", 1)
    done["status"] = {"observedGeneration": done["metadata"].get("generation", 0),
                      "replicas": wanted, "updatedReplicas": wanted,
                      "readyReplicas": wanted, "availableReplicas": wanted}  # fmt: skip
    return done


async def test_a_status_pass_reads_workloads_as_the_watch_showed_them() -> None:
    op, kube = await reconciled()
    op.keep_child(KEY, rolled_out(kube.objects[API_REF]))  # the watch's news, not the fake's
    await reconcile(op, KEY, full=False)
    assert not WORKLOAD_READS & set(kube.calls)
    api = kube.objects[PS_REF]["status"]["api"]
    assert api["availableReplicas"] == api["replicas"] >= 1


async def test_a_deleted_workload_is_read_again() -> None:
    op, kube = await reconciled()
    op.keep_child(KEY, kube.objects[API_REF], deleted=True)
    await reconcile(op, KEY, full=False)
    assert [c for c in kube.calls if c in WORKLOAD_READS] == [("apps", "deployments", "get")]


def test_only_the_kinds_status_is_read_from_are_kept() -> None:
    op = Operator(kube=None, metrics=None)  # type: ignore[arg-type]
    op.keep_child(KEY, {"kind": "Service", "metadata": {"name": "photos-api"}})
    fields = [{"manager": "photostore-operator"}]
    op.keep_child(KEY, {"kind": "Deployment", "metadata": {"name": "d", "managedFields": fields}})
    assert op.kept_child(KEY, "Service", "photos-api") is None
    slim = {"kind": "Deployment", "metadata": {"name": "d"}}
    assert op.kept_child(KEY, "Deployment", "d") == slim
    assert kept({"metadata": {"managedFields": fields, "uid": "x"}}) == {"metadata": {"uid": "x"}}
    op.forget(KEY)
    assert op.kept_child(KEY, "Deployment", "d") is None


async def test_deployments_held_back_by_a_fresh_migration_are_not_read() -> None:
    kube = FakeKube()
    kube.apply_status["Job"] = {"active": 1}
    op, kube = await reconciled(kube)
    await reconcile(op, KEY, full=False)
    assert not any(k == "Deployment" for (_, k, _, _) in kube.objects)
    assert ("apps", "deployments", "get") not in kube.calls


async def test_deployments_held_back_after_a_restart_are_read() -> None:
    """The children were there before this process: so may be the last template's pods."""
    kube = FakeKube()
    kube.apply_status["Job"] = {"active": 1}
    _, kube = await reconciled(kube)
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    await reconcile(op, KEY)
    assert kube.calls.count(("apps", "deployments", "get")) >= 2  # both, for status
