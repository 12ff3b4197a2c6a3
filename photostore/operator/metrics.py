"""The operator's own Prometheus metrics, in a registry per operator run."""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


@dataclass
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.reconciles = Counter(
            "photostore_operator_reconciles_total",
            "Reconciles of PhotoStorages, by result (ok, error, conflict: made again at once).",
            ["result"],
            registry=self.registry,
        )
        self.errors = Counter(
            "photostore_operator_reconcile_errors_total",
            "Reconcile failures, by the kind of error.",
            ["error"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "photostore_operator_reconcile_duration_seconds",
            "Time to reconcile one PhotoStorage.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.applies = Counter(
            "photostore_operator_child_applies_total",
            "Server-side applies of child objects, by kind and whether they created it.",
            ["kind", "created"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "photostore_operator_queue_depth",
            "PhotoStorages waiting to be reconciled.",
            registry=self.registry,
        )


def serve(metrics: OperatorMetrics, port: int) -> tuple[WSGIServer, Thread]:
    """Serve /metrics on `port` in a thread; shut the server down at cleanup."""
    return start_http_server(port, registry=metrics.registry)
