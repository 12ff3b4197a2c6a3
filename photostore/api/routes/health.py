"""Liveness and readiness. Metrics are served on their own port (metrics_server.py).

Readiness gates on PostgreSQL (the primary) and Redis only: every request needs them (accounts and
photos live in PostgreSQL; each request's credential and rate limit are checked in
Redis), so a pod that cannot reach them can serve nothing. Kafka and S3 are checked and
reported, but do not take the pod out of the Service: uploads go on while Kafka is down
(the outbox holds their events), and without S3 only uploads and purges fail (503) while
listing, search and download links still work. All pods share these dependencies, so
failing readiness for them would turn a partial outage into a total one. Read replicas are
not checked either: reads fall back to the primary (read_router.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from photostore.api.deps import ServicesDep
from photostore.api.models import HealthStatus
from photostore.api.redis_client import ping
from photostore.api.services import Services

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> HealthStatus:
    """The process is alive (no dependency is checked)."""
    return HealthStatus(status="ok")


async def _check_postgres(services: Services) -> None:
    async with services.pool.connection() as conn:
        await conn.execute("SELECT 1")


async def _check_redis(services: Services) -> None:
    await ping(services.redis)


async def _check_s3(services: Services) -> None:
    await asyncio.to_thread(services.s3.head_bucket, Bucket=services.settings.s3_bucket)


async def _check_kafka(services: Services) -> None:
    timeout = services.settings.dependency_timeout_seconds
    metadata = await asyncio.to_thread(services.producer.list_topics, timeout=timeout)
    if not metadata.brokers:
        raise ConnectionError("no Kafka broker")


CHECKS: dict[str, Callable[[Services], Awaitable[None]]] = {
    "postgres": _check_postgres,
    "redis": _check_redis,
    "kafka": _check_kafka,
    "s3": _check_s3,
}
# The dependencies without which the pod cannot serve; the others are only reported.
REQUIRED = {"postgres", "redis"}


async def _run_check(name: str, services: Services) -> str:
    try:
        await asyncio.wait_for(
            CHECKS[name](services), services.settings.dependency_timeout_seconds + 1
        )
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


@router.get("/ready", responses={503: {"model": HealthStatus, "description": "Not ready"}})
async def ready(services: ServicesDep) -> JSONResponse:
    """Ready (200) when PostgreSQL and Redis answer; Kafka and S3 are reported only.

    `status` is "degraded" when a reported-only dependency is down.
    """
    results = await asyncio.gather(*(_run_check(name, services) for name in CHECKS))
    checks = dict(zip(CHECKS, results, strict=True))
    ok = all(checks[name] == "ok" for name in REQUIRED)
    state = "unavailable" if not ok else "ok" if all(r == "ok" for r in results) else "degraded"
    body = HealthStatus(status=state, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
