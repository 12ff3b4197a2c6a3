from __future__ import annotations

import pytest

from photostore.operator.main import kopf_args


def test_defaults_to_all_namespaces_with_liveness(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOSTORE_OPERATOR_LIVENESS", raising=False)
    assert kopf_args([]) == [
        "run",
        "-m",
        "photostore.operator",
        "--all-namespaces",
        "--liveness",
        "http://0.0.0.0:8081/healthz",
    ]


def test_a_namespace_replaces_all_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSTORE_OPERATOR_LIVENESS", "")
    assert kopf_args(["--namespace=team", "--standalone"]) == [
        "run",
        "-m",
        "photostore.operator",
        "--namespace=team",
        "--standalone",
    ]
