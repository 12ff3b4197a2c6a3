"""The namespace's manager is listed again only when a PhotoStorage came or went."""

from __future__ import annotations

from typing import Any

from fake_kube import FakeKube

from photostore.operator.kube import Obj
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcilers.namespace import namespace_manager
from photostore.operator.state import Operator

LIST = ("photos.example.com", "photostorages", "list")


def operator(kube: FakeKube | None = None) -> tuple[Operator, FakeKube]:
    kube = kube or FakeKube()
    return Operator(kube=kube, metrics=OperatorMetrics()), kube  # type: ignore[arg-type]


def photostorage(name: str, created: str) -> Obj:
    meta = {"name": name, "namespace": "team", "creationTimestamp": created}
    return {"apiVersion": "photos.example.com/v1alpha1", "kind": "PhotoStorage", "metadata": meta}


def arrive(op: Operator, kube: FakeKube, name: str, created: str) -> None:
    kube.put(photostorage(name, created))
    op.note_photostorage("team", name, gone=False)  # what the watch shows


async def test_the_manager_is_listed_once_while_nobody_comes_or_goes() -> None:
    op, kube = operator()
    arrive(op, kube, "first", "2026-01-01T00:00:00Z")
    assert await namespace_manager(op, ("team", "first")) == "first"
    op.note_photostorage("team", "first", gone=False)  # its own status write, seen again
    assert await namespace_manager(op, ("team", "first")) == "first"
    assert kube.calls.count(LIST) == 1


async def test_a_photostorage_that_comes_or_goes_makes_it_list_again() -> None:
    op, kube = operator()
    arrive(op, kube, "second", "2026-01-01T00:00:05Z")
    assert await namespace_manager(op, ("team", "second")) == "second"
    arrive(op, kube, "first", "2026-01-01T00:00:00Z")  # older, say restored from a backup
    assert await namespace_manager(op, ("team", "second")) == "first"
    assert await namespace_manager(op, ("team", "first")) == "first"  # that list said so
    del kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", "team", "first")]
    op.note_photostorage("team", "first", gone=True)
    assert await namespace_manager(op, ("team", "second")) == "second"
    assert kube.calls.count(LIST) == 3


async def test_a_refused_photostorage_lists_on_every_pass() -> None:
    op, kube = operator()
    arrive(op, kube, "first", "2026-01-01T00:00:00Z")
    arrive(op, kube, "second", "2026-01-01T00:00:05Z")
    for _ in range(3):
        assert await namespace_manager(op, ("team", "second")) == "first"
    assert kube.calls.count(LIST) == 3


class ArrivingDuringTheList(FakeKube):
    """A PhotoStorage whose event comes while the list is on its way."""

    def __init__(self) -> None:
        super().__init__()
        self.op: Operator | None = None

    async def list(self, *args: Any, **kwargs: Any) -> list[Obj]:
        found = await super().list(*args, **kwargs)
        if self.op is not None and len(found) == 1:
            arrive(self.op, self, "older", "2025-01-01T00:00:00Z")
        return found


async def test_one_that_came_during_the_list_is_not_missed() -> None:
    kube = ArrivingDuringTheList()
    op, _ = operator(kube)
    kube.op = op
    arrive(op, kube, "photos", "2026-01-01T00:00:00Z")
    assert await namespace_manager(op, ("team", "photos")) == "photos"
    assert await namespace_manager(op, ("team", "photos")) == "older"
