"""Which PhotoStorage manages a namespace."""

from __future__ import annotations

from typing import Any

from photostore.operator.namespace_owner import manager_of


def ps(name: str, created: str, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:09Z"
    return {"metadata": meta}


def test_the_oldest_manages_the_namespace() -> None:
    found = [ps("b", "2026-01-01T00:00:05Z"), ps("a", "2026-01-01T00:00:07Z")]
    assert manager_of(found) == "b"


def test_equal_creation_times_go_by_name() -> None:
    found = [ps("zeta", "2026-01-01T00:00:05Z"), ps("alpha", "2026-01-01T00:00:05Z")]
    assert manager_of(found) == "alpha"


def test_one_being_deleted_hands_the_namespace_on() -> None:
    found = [ps("old", "2026-01-01T00:00:01Z", deleting=True), ps("new", "2026-01-01T00:00:05Z")]
    assert manager_of(found) == "new"


def test_an_empty_namespace_has_no_manager() -> None:
    assert manager_of([]) is None
