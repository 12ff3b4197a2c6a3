"""Liveness, readiness (every dependency reachable) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from photostore.api.deps import ServicesDep
from photostore.api.models import HealthStatus
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
    await services.redis.ping()


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
    """Ready when PostgreSQL, Redis, Kafka and S3 all answer."""
    results = await asyncio.gather(*(_run_check(name, services) for name in CHECKS))
    checks = dict(zip(CHECKS, results, strict=True))
    ok = all(result == "ok" for result in checks.values())
    body = HealthStatus(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
