"""Prometheus metrics shared by the services.

Names and labels are what the Grafana dashboard and the PrometheusRules query:
`http_requests_total` and `http_request_duration_seconds`, labelled service, method, route
(the route template, never the raw path, to bound cardinality) and status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class HttpMetrics:
    service: str
    requests: Counter
    duration: Histogram
    # The labelled children by (method, route, status): `labels()` takes a lock and builds
    # its key on every call, a cost on every request for the same few children.
    _children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            labels = (self.service, method, route, str(status))
            children = (self.requests.labels(*labels), self.duration.labels(*labels))
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)


def create_http_metrics(service: str, registry: CollectorRegistry) -> HttpMetrics:
    """HTTP metrics on `registry` (one registry per app, so tests can build many apps)."""
    names = ("service", "method", "route", "status")
    return HttpMetrics(
        service=service,
        requests=Counter(
            "http_requests_total", "HTTP requests answered.", names, registry=registry
        ),
        duration=Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request.",
            names,
            buckets=HTTP_BUCKETS,
            registry=registry,
        ),
    )


@dataclass(frozen=True)
class ReadMetrics:
    """Where database reads went and how far behind each read replica is."""

    reads: Counter
    replica_lag: Gauge
    replica_up: Gauge
    _read_children: dict[tuple[str, str], Counter] = field(
        default_factory=dict, compare=False, repr=False
    )

    def count_read(self, target: str, reason: str) -> None:
        """One more read on `target` for `reason` (the child kept, as in HttpMetrics)."""
        child = self._read_children.get((target, reason))
        if child is None:
            child = self._read_children[(target, reason)] = self.reads.labels(target, reason)
        child.inc()


def create_read_metrics(registry: CollectorRegistry) -> ReadMetrics:
    return ReadMetrics(
        reads=Counter(
            "photostore_db_reads_total",
            "Database reads that may use a replica, by the server that answered"
            " (target: replica, primary) and why (reason: replica, or why the primary).",
            ("target", "reason"),
            registry=registry,
        ),
        replica_lag=Gauge(
            "photostore_db_replica_lag_seconds",
            "How long ago the primary held WAL the replica has not replayed (0: caught up).",
            ("replica",),
            registry=registry,
        ),
        replica_up=Gauge(
            "photostore_db_replica_up",
            "1 when the replica answered its last probe as a replica in recovery, else 0.",
            ("replica",),
            registry=registry,
        ),
    )
