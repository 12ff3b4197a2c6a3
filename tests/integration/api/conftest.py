"""Fixtures for API tests against the real PostgreSQL, Redis, Kafka and S3.

Each test session gets its own database (migrated), S3 bucket, Kafka topic and Redis key
prefix, so it can run beside other engineers' tests on the same servers.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from service_fixtures import (
    api_settings,
    fresh_bucket,
    fresh_database,
    redis_overrides,
    s3_client,
    sync_redis,
)

from photostore.api.app import create_app
from photostore.api.config import Settings
from photostore.events import admin_config, ensure_topics

RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def admin_db_url(env: dict[str, str]) -> str:
    return env["PHOTOSTORE_DATABASE_URL"]


@pytest.fixture(scope="session")
def database_url(admin_db_url: str) -> Iterator[str]:
    """A fresh, migrated database for this session, dropped at the end."""
    with fresh_database(admin_db_url, f"photostore_api_{RUN_ID}") as url:
        yield url


@pytest.fixture(scope="session")
def s3(env: dict[str, str]) -> Any:
    return s3_client(env)


@pytest.fixture(scope="session")
def bucket(s3: Any, env: dict[str, str]) -> Iterator[str]:
    with fresh_bucket(s3, f"api-test-{RUN_ID}", env["PHOTOSTORE_S3_REGION"]) as name:
        yield name


@pytest.fixture(scope="session")
def topic(env: dict[str, str]) -> Iterator[str]:
    from confluent_kafka.admin import AdminClient

    name = f"photoUpload.test.{RUN_ID}"
    ensure_topics(env["PHOTOSTORE_KAFKA_BROKERS"], [name])
    yield name
    admin = AdminClient(admin_config(env["PHOTOSTORE_KAFKA_BROKERS"]))
    for future in admin.delete_topics([name]).values():
        future.result(timeout=30)


@pytest.fixture
def redis_topology() -> str:
    """single, or cluster in modules parametrised over REDIS_TOPOLOGIES (service_fixtures)."""
    return "single"


@pytest.fixture
def settings(
    env: dict[str, str], database_url: str, bucket: str, topic: str, redis_topology: str
) -> Settings:
    """Settings for one test: its own Redis prefix, high rate limits, no background tasks."""
    return api_settings(
        env,
        database_url=database_url,
        bucket=bucket,
        topic=topic,
        redis_prefix=f"photostore-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:",
        rate_limit_requests=10_000,
        registrations_per_address=10_000,
        login_attempts_per_address=10_000,
        bad_tokens_per_address=10_000,
        max_upload_bytes=2 * 1024 * 1024,
        background_tasks=False,
        **redis_overrides(env, redis_topology),
    )


@pytest.fixture
def redis_sync(settings: Settings) -> Iterator[Any]:
    """A blocking client of the test's Redis (or Redis Cluster), for assertions."""
    client = sync_redis(settings)
    yield client
    client.close()


async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


@pytest.fixture
def make_client() -> Callable[[Settings], Any]:
    """Build an app from settings and serve it in-process: `async with make_client(s) as c`."""
    from contextlib import asynccontextmanager

    return lambda settings: asynccontextmanager(_serve)(create_app(settings))


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for served in _serve(create_app(settings)):
        yield served


@pytest.fixture
def register() -> Callable[[httpx.AsyncClient], Any]:
    """Create a user and return its Authorization header."""

    async def create(client: httpx.AsyncClient) -> dict[str, str]:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = await client.post(
            "/v1/auth/register", json={"email": email, "password": "correct horse"}
        )
        assert response.status_code == 201, response.text
        response = await client.post(
            "/v1/auth/login", json={"email": email, "password": "correct horse"}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return create


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small image of random pixels: each call returns different bytes."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    return image_bytes


@pytest.fixture
def upload(make_image: Callable[..., bytes]) -> Callable[..., Any]:
    """Upload an image and return the response."""

    async def send(
        client: httpx.AsyncClient,
        headers: dict[str, str],
        data: bytes | None = None,
        filename: str = "photo.jpg",
        fields: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = make_image() if data is None else data
        return await client.post(
            "/v1/photos",
            headers=headers,
            files={"file": (filename, body, "application/octet-stream")},
            data=fields or {},
        )

    return send
