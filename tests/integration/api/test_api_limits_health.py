"""Rate limits in Redis, liveness, readiness and metrics."""

from __future__ import annotations

import httpx

from photostore.api.config import Settings


async def test_rate_limit_answers_429_with_retry_after(
    settings: Settings, make_client, register
) -> None:
    limited = settings.model_copy(
        update={"rate_limit_requests": 5, "rate_limit_window_seconds": 30}
    )
    async with make_client(limited) as client:
        headers = await register(client)  # 2 requests from this address
        statuses = [(await client.get("/v1/photos", headers=headers)).status_code for _ in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        response = await client.get("/v1/photos", headers=headers)
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 30
        assert response.json()["error"]["code"] == "rate_limited"
        # Another client (credential) has its own budget.
        other = await register(client)
        assert (await client.get("/v1/photos", headers=other)).status_code == 200
        # Unauthenticated routes count per address: 2 + 2 used above, the 6th is refused.
        body = {"email": "nobody@example.com", "password": "password1"}
        login = [(await client.post("/v1/auth/login", json=body)).status_code for _ in range(2)]
        assert login == [401, 429]


async def test_health_ready_and_metrics(client: httpx.AsyncClient, register) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok", "kafka": "ok", "s3": "ok"}
    headers = await register(client)
    photo_id = "00000000-0000-0000-0000-000000000001"
    assert (await client.get(f"/v1/photos/{photo_id}", headers=headers)).status_code == 404
    await client.get("/no/such/route")
    metrics = (await client.get("/metrics")).text
    labels = 'method="GET",route="/v1/photos/{photo_id}",service="api",status="404"'
    assert f"http_requests_total{{{labels}}} 1.0" in metrics
    assert photo_id not in metrics
    assert 'route="<unmatched>"' in metrics
    assert "http_request_duration_seconds_bucket{" in metrics


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/photos" in spec["paths"]
    assert "multipart/form-data" in spec["paths"]["/v1/photos"]["post"]["requestBody"]["content"]


async def test_made_up_tokens_are_limited_per_address(settings: Settings, make_client) -> None:
    limited = settings.model_copy(
        update={"rate_limit_requests": 3, "rate_limit_window_seconds": 30}
    )
    async with make_client(limited) as client:
        statuses = [
            (
                await client.get("/v1/photos", headers={"Authorization": f"Bearer pss_guess{i}"})
            ).status_code
            for i in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]
