"""PHOTOSTORE_OPERATOR_SELECTOR: an operator manages only the PhotoStorages with its labels,
and neither their events nor their children's reach its work queue otherwise."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from photostore.operator.handlers import child_event, photostorage_event
from photostore.operator.selection import parse_selector, selects
from photostore.operator.settings import OperatorSettings
from photostore.operator.state import Operator
from photostore.operator.workqueue import WorkQueue


def test_a_selector_is_equality_terms() -> None:
    assert parse_selector("") == {}
    assert parse_selector("team=a, tier = canary") == {"team": "a", "tier": "canary"}
    assert parse_selector("app==x") == {"app": "x"}
    for bad in ("team", "team!=a", "=a", "a=b=c"):
        with pytest.raises(ValueError, match="key=value"):
            parse_selector(bad)


def test_selects_needs_every_wanted_label() -> None:
    assert selects({}, None)
    assert selects({"team": "a"}, {"team": "a", "x": "y"})
    assert not selects({"team": "a"}, {"team": "b"})
    assert not selects({"team": "a", "tier": "canary"}, {"team": "a"})


def test_a_bad_selector_is_refused_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_SELECTOR", "team")
    with pytest.raises(ValidationError, match="key=value"):
        OperatorSettings()


def memo(selector: dict[str, str]) -> Any:
    async def work(key: tuple[str, str], full: bool) -> None:
        return None

    operator = Operator(kube=None, metrics=None, selector=selector)  # type: ignore[arg-type]
    return SimpleNamespace(operator=operator, queue=WorkQueue(work))


def photostorage(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": "photos", "namespace": namespace, "labels": labels, "resourceVersion": "1",
            "generation": 1}  # fmt: skip


def child(namespace: str) -> dict[str, Any]:
    owner = {"apiVersion": "photos.example.com/v1alpha1", "kind": "PhotoStorage",
             "name": "photos", "uid": "u", "controller": True}  # fmt: skip
    return {"kind": "ConfigMap",
            "metadata": {"name": "photos-config", "namespace": namespace,
                         "ownerReferences": [owner]}}  # fmt: skip


async def test_only_the_selected_photostorages_and_their_children_are_queued() -> None:
    m = memo({"team": "a"})
    for namespace, team in (("ours", "a"), ("theirs", "b")):
        meta = photostorage(namespace, {"team": team})
        await photostorage_event(
            event={"type": "ADDED", "object": {"metadata": meta}},
            name="photos",
            namespace=namespace,
            meta=meta,
            memo=m,
        )
    assert len(m.queue) == 1 and ("ours", "photos") in m.queue._pending
    await child_event(event={"type": "MODIFIED", "object": child("theirs")}, memo=m)
    assert len(m.queue) == 1

    meta = photostorage("ours", {})  # its label removed: no longer ours
    event = {"type": "MODIFIED", "object": {"metadata": meta}}
    await photostorage_event(event=event, name="photos", namespace="ours", meta=meta, memo=m)
    assert ("ours", "photos") not in m.operator.managed


async def test_without_a_selector_every_photostorage_is_managed() -> None:
    m = memo({})
    await child_event(event={"type": "MODIFIED", "object": child("theirs")}, memo=m)
    assert ("theirs", "photos") in m.queue._pending
