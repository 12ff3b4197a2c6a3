"""`python -m photostore api` serves the app with uvicorn, configured from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
from psycopg.conninfo import conninfo_to_dict

from photostore.api.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_api_command_serves_health_ready_and_openapi(settings: Settings) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PHOTOSTORE_API_PORT": str(port),
        "PHOTOSTORE_DATABASE_URL": settings.database_url.get_secret_value(),
        "PHOTOSTORE_REDIS_URL": settings.redis_url.get_secret_value(),
        "PHOTOSTORE_REDIS_PREFIX": settings.redis_prefix,
        "PHOTOSTORE_KAFKA_BROKERS": settings.kafka_brokers,
        "PHOTOSTORE_KAFKA_TOPIC": settings.kafka_topic,
        "PHOTOSTORE_S3_BUCKET": settings.s3_bucket,
        "PHOTOSTORE_S3_REGION": settings.s3_region,
        "PHOTOSTORE_S3_ENDPOINT": settings.s3_endpoint or "",
        "PHOTOSTORE_S3_ACCESS_KEY": settings.s3_access_key.get_secret_value()
        if settings.s3_access_key
        else "",
        "PHOTOSTORE_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value()
        if settings.s3_secret_key
        else "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "photostore", "api", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the API exited"
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"{base}/ready", timeout=10).json()["status"] == "ok"
        assert httpx.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # No secret reaches the logs.
    secrets = [
        conninfo_to_dict(settings.database_url.get_secret_value()).get("password"),
        urlsplit(settings.redis_url.get_secret_value()).password,
        settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
    ]
    assert output
    for secret in secrets:
        assert secret
        assert str(secret).encode() not in output
