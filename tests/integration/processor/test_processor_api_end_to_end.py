"""End to end: photos uploaded through the real API are processed by the processor command.

The API runs in-process with its outbox relay on (it publishes the upload events to this
test's topic); the processor runs as `python -m photostore processor` in a subprocess.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from processor_harness import (
    CORRUPT_JPEG,
    ProcessorRun,
    Topics,
    jpeg_photo,
    read_topic,
    unique,
)
from service_fixtures import api_settings

from photostore.api.app import create_app


async def _login(client: httpx.AsyncClient) -> dict[str, str]:
    credentials = {"email": f"{unique('p')}@example.com", "password": "correct horse"}
    assert (await client.post("/v1/auth/register", json=credentials)).status_code == 201
    response = await client.post("/v1/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_photos_uploaded_through_the_api_are_processed(
    env: dict[str, str],
    database_url: str,
    bucket: str,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
) -> None:
    settings = api_settings(
        env,
        database_url=database_url,
        bucket=bucket,
        topic=topics.events,
        redis_prefix=f"photostore-proc-test:{uuid.uuid4().hex[:8]}:",
        rate_limit_requests=10_000,
        outbox_poll_seconds=0.2,
    )
    app = create_app(settings)
    run = start_processor(topics, unique("group-"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
        ) as client,
    ):
        headers = await _login(client)
        uploads = [(f"photo{i}.jpg", jpeg_photo(i, (1600, 1200))) for i in range(4)]
        uploads.append(("broken.jpg", CORRUPT_JPEG))
        ids: dict[str, str] = {}
        for name, payload in uploads:
            response = await client.post(
                "/v1/photos", headers=headers, files={"file": (name, payload, "image/jpeg")}
            )
            assert response.status_code == 201, response.text
            ids[name] = response.json()["id"]

        photos: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for name, photo_id in ids.items():
                response = await client.get(f"/v1/photos/{photo_id}", headers=headers)
                photos[name] = response.json()
            if all(p["processing_status"] in {"done", "failed"} for p in photos.values()):
                break
            assert run.process.poll() is None, run.log()
            await asyncio.sleep(0.2)

    for name, _ in uploads[:4]:
        photo = photos[name]
        assert photo["processing_status"] == "done", (photo, run.log())
        assert (photo["width"], photo["height"]) == (1600, 1200)
        assert photo["thumbnails"] == ["grid", "preview"]
    assert photos["broken.jpg"]["processing_status"] == "failed"
    assert "undecodable" in photos["broken.jpg"]["processing_error"]
    letters = read_topic(env["PHOTOSTORE_KAFKA_BROKERS"], topics.dead_letters, expected=1)
    assert [m.key() for m in letters] == [ids["broken.jpg"].encode()]
    assert run.stop() == 0, run.log()
