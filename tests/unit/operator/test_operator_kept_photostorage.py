"""A pass reads the PhotoStorage as its watch last showed it; a write made from a copy that
someone else's change had already replaced is refused, and the pass is made again."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from conftest import photostorage_body
from fake_kube import FakeKube

from photostore.operator.handlers import photostorage_event
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcile import reconcile
from photostore.operator.state import Operator
from photostore.operator.workqueue import Again

KEY = ("team", "photos")
PS_REF = ("photos.example.com/v1alpha1", "PhotoStorage", *KEY)
PS_GET = ("photos.example.com", "photostorages", "get")
STATUS_PATCH = ("photos.example.com", "photostorages/status", "patch")


class Queue:
    def __init__(self) -> None:
        self.added: list[tuple[tuple[str, str], bool]] = []

    def add(self, key: tuple[str, str], full: bool = True) -> None:
        self.added.append((key, full))

    def forget(self, key: tuple[str, str]) -> None:
        return None


async def watched(op: Operator, body: dict[str, Any]) -> None:
    """What kopf hands the operator for one watch event of `body`."""
    memo = SimpleNamespace(operator=op, queue=Queue())
    meta = body["metadata"]
    event: Any = {"type": "MODIFIED", "object": copy.deepcopy(body)}
    await photostorage_event(event=event, name=meta["name"], namespace=meta["namespace"],
                             meta=meta, memo=memo)  # fmt: skip


def operator() -> tuple[Operator, FakeKube]:
    kube = FakeKube()
    kube.put(photostorage_body())
    return Operator(kube=kube, metrics=OperatorMetrics()), kube  # type: ignore[arg-type]


async def test_a_pass_reads_the_photostorage_the_watch_showed() -> None:
    op, kube = operator()
    kube.objects[PS_REF]["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    await watched(op, kube.objects[PS_REF])
    assert "managedFields" not in op.photostorages[KEY]["metadata"]  # kept small
    await reconcile(op, KEY)
    assert PS_GET not in kube.calls and STATUS_PATCH in kube.calls
    # The status write drops the copy until the watch shows the PhotoStorage again.
    assert KEY not in op.photostorages
    kube.calls.clear()
    await reconcile(op, KEY, full=False)
    assert kube.calls.count(PS_GET) == 1


async def test_status_made_from_a_replaced_copy_is_refused_and_made_again() -> None:
    op, kube = operator()
    await watched(op, kube.objects[PS_REF])
    # Someone changes the PhotoStorage; the watch has not shown it yet.
    kube.objects[PS_REF]["metadata"]["labels"] = {"team": "b"}
    kube._stamp(kube.objects[PS_REF])
    again = await reconcile(op, KEY)
    assert again == Again(0.0, True)
    assert "status" not in kube.objects[PS_REF]  # nothing written from the old copy
    assert KEY not in op.photostorages
    await reconcile(op, KEY)  # the retry reads it
    assert kube.objects[PS_REF]["status"]["conditions"]
    assert kube.objects[PS_REF]["metadata"]["labels"] == {"team": "b"}
