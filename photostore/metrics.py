"""Prometheus metrics shared by the services.

Names and labels are what the Grafana dashboard and the PrometheusRules query:
`http_requests_total` and `http_request_duration_seconds`, labelled service, method, route
(the route template, never the raw path, to bound cardinality) and status.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class HttpMetrics:
    service: str
    requests: Counter
    duration: Histogram

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (self.service, method, route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)


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
