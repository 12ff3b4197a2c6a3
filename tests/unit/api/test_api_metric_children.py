"""HTTP and read metrics keep their labelled children instead of looking them up each time."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from photostore.metrics import create_http_metrics, create_read_metrics


def _count_labels(monkeypatch: pytest.MonkeyPatch, metric: Any) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    original = metric.labels

    def labels(*values: Any) -> Any:
        calls.append(values)
        return original(*values)

    monkeypatch.setattr(metric, "labels", labels)
    return calls


def test_http_metrics_label_each_child_once_and_count_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = CollectorRegistry()
    metrics = create_http_metrics("api", registry)
    calls = _count_labels(monkeypatch, metrics.requests)
    for _ in range(3):
        metrics.observe("GET", "/v1/photos", 200, 0.01)
    metrics.observe("GET", "/v1/photos", 404, 0.01)
    assert calls == [("api", "GET", "/v1/photos", "200"), ("api", "GET", "/v1/photos", "404")]
    labels = {"service": "api", "method": "GET", "route": "/v1/photos", "status": "200"}
    assert registry.get_sample_value("http_requests_total", labels) == 3
    assert registry.get_sample_value("http_request_duration_seconds_count", labels) == 3


def test_read_metrics_label_each_child_once_and_count_every_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = CollectorRegistry()
    metrics = create_read_metrics(registry)
    calls = _count_labels(monkeypatch, metrics.reads)
    for _ in range(4):
        metrics.count_read("primary", "no_replica")
    assert calls == [("primary", "no_replica")]
    labels = {"target": "primary", "reason": "no_replica"}
    assert registry.get_sample_value("photostore_db_reads_total", labels) == 4
