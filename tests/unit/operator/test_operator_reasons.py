"""One registry of condition types and reasons (photostore/operator/reasons.py): no Finding
or Event names its type or reason with a string written where it is made."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from photostore.operator import reasons

OPERATOR = Path(reasons.__file__).parent
SOURCES = sorted(p for p in OPERATOR.rglob("*.py") if p.name != "reasons.py")


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                found.append(node)
    return found


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(OPERATOR)))
def test_findings_and_events_take_their_words_from_the_registry(source: Path) -> None:
    tree = ast.parse(source.read_text())
    literal = []
    for call in calls(tree, "Finding"):
        for arg in (call.args[0], call.args[2]) if len(call.args) > 2 else ():
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal.append((call.lineno, arg.value))
    for call in calls(tree, "record"):
        if len(call.args) > 2:
            arg = call.args[2]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal.append((call.lineno, arg.value))
    assert literal == [], f"{source.name}: write these in reasons.py: {literal}"


def test_every_reason_is_camel_case_and_every_type_has_reasons() -> None:
    words = {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)}
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", w) for w in words)
    types = {reasons.READY, reasons.PROGRESSING, reasons.DEGRADED, reasons.API_READY,
             reasons.PROCESSOR_READY, reasons.KAFKA_TOPIC_READY, reasons.STORAGE_READY,
             reasons.BACKUP_HEALTHY, reasons.BACKUP_VERIFIED, reasons.REPLICAS_IGNORED}  # fmt: skip
    assert set(reasons.REASONS) == types
    assert all(reasons.REASONS[t] for t in types)
