"""Rate limits in Redis, liveness, readiness and metrics, on one Redis and a Redis Cluster."""

from __future__ import annotations

import socket
import uuid
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from service_fixtures import REDIS_TOPOLOGIES, free_port

from photostore.api.config import Settings

pytestmark = pytest.mark.parametrize("redis_topology", REDIS_TOPOLOGIES)


async def test_rate_limit_answers_429_with_retry_after(
    settings: Settings, make_client, register
) -> None:
    limited = settings.model_copy(
        update={"rate_limit_requests": 5, "rate_limit_window_seconds": 30}
    )
    async with make_client(limited) as client:
        headers = await register(client)
        statuses = [(await client.get("/v1/photos", headers=headers)).status_code for _ in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        response = await client.get("/v1/photos", headers=headers)
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 30
        assert response.json()["error"]["code"] == "rate_limited"
        # Another user has their own budget.
        other = await register(client)
        assert (await client.get("/v1/photos", headers=other)).status_code == 200


async def test_rate_limit_is_per_user_whatever_credential_is_used(
    settings: Settings, make_client, register
) -> None:
    limited = settings.model_copy(
        update={"rate_limit_requests": 10, "rate_limit_window_seconds": 60}
    )
    async with make_client(limited) as client:
        session = await register(client)
        keys = []
        for i in range(4):  # 4 requests of the budget of 10
            response = await client.post("/v1/api-keys", headers=session, json={"name": f"k{i}"})
            keys.append({"Authorization": f"Bearer {response.json()['key']}"})
        statuses = [
            (await client.get("/v1/photos", headers=headers)).status_code
            for _ in range(3)
            for headers in [session, *keys]
        ]
    assert statuses.count(200) == 6
    assert statuses[6:] == [429] * 9


async def test_live_api_keys_are_capped_per_user(settings: Settings, make_client, register) -> None:
    async with make_client(settings.model_copy(update={"api_keys_max_per_user": 2})) as client:
        headers = await register(client)
        made = [
            await client.post("/v1/api-keys", headers=headers, json={"name": f"k{i}"})
            for i in range(3)
        ]
        assert [r.status_code for r in made] == [201, 201, 409]
        assert "at most 2 live API keys" in made[2].json()["error"]["message"]
        first = made[0].json()["id"]
        assert (await client.delete(f"/v1/api-keys/{first}", headers=headers)).status_code == 204
        again = await client.post("/v1/api-keys", headers=headers, json={"name": "k3"})
        assert again.status_code == 201


def _login(client: httpx.AsyncClient, email: str, password: str, via: str | None = None) -> Any:
    headers = {"X-Forwarded-For": via} if via else {}
    return client.post(
        "/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


async def test_failed_logins_are_limited_per_account_from_any_address(
    settings: Settings, make_client
) -> None:
    limited = settings.model_copy(
        update={
            "login_failures_per_account": 3,
            "trusted_proxies": [ip_network("127.0.0.0/8")],  # the test client's peer
        }
    )
    async with make_client(limited) as client:
        email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "the right one"}
        assert (await client.post("/v1/auth/register", json=body)).status_code == 201
        statuses = [
            (await _login(client, email, "wrong guess", via=f"203.0.113.{i}")).status_code
            for i in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        # Even the right password waits for the window: the account is under attack.
        assert (await _login(client, email, "the right one", via="198.51.100.7")).status_code == 429
        # Other accounts are not affected.
        other = f"other-{uuid.uuid4().hex[:8]}@example.com"
        await client.post("/v1/auth/register", json={"email": other, "password": "password1"})
        assert (await _login(client, other, "password1")).status_code == 200


async def test_login_attempts_and_registrations_are_limited_per_address(
    settings: Settings, make_client
) -> None:
    limited = settings.model_copy(
        update={"login_attempts_per_address": 3, "registrations_per_address": 2}
    )
    async with make_client(limited) as client:
        logins = [
            (await _login(client, f"n{i}@example.com", "password1")).status_code for i in range(4)
        ]
        assert logins == [401, 401, 401, 429]
        registrations = [
            (
                await client.post(
                    "/v1/auth/register",
                    json={"email": f"r{uuid.uuid4().hex[:8]}@example.com", "password": "password1"},
                )
            ).status_code
            for _ in range(3)
        ]
        assert registrations == [201, 201, 429]


@pytest.mark.parametrize(
    ("trusted", "forwarded", "shared"),
    [
        # No trusted proxy: X-Forwarded-For is the client's own claim and changes nothing.
        ([], ["198.51.100.1", "198.51.100.2"], True),
        # A trusted proxy: each forwarded client has its own budget...
        (["127.0.0.0/8"], ["198.51.100.1", "198.51.100.2"], False),
        # ...but only the right-most untrusted address counts, not what the client put left.
        (["127.0.0.0/8"], ["6.6.6.1, 198.51.100.1", "6.6.6.2, 198.51.100.1"], True),
        (["127.0.0.0/8", "10.0.0.0/8"], ["6.6.6.1, 198.51.100.1, 10.1.1.1", "198.51.100.1"], True),
    ],
    ids=["untrusted-peer", "trusted-peer", "spoofed-left", "proxy-chain"],
)
async def test_forwarded_for_counts_only_through_trusted_proxies(
    settings: Settings,
    make_client,
    trusted: list[str],
    forwarded: list[str],
    shared: bool,
) -> None:
    limited = settings.model_copy(
        update={
            "login_attempts_per_address": 2,
            "trusted_proxies": [ip_network(cidr) for cidr in trusted],
        }
    )
    async with make_client(limited) as client:
        first = [(await _login(client, "a@example.com", "password1", forwarded[0])).status_code]
        first.append((await _login(client, "a@example.com", "password1", forwarded[0])).status_code)
        second = (await _login(client, "a@example.com", "password1", forwarded[1])).status_code
    assert first == [401, 401]
    assert second == (429 if shared else 401)


async def test_health_and_ready_on_the_api_port_metrics_on_their_own(
    settings: Settings, make_client, register
) -> None:
    port = free_port()
    async with make_client(settings.model_copy(update={"metrics_port": port})) as client:
        assert (await client.get("/health")).json()["status"] == "ok"
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {
            "postgres": "ok",
            "redis": "ok",
            "kafka": "ok",
            "s3": "ok",
        }
        headers = await register(client)
        photo_id = "00000000-0000-0000-0000-000000000001"
        assert (await client.get(f"/v1/photos/{photo_id}", headers=headers)).status_code == 404
        await client.get("/no/such/route")
        assert (await client.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as scraper:
            metrics = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
    labels = 'method="GET",route="/v1/photos/{photo_id}",service="api",status="404"'
    assert f"http_requests_total{{{labels}}} 1.0" in metrics
    assert photo_id not in metrics
    assert 'route="<unmatched>"' in metrics
    assert "http_request_duration_seconds_bucket{" in metrics
    with socket.socket() as sock:  # the listener is closed with the app
        assert sock.connect_ex(("127.0.0.1", port)) != 0


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/photos" in spec["paths"]
    assert "multipart/form-data" in spec["paths"]["/v1/photos"]["post"]["requestBody"]["content"]


async def test_made_up_tokens_are_limited_per_address(settings: Settings, make_client) -> None:
    limited = settings.model_copy(
        update={"bad_tokens_per_address": 3, "bad_token_window_seconds": 30}
    )
    async with make_client(limited) as client:
        statuses = [
            (
                await client.get("/v1/photos", headers={"Authorization": f"Bearer pss_guess{i}"})
            ).status_code
            for i in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]
