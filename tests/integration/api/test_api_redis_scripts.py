"""LeanScript (redis_scripts.py) against the environment's single Redis server."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from service_fixtures import redis_overrides

from photostore.api.config import Settings
from photostore.api.redis_client import create_redis
from photostore.api.redis_scripts import LeanScript, script_caller

# A script of its own (no other test's SCRIPT FLUSH or cache matters): its key and argument.
ECHO = "redis.call('INCR', KEYS[1]) return ARGV[1]  -- photostore redis_scripts test"


@pytest.fixture
async def single(settings: Settings) -> AsyncIterator[aioredis.Redis[bytes]]:
    client = cast("aioredis.Redis[bytes]", create_redis(settings))
    yield client
    await client.aclose()


@pytest.fixture
async def echo(
    single: aioredis.Redis[bytes], settings: Settings
) -> AsyncIterator[tuple[LeanScript, str]]:
    """ECHO as a LeanScript on the single server, and a key of this test's for it."""
    key = f"{settings.redis_prefix}{{t:{uuid.uuid4().hex[:8]}}}:n"
    script = LeanScript(single, ECHO, timeout=3)
    yield script, key
    await script.aclose()
    await single.delete(key)


async def test_a_script_flushed_from_the_server_is_sent_again(
    single: aioredis.Redis[bytes], echo: tuple[LeanScript, str]
) -> None:
    script, key = echo
    assert await script(keys=[key], args=["one"]) == b"one"
    await single.script_flush()
    assert await script(keys=[key], args=["two"]) == b"two"
    assert await script(keys=[key], args=["three"]) == b"three"
    assert await single.get(key) == b"3"


async def test_a_connection_closed_by_the_server_is_replaced_and_the_call_answers(
    single: aioredis.Redis[bytes], echo: tuple[LeanScript, str]
) -> None:
    script, key = echo
    assert await script(keys=[key], args=["before"]) == b"before"
    (idle,) = script._idle
    await idle.send_command("CLIENT", "ID")
    client_id = await idle.read_response()
    assert await single.execute_command("CLIENT", "KILL", "ID", client_id) == 1
    assert await script(keys=[key], args=["after"]) == b"after"
    assert await script(keys=[key], args=["again"]) == b"again"


async def test_a_cancelled_call_leaves_no_reply_for_the_next_one(
    echo: tuple[LeanScript, str],
) -> None:
    script, key = echo
    assert await script(keys=[key], args=["warm"]) == b"warm"
    for attempt in range(20):
        first = asyncio.create_task(script(keys=[key], args=[f"cancelled-{attempt}"]))
        for _ in range(attempt % 4 + 1):
            await asyncio.sleep(0)
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        assert await script(keys=[key], args=[f"next-{attempt}"]) == f"next-{attempt}".encode()


async def test_a_server_that_does_not_answer_ends_in_redis_timeout_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads every command, answers none
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client: aioredis.Redis[bytes] = aioredis.Redis(
        host="127.0.0.1", port=port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    echo = LeanScript(client, ECHO, timeout=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            await echo(keys=["k"], args=["x"])
        assert time.monotonic() - started < 2
        assert echo._idle == []
    finally:
        await echo.aclose()
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_only_a_single_server_gets_lean_scripts(
    env: dict[str, str], settings: Settings
) -> None:
    nodes = redis_overrides(env, "cluster")["redis_cluster_nodes"]
    cluster: Any = create_redis(
        settings.model_copy(update={"redis_cluster_nodes": nodes.split(",")})
    )
    single: Any = create_redis(settings)
    try:
        assert not isinstance(script_caller(cluster, ECHO, timeout=1), LeanScript)
        assert isinstance(script_caller(single, ECHO, timeout=1), LeanScript)
    finally:
        await cluster.aclose()
        await single.aclose()
