"""Uploads while a Kafka broker dies: no event lost, and a repeat only where delivery was retried.

The topic has three replicas and min.insync.replicas=2, as the sample asks; the broker that
leads most of its partitions is killed (SIGKILL, a crash, not a clean shutdown) in the middle
of the uploads, then started again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from photostore.api.config import Settings
from photostore.events import consumer_config
from photostore.local_env import env_file

REPO_ROOT = Path(__file__).resolve().parents[3]
UPLOADS = 30


@pytest.fixture
def replicated_topic(env: dict[str, str]) -> Iterator[str]:
    admin = AdminClient({"bootstrap.servers": env["PHOTOSTORE_KAFKA_BROKERS"]})
    name = f"photoUpload.outage.{uuid.uuid4().hex[:8]}"
    topic = NewTopic(name, 6, 3, config={"min.insync.replicas": "2"})
    admin.create_topics([topic], operation_timeout=30)[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(60)


def _busiest_leader(brokers: str, topic: str) -> int:
    partitions = AdminClient({"bootstrap.servers": brokers}).list_topics(topic, timeout=10)
    leaders = Counter(p.leader for p in partitions.topics[topic].partitions.values())
    return leaders.most_common(1)[0][0]


def _kill_broker(broker: int) -> None:
    pid = int((env_file().parent / "run" / f"kafka-{broker}.pid").read_text())
    os.killpg(pid, signal.SIGKILL)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _start_missing_brokers() -> None:
    subprocess.run(
        [str(REPO_ROOT / "hack/env/up.sh"), "kafka"], check=True, capture_output=True, timeout=180
    )


def _outbox(database_url: str, keys: list[str]) -> dict[str, tuple[bool, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT key, published_at IS NOT NULL, attempts FROM outbox WHERE key = ANY(%s)",
            (keys,),
        ).fetchall()
    return {key: (published, attempts) for key, published, attempts in rows}


def _read_topic(brokers: str, topic: str, expected: int, timeout: float = 60.0) -> Counter[str]:
    consumer = Consumer(consumer_config(brokers, f"outage-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    seen: Counter[str] = Counter()
    idle_after = None
    deadline = time.monotonic() + timeout
    try:
        # Read until every event arrived and nothing more came for 3 s (to see repeats).
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len(seen) >= expected and idle_after and time.monotonic() > idle_after:
                    break
                continue
            seen[message.key().decode()] += 1
            idle_after = time.monotonic() + 3
    finally:
        consumer.close()
    return seen


@pytest.mark.timeout(600)
async def test_uploads_survive_a_crashed_broker_with_no_event_lost(
    settings: Settings,
    make_client,
    register,
    upload,
    database_url: str,
    env: dict[str, str],
    replicated_topic: str,
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    live = settings.model_copy(
        update={
            "kafka_brokers": brokers,
            "kafka_topic": replicated_topic,
            "background_tasks": True,
            "outbox_poll_seconds": 0.2,
        }
    )
    victim = _busiest_leader(brokers, replicated_topic)
    statuses: list[int] = []
    photo_ids: list[str] = []
    outbox: dict[str, tuple[bool, int]] = {}
    try:
        async with make_client(live) as client:
            headers = await register(client)
            for i in range(UPLOADS):
                if i == UPLOADS // 3:
                    await asyncio.to_thread(_kill_broker, victim)
                response = await upload(client, headers)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    photo_ids.append(response.json()["id"])
            # The relay keeps at it while the cluster elects new leaders.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                outbox = _outbox(database_url, photo_ids)
                if len(outbox) == len(photo_ids) and all(p for p, _ in outbox.values()):
                    break
                await asyncio.sleep(0.5)
            # Read before the broker is back: two in-sync replicas take every write.
            outbox = _outbox(database_url, photo_ids)
    finally:
        await asyncio.to_thread(_start_missing_brokers)

    assert statuses == [201] * UPLOADS
    assert all(published for published, _ in outbox.values()), outbox
    seen = _read_topic(brokers, replicated_topic, len(photo_ids))
    assert set(seen) == set(photo_ids), "events lost"
    # The idempotent producer never repeats a message by itself; a repeat can only come
    # from the relay sending again a row whose delivery was not acknowledged, which the
    # processor absorbs (it keys its work by photo id).
    repeated = {key for key, count in seen.items() if count > 1}
    assert all(outbox[key][1] >= 1 for key in repeated), (repeated, outbox)
