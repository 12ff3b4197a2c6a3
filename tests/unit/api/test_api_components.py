"""API components that need no server: errors, settings, rate limits, metrics, S3 writer."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import importlib.util
import socket
from ipaddress import ip_network
from typing import Any

import httpx
import psycopg
import pytest
import redis.exceptions
import uvicorn
from botocore.exceptions import ClientError, EndpointConnectionError
from fake_s3 import FakeS3
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel
from service_fixtures import free_port
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from photostore.api import app as app_module
from photostore.api.app import create_app
from photostore.api.app import main as api_main
from photostore.api.client_address import client_address
from photostore.api.config import Settings
from photostore.api.errors import ApiError, install_error_handlers
from photostore.api.http_metrics import HttpMetricsMiddleware
from photostore.api.http_protocol import HttpProtocol
from photostore.api.ratelimit import RateLimit
from photostore.metrics import create_http_metrics
from photostore.object_writer import ObjectWriter


class Body(BaseModel):
    n: int


def _app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    @app.post("/typed")
    async def typed(body: Body) -> int:
        return body.n

    return app


async def _call(
    app: FastAPI, method: str = "GET", path: str = "/boom", **kw: Any
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (psycopg.OperationalError("connection refused"), "PostgreSQL"),
        (redis.exceptions.ConnectionError("refused"), "Redis"),
        (redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"), "Redis"),
        (redis.exceptions.TryAgainError("TRYAGAIN"), "Redis"),
        (redis.exceptions.SlotNotCoveredError("no node for slot 42"), "Redis"),
        (EndpointConnectionError(endpoint_url="http://s3"), "S3"),
        (ClientError({"Error": {"Code": "NoSuchBucket"}}, "PutObject"), "S3"),
    ],
)
async def test_dependency_failures_are_503_naming_the_dependency(
    exc: Exception, dependency: str
) -> None:
    response = await _call(_app_raising(exc))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "error": {
            "code": "dependency_unavailable",
            "message": f"{dependency} is unavailable; try again later",
            "details": {"dependency": dependency},
        }
    }


async def test_api_errors_keep_their_shape_and_headers() -> None:
    exc = ApiError(429, "rate_limited", "slow down", headers={"Retry-After": "3"})
    response = await _call(_app_raising(exc))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json() == {"error": {"code": "rate_limited", "message": "slow down"}}


async def test_unexpected_errors_are_500_without_internals() -> None:
    response = await _call(_app_raising(RuntimeError("secret detail")))
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}


async def test_validation_errors_and_unknown_routes_are_json() -> None:
    app = _app_raising(RuntimeError())
    invalid = await _call(app, "POST", "/typed", json={"n": "x"})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "validation_error"
    assert invalid.json()["error"]["details"][0]["loc"] == ["body", "n"]
    missing = await _call(app, "GET", "/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_rate_limit_allows_n_then_answers_429_with_retry_after() -> None:
    limit = RateLimit(requests=3, window_seconds=10)
    for count in (1, 2, 3):
        limit.check(count, 10)
    with pytest.raises(ApiError) as raised:
        limit.check(4, 7)
    assert raised.value.status == 429
    assert raised.value.headers == {"Retry-After": "7"}
    with pytest.raises(ApiError) as no_ttl:
        limit.check(5, -1)
    assert no_ttl.value.headers == {"Retry-After": "10"}


def test_settings_come_from_photostore_env_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHOTOSTORE_DATABASE_URL", "postgresql://u:hunter2@db/p")
    monkeypatch.setenv("PHOTOSTORE_S3_SECRET_KEY", "s3-secret-value")
    monkeypatch.setenv("PHOTOSTORE_RATE_LIMIT_REQUESTS", "7")
    monkeypatch.setenv("PHOTOSTORE_KAFKA_BROKERS", "k1:9092,k2:9092")
    settings = Settings()
    assert settings.rate_limit_requests == 7
    assert settings.rate_limit_window_seconds == 10
    assert settings.kafka_topic == "photoUpload"
    assert settings.api_port == 8080
    assert settings.kafka_brokers == "k1:9092,k2:9092"
    assert settings.database_url.get_secret_value() == "postgresql://u:hunter2@db/p"
    assert "hunter2" not in repr(settings) and "s3-secret-value" not in str(settings)


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOSTORE_RATE_LIMIT_REQUESTS", "0")
    with pytest.raises(ValueError, match="rate_limit_requests"):
        Settings()


async def test_metrics_use_the_route_template_not_the_path() -> None:
    registry = CollectorRegistry()
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> int:
        return item_id

    app.add_middleware(HttpMetricsMiddleware, metrics=create_http_metrics("api", registry))
    for path in ("/items/1", "/items/2", "/items/x", "/other"):
        await _call(app, "GET", path)
    text = generate_latest(registry).decode()
    assert (
        'http_requests_total{method="GET",route="/items/{item_id}",service="api",status="200"} 2.0'
        in text
    )
    assert 'route="/items/{item_id}",service="api",status="422"} 1.0' in text
    assert 'route="<unmatched>",service="api",status="404"} 1.0' in text
    assert "/items/1" not in text


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


async def test_small_object_is_one_put_carrying_its_sha256() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "image/png", part_size=100)  # type: ignore[arg-type]
    await writer.write(b"x" * 60)
    await writer.close()
    assert [name for name, _ in s3.calls] == ["put_object"]
    assert s3.calls[0][1]["Body"] == b"x" * 60
    assert s3.calls[0][1]["ChecksumSHA256"] == _b64_sha256(b"x" * 60)
    assert writer.sha256 == hashlib.sha256(b"x" * 60).hexdigest()


async def test_object_up_to_the_single_put_size_is_one_put() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "image/png", part_size=100, single_put_size=300)  # type: ignore[arg-type]
    for _ in range(4):
        await writer.write(b"w" * 70)  # 280 bytes: more than a part, within one PUT
    await writer.close()
    assert [name for name, _ in s3.calls] == ["put_object"]
    assert len(s3.calls[0][1]["Body"]) == 280


async def test_large_object_goes_up_in_bounded_parts_each_checked() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "image/png", part_size=100, single_put_size=200)  # type: ignore[arg-type]
    for _ in range(5):
        await writer.write(b"y" * 70)  # 350 bytes in all
    await writer.close()
    names = [name for name, _ in s3.calls]
    assert names == ["create_multipart_upload"] + ["upload_part"] * 4 + [
        "complete_multipart_upload"
    ]
    assert s3.calls[0][1]["ChecksumAlgorithm"] == "SHA256"
    parts_sent = [kw for name, kw in s3.calls if name == "upload_part"]
    assert [len(kw["Body"]) for kw in parts_sent] == [100, 100, 100, 50]
    assert all(kw["ChecksumSHA256"] == _b64_sha256(kw["Body"]) for kw in parts_sent)
    parts = s3.calls[-1][1]["MultipartUpload"]["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2, 3, 4]
    assert [p["ChecksumSHA256"] for p in parts] == [kw["ChecksumSHA256"] for kw in parts_sent]
    assert all(p["ETag"] for p in parts)
    assert writer.sha256 == hashlib.sha256(b"y" * 350).hexdigest()


async def test_discard_aborts_an_unfinished_multipart_upload() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "image/png", part_size=100)  # type: ignore[arg-type]
    await writer.write(b"z" * 250)
    assert not writer.clean
    await writer.discard()
    await asyncio.sleep(0)
    assert s3.calls[-1][0] == "abort_multipart_upload"
    assert writer.clean


PROXIES = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], [], "203.0.113.9"),  # nothing trusted
        ("203.0.113.9", ["198.51.100.1"], PROXIES, "203.0.113.9"),  # peer not a proxy
        ("10.0.0.2", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], PROXIES, "198.51.100.1"),  # spoofed left
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.9.9.9"], PROXIES, "198.51.100.1"),
        ("fd00::1", ["2001:db8::7"], PROXIES, "2001:db8::7"),
        ("10.0.0.2", ["10.0.0.3, 10.0.0.4"], PROXIES, "10.0.0.3"),  # all ours
        ("10.0.0.2", [], PROXIES, "10.0.0.2"),
        ("10.0.0.2", ["garbage, 198.51.100.1"], PROXIES, "198.51.100.1"),
        (None, ["198.51.100.1"], PROXIES, "unknown"),
    ],
)
def test_client_address_believes_only_trusted_proxies(
    peer: str | None, forwarded: list[str], proxies: list[Any], expected: str
) -> None:
    assert client_address(peer, forwarded, proxies) == expected


def test_trusted_proxies_are_comma_separated_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().trusted_proxies == []
    monkeypatch.setenv("PHOTOSTORE_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")
    assert Settings().trusted_proxies == PROXIES
    monkeypatch.setenv("PHOTOSTORE_TRUSTED_PROXIES", "not-a-network")
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings()


def test_api_is_served_on_uvloop_with_the_httptools_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: dict[str, Any] = {}

    class Supervisor:
        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            served.update(config=config, sockets=sockets)

        def run(self) -> None:
            served["bound"] = [sock.getsockname() for sock in served["sockets"]]
            served["listening"] = [
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                for sock in served["sockets"]
            ]

    monkeypatch.setattr(app_module, "Multiprocess", Supervisor)
    port = free_port()
    monkeypatch.setenv("PHOTOSTORE_API_PORT", str(port))
    api_main(["--host", "127.0.0.1", "--workers", "3"])
    config = served["config"]
    assert config.loop == "uvloop"
    config.load()  # resolves the protocol by name, as each worker does
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)
    assert config.http_protocol_class is HttpProtocol
    assert (config.app, config.factory) == ("photostore.api.app:create_app", True)
    assert (config.port, config.workers) == (port, 3)
    # One socket on the port, bound by the supervisor but not listening (worker_sockets).
    assert served["bound"] == [("127.0.0.1", port)]
    assert served["listening"] == [0]
    # Both are installed, so uvicorn finds what it was asked for.
    assert importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")


def test_one_api_worker_is_served_without_a_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    class Server:
        started = True

        def __init__(self, config: uvicorn.Config) -> None:
            served["config"] = config

        def run(self) -> None:
            served["ran"] = True

    monkeypatch.setattr(uvicorn, "Server", Server)
    monkeypatch.setenv("PHOTOSTORE_API_PORT", "8181")
    api_main([])
    assert served["ran"]
    assert (served["config"].port, served["config"].workers) == (8181, 1)
    assert served["config"].http == "photostore.api.http_protocol:HttpProtocol"


async def test_objects_made_at_startup_are_left_out_of_garbage_collection() -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:9/none",
        redis_url="redis://127.0.0.1:9/0",
        kafka_brokers="127.0.0.1:9",
        metrics_port=0,
        background_tasks=False,
    )
    app = create_app(settings)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
