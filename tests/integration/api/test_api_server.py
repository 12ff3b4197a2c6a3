"""`python -m photostore api` serves the app with uvicorn, configured from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from psycopg.conninfo import conninfo_to_dict
from service_fixtures import free_port

from photostore.api.config import Settings


def api_env(settings: Settings, port: int, metrics_port: int) -> dict[str, str]:
    """The environment of `photostore api` on these ports, against the test's servers."""
    return {
        **os.environ,
        "PHOTOSTORE_API_PORT": str(port),
        "PHOTOSTORE_METRICS_PORT": str(metrics_port),
        "PHOTOSTORE_LOGIN_ATTEMPTS_PER_ADDRESS": "2",
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


def test_the_api_command_serves_health_ready_and_openapi(settings: Settings) -> None:
    port, metrics_port = free_port(), free_port()
    env = api_env(settings, port, metrics_port)
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
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert 'route="/ready"' in metrics.text
        # uvicorn's own proxy-header handling is off: a forwarded address is not believed
        # (seen through the limit of logins per client address, 2 here).
        logins = [
            httpx.post(
                f"{base}/v1/auth/login",
                json={"email": "nobody@example.com", "password": "password1"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
                timeout=10,
            ).status_code
            for i in range(3)
        ]
        assert logins == [401, 401, 429]
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


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (from /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = f"0100007F:{port:04X}"
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")


def test_the_api_with_two_workers_listens_once_per_worker(settings: Settings) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "photostore", "api", "--host", "127.0.0.1", "--workers", "2"],
        env=api_env(settings, port, 0),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while listening_sockets(port) < 2 and time.monotonic() < deadline:
            assert server.poll() is None, "the API exited"
            time.sleep(0.2)
        # Each worker on its own socket (uvicorn alone: one socket, shared).
        assert listening_sockets(port) == 2
        for _ in range(20):  # new connections, whichever worker each reaches
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert server.returncode == 0
    assert listening_sockets(port) == 0
