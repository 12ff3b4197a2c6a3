"""The FastAPI application and `photostore api`, which serves it with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from photostore.api.config import Settings
from photostore.api.errors import install_error_handlers
from photostore.api.http_metrics import HttpMetricsMiddleware
from photostore.api.metrics_server import serve_metrics
from photostore.api.object_sweeper import run_sweeper
from photostore.api.outbox_relay import run_relay
from photostore.api.page_route import PageRoute
from photostore.api.routes import api_keys, auth, health, lookup, photos, search, trash
from photostore.api.services import Services, create_services
from photostore.api.worker_sockets import supervisor_socket
from photostore.api.write_marks import WriteMarkMiddleware
from photostore.metrics import create_http_metrics, create_read_metrics

log = logging.getLogger(__name__)

HTTP_PROTOCOL = "photostore.api.http_protocol:HttpProtocol"


def _background_tasks(services: Services) -> list[asyncio.Task[None]]:
    settings = services.settings
    return [
        asyncio.create_task(
            run_relay(
                services.pool,
                services.producer,
                services.outbox_wakeup,
                poll_seconds=settings.outbox_poll_seconds,
            ),
            name="outbox-relay",
        ),
        asyncio.create_task(
            run_sweeper(
                services.pool,
                services.s3,
                settings.s3_bucket,
                poll_seconds=settings.cleanup_poll_seconds,
            ),
            name="object-sweeper",
        ),
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    registry = CollectorRegistry()
    http_metrics = create_http_metrics(settings.service_name, registry)
    read_metrics = create_read_metrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = create_services(settings, registry, http_metrics, read_metrics)
        app.state.services = services
        with serve_metrics(registry, settings.metrics_host, settings.metrics_port):
            # Do not wait for PostgreSQL here: the process starts (and /health answers) while
            # it is down, /ready says so, and requests get 503 until it is back.
            await services.pool.open(wait=False)
            await services.reads.open()
            tasks = _background_tasks(services) if settings.background_tasks else []
            # What exists now (modules, the app, boto3's service models: some 140k objects)
            # lives as long as the process. Frozen, it is left out of garbage collection, so
            # a full collection no longer walks all of it while every request in flight waits.
            gc.freeze()
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await asyncio.to_thread(services.producer.flush, 5.0)
                await services.credentials.aclose()
                await services.redis.aclose()
                await services.reads.close()
                await services.pool.close()

    app = FastAPI(
        title="PhotoStorage API",
        version="1",
        lifespan=lifespan,
        description="Upload, list, search, download and delete photos.",
    )
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        api_keys.router,
        lookup.router,
        photos.router,
        trash.router,
        search.router,
    ):
        app.include_router(router)
    # Before FastAPI's routes: the lists' plain requests, for less work each (page_route.py).
    app.router.routes[:0] = [PageRoute("/v1/photos", "photos"), PageRoute("/v1/trash", "trash")]
    app.add_middleware(WriteMarkMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=http_metrics)
    return app


def main(argv: list[str]) -> None:
    """`photostore api`: serve on PHOTOSTORE_API_PORT (default 8080)."""
    parser = argparse.ArgumentParser(prog="photostore api")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container's port
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    config = uvicorn.Config(
        # A factory string, so each worker process builds its own app and clients.
        "photostore.api.app:create_app",
        factory=True,
        host=args.host,
        port=settings.api_port,
        workers=args.workers,
        # Named, not "auto": without them uvicorn would fall back, silently, to asyncio's
        # loop and the pure-Python h11 parser. The protocol is uvicorn's httptools one,
        # receiving bodies in larger pieces (http_protocol.py).
        loop="uvloop",
        http=HTTP_PROTOCOL,
        log_level="info",
        access_log=False,
        # Forwarded headers are read by the app, from trusted proxies only (client_address).
        proxy_headers=False,
    )
    if args.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # uvicorn's supervisor (restarts, signals), each worker on a socket of its own.
    sock = supervisor_socket(args.host, settings.api_port)
    log.info("serving on %s:%d with %d workers", args.host, settings.api_port, args.workers)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
