"""Which PhotoStorages one operator process manages: those whose labels match its
`PHOTOSTORE_OPERATOR_SELECTOR` (all of them when it is empty). Two operators with disjoint
selectors can share a cluster, e.g. a canary beside the stable release, or a benchmark's
operator beside everyone else's. Pure."""

from __future__ import annotations

from collections.abc import Mapping


def parse_selector(text: str) -> dict[str, str]:
    """`key=value,key2=value2` (equality terms only) as a dict; ValueError otherwise."""
    wanted: dict[str, str] = {}
    for term in (t.strip() for t in text.split(",")):
        if not term:
            continue
        key, sep, value = term.partition("=")
        key, value = key.strip(), value.strip().removeprefix("=").strip()
        if not sep or not key or "!" in key or "=" in value:
            raise ValueError(f"{term!r}: a selector term is key=value")
        wanted[key] = value
    return wanted


def selects(wanted: Mapping[str, str], labels: Mapping[str, str] | None) -> bool:
    """Do these labels carry every wanted key with its value?"""
    have = labels or {}
    return all(have.get(key) == value for key, value in wanted.items())
