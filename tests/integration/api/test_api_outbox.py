"""The outbox relay against real Kafka: no event lost while the broker is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import psycopg
from confluent_kafka import Consumer, Producer

from photostore.api.config import Settings
from photostore.api.outbox_relay import relay_once
from photostore.db.pool import create_pool
from photostore.events import PhotoUploaded, consumer_config, producer_config


def _consume(brokers: str, topic: str, wanted: set[str], timeout: float = 30.0) -> dict[str, Any]:
    """Read `topic` from the start until every key in `wanted` was seen."""
    consumer = Consumer(consumer_config(brokers, f"api-test-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    found: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    try:
        while not wanted <= found.keys() and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            key = message.key().decode()
            if key in wanted:
                found[key] = PhotoUploaded.from_json(message.value())
    finally:
        consumer.close()
    return found


def _unpublished(database_url: str, key: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE published_at IS NULL), max(attempts) FROM outbox"
            " WHERE key = %s",
            (key,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1] or 0)


async def test_event_survives_a_dead_broker_and_goes_out_when_it_is_back(
    settings: Settings, make_client, register, upload, database_url, env
) -> None:
    dead = settings.model_copy(update={"kafka_brokers": "127.0.0.1:1"})
    async with make_client(dead) as client:
        # Kafka being down does not stop uploads: the event waits in the outbox.
        response = await upload(client, await register(client))
        assert response.status_code == 201
        # Nor does it take the pod out of the Service: readiness reports Kafka only.
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["kafka"].startswith("unavailable")
    photo_id = response.json()["id"]

    pool = create_pool(database_url, min_size=1, max_size=2)
    await pool.open()
    try:
        dead_producer = Producer(producer_config("127.0.0.1:1", **{"message.timeout.ms": 2000}))
        published, failed = await relay_once(pool, dead_producer)
        assert published == 0 and failed >= 1
        assert _unpublished(database_url, photo_id) == (1, 1)

        live_producer = Producer(producer_config(env["PHOTOSTORE_KAFKA_BROKERS"]))
        while (await relay_once(pool, live_producer))[0]:
            pass
        assert _unpublished(database_url, photo_id)[0] == 0
    finally:
        await pool.close()

    events = _consume(env["PHOTOSTORE_KAFKA_BROKERS"], settings.kafka_topic, {photo_id})
    event = events[photo_id]
    assert str(event.photo_id) == photo_id
    assert event.sha256 == response.json()["sha256"]
    assert event.content_type == "image/jpeg"


async def test_relay_task_in_the_api_publishes_after_upload(
    settings: Settings, make_client, register, upload, database_url, env
) -> None:
    live = settings.model_copy(update={"background_tasks": True, "outbox_poll_seconds": 0.2})
    async with make_client(live) as client:
        response = await upload(client, await register(client))
        photo_id = response.json()["id"]
        for _ in range(100):
            if _unpublished(database_url, photo_id)[0] == 0:
                break
            await asyncio.sleep(0.1)
    assert _unpublished(database_url, photo_id)[0] == 0
    assert photo_id in _consume(env["PHOTOSTORE_KAFKA_BROKERS"], settings.kafka_topic, {photo_id})


async def test_old_published_rows_are_pruned_and_unpublished_ones_kept(
    database_url: str,
) -> None:
    from photostore.api.outbox_relay import prune_published

    with psycopg.connect(database_url) as conn:
        old, pending = (
            conn.execute(
                "INSERT INTO outbox (topic, key, payload, published_at) VALUES"
                " ('t', 'k', '{}', %s) RETURNING id",
                (published_at,),
            ).fetchone()[0]
            for published_at in ("2000-01-01T00:00:00Z", None)
        )
    pool = create_pool(database_url, min_size=1, max_size=1)
    await pool.open()
    try:
        assert await prune_published(pool, keep_seconds=3600) >= 1
    finally:
        await pool.close()
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT id FROM outbox WHERE id = ANY(%s)", ([old, pending],)
        ).fetchall()
    assert [r[0] for r in left] == [pending]
