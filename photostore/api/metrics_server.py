"""Prometheus metrics on their own port, apart from the public API.

The API's port is exposed to clients through the Service; metrics (route names, error
rates, latencies) are for Prometheus only, so they get a listener of their own that a
NetworkPolicy can open to the monitoring namespace alone. One listener per process: with
`--workers` above 1 only the first worker binds the port (the others log that they could
not).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


@contextmanager
def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> Iterator[None]:
    """Serve `registry` at http://host:port/metrics while the context is open; port 0: not."""
    if port == 0:
        yield
        return
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("metrics not served: cannot listen on %s:%d: %s", host, port, exc)
        yield
        return
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
