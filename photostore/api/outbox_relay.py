"""Relay the transactional outbox to Kafka, at least once.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several API replicas share the work
without sending a row twice in normal operation; a row is marked published only after the
broker acknowledged it. While Kafka is down rows simply stay, and go out once it is back.
Consumers must tolerate a repeat (the event is keyed and idempotent by photo id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from photostore.db.pool import Pool

log = logging.getLogger(__name__)

BATCH = 200
# Longer than the producer's message.timeout.ms, so every message gets its outcome.
FLUSH_TIMEOUT_SECONDS = 15.0
MAX_BACKOFF_SECONDS = 30.0
# Published rows are kept this long (for inspection), then deleted.
KEEP_PUBLISHED_SECONDS = 24 * 3600
PRUNE_EVERY_SECONDS = 600.0


async def relay_once(pool: Pool, producer: Producer, batch: int = BATCH) -> tuple[int, int]:
    """Publish one batch of unpublished rows; return (published, failed)."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (batch,),
        )
        rows = await cur.fetchall()
        if not rows:
            return 0, 0
        outcome: dict[int, str | None] = {}

        def on_delivery(row_id: int) -> Any:
            def record(err: KafkaError | None, _: Message) -> None:
                outcome[row_id] = None if err is None else str(err)

            return record

        for row in rows:
            try:
                producer.produce(
                    row["topic"],
                    key=str(row["key"]).encode(),
                    value=json.dumps(row["payload"], separators=(",", ":")).encode(),
                    on_delivery=on_delivery(row["id"]),
                )
            except (BufferError, KafkaException) as exc:
                outcome[row["id"]] = str(exc)
        await asyncio.to_thread(producer.flush, FLUSH_TIMEOUT_SECONDS)
        published = [r["id"] for r in rows if r["id"] in outcome and outcome[r["id"]] is None]
        failed = [r["id"] for r in rows if outcome.get(r["id"], "no acknowledgement") is not None]
        if published:
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (published,)
            )
        if failed:
            error = next((outcome.get(i) for i in failed if outcome.get(i)), "no acknowledgement")
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s)",
                (error, failed),
            )
    return len(published), len(failed)


async def prune_published(pool: Pool, keep_seconds: float = KEEP_PUBLISHED_SECONDS) -> int:
    """Delete rows published more than `keep_seconds` ago; return how many."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => %s)",
            (keep_seconds,),
        )
        return cur.rowcount


async def run_relay(
    pool: Pool, producer: Producer, wakeup: asyncio.Event, *, poll_seconds: float
) -> None:
    """Relay until cancelled: at once when woken, else every poll; back off on failure."""
    delay = poll_seconds
    pruned_at = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if loop.time() - pruned_at > PRUNE_EVERY_SECONDS:
                await prune_published(pool)
                pruned_at = loop.time()
            published, failed = await relay_once(pool, producer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox relay failed: %s", type(exc).__name__)
            published, failed = 0, 1
        if failed:
            delay = min(max(delay * 2, poll_seconds), MAX_BACKOFF_SECONDS)
            log.warning("outbox relay: %d events not delivered; retrying in %.0f s", failed, delay)
        else:
            delay = poll_seconds
        if published >= BATCH:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), delay)
        wakeup.clear()
