"""The processor's Prometheus metrics and the small HTTP server for /metrics, /health, /ready.

/health (liveness) fails only when the consumer loop has stopped beating; /ready fails while
batches fail for a reason outside the photos (S3 or PostgreSQL down), during which the loop
backs off and keeps beating: the pod stays alive, out of rotation, until its dependencies
return.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class ProcessorMetrics:
    registry: CollectorRegistry
    processed: Counter
    failed: Counter
    latency: Histogram
    batch_size: Histogram
    lag: Gauge


def create_processor_metrics(registry: CollectorRegistry | None = None) -> ProcessorMetrics:
    registry = registry or CollectorRegistry()
    return ProcessorMetrics(
        registry=registry,
        processed=Counter(
            "photostore_processor_photos_processed_total",
            "Photos processed successfully.",
            registry=registry,
        ),
        failed=Counter(
            "photostore_processor_photos_failed_total",
            "Photos (or events) that could not be processed and went to the dead-letter topic.",
            ["reason"],
            registry=registry,
        ),
        latency=Histogram(
            "photostore_processor_photo_duration_seconds",
            "Time from a photo's batch start to its result, per photo.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        batch_size=Histogram(
            "photostore_processor_batch_size",
            "Messages per consumed batch.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        ),
        lag=Gauge(
            "photostore_processor_consumer_lag",
            "Messages behind the end of the assigned partitions, per partition.",
            ["topic", "partition"],
            registry=registry,
        ),
    )


@dataclass
class Liveness:
    """The consumer loop beats after each poll; /health fails when it has gone quiet."""

    stale_after_s: float = 60.0
    _last_beat: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def healthy(self) -> bool:
        return time.monotonic() - self._last_beat < self.stale_after_s


@dataclass
class Readiness:
    """Unready, with the reason, while the loop cannot process batches."""

    problem: str | None = None

    def ready(self) -> None:
        self.problem = None

    def unready(self, problem: str) -> None:
        self.problem = problem


def serve_metrics(
    metrics: ProcessorMetrics,
    liveness: Liveness,
    port: int,
    readiness: Readiness | None = None,
    host: str = "0.0.0.0",  # noqa: S104
) -> ThreadingHTTPServer:
    """Serve /metrics and /health on a daemon thread; returns the server (for shutdown)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
            elif self.path in {"/health", "/healthz"}:
                ok = liveness.healthy()
                self._reply(200 if ok else 503, "text/plain", b"ok\n" if ok else b"stalled\n")
            elif self.path in {"/ready", "/readyz"}:
                problem = readiness.problem if readiness is not None else None
                if problem is None:
                    self._reply(200, "text/plain", b"ready\n")
                else:
                    self._reply(503, "text/plain", f"unready: {problem}\n".encode())
            else:
                self._reply(404, "text/plain", b"not found\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds are not worth a log line."""

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
