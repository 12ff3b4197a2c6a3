"""What someone changed in a child, in the fields the operator sets. Pure.

Only the fields of the desired object are compared, so what the apiserver defaults and
what other controllers own (the HPA's replicas, a Deployment's status) never count as
drift. The result is worded for a `DriftRepaired` Event.
"""

from __future__ import annotations

from typing import Any

IGNORED_TOP = ("apiVersion", "kind", "status")
SHOWN = 60  # characters of a value shown in a message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _compare(want: Any, have: Any, where: str) -> list[str]:
    if isinstance(want, dict) and isinstance(have, dict):
        found: list[str] = []
        for key, value in want.items():
            here = f"{where}.{key}" if where else key
            if key not in have:
                found.append(f"{here} was removed")
            else:
                found += _compare(value, have[key], here)
        return found
    if isinstance(want, list) and isinstance(have, list):
        if len(want) != len(have):
            return [f"{where} had {len(have)} entries instead of {len(want)}"]
        return [d for i, (w, h) in enumerate(zip(want, have, strict=True))
                for d in _compare(w, h, f"{where}[{i}]")]  # fmt: skip
    if want != have:
        return [f"{where} was {_show(have)}, set back to {_show(want)}"]
    return []


def differences(desired: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Each field of `desired` that `live` lacks or holds with another value."""
    return [
        found
        for key, value in desired.items()
        if key not in IGNORED_TOP
        for found in (
            [f"{key} was removed"] if key not in live else _compare(value, live[key], key)
        )
    ]
