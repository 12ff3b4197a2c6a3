"""LeanScript (redis_scripts.py) against the environment's single Redis server."""

from __future__ import annotations

import asyncio
import contextlib
import time
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


async def test_a_script_flushed_from_the_server_is_sent_again(
    single: aioredis.Redis[bytes], settings: Settings
) -> None:
    key = f"{settings.redis_prefix}{{t:flush}}:n"
    echo = LeanScript(single, ECHO, timeout=3)
    try:
        assert await echo(keys=[key], args=["one"]) == b"one"
        await single.script_flush()
        assert await echo(keys=[key], args=["two"]) == b"two"
        assert await echo(keys=[key], args=["three"]) == b"three"
        assert await single.get(key) == b"3"
    finally:
        await echo.aclose()
        await single.delete(key)


async def test_a_connection_closed_by_the_server_is_replaced_and_the_call_answers(
    single: aioredis.Redis[bytes], settings: Settings
) -> None:
    key = f"{settings.redis_prefix}{{t:kill}}:n"
    echo = LeanScript(single, ECHO, timeout=3)
    try:
        assert await echo(keys=[key], args=["before"]) == b"before"
        (idle,) = echo._idle
        await idle.send_command("CLIENT", "ID")
        client_id = await idle.read_response()
        assert await single.execute_command("CLIENT", "KILL", "ID", client_id) == 1
        assert await echo(keys=[key], args=["after"]) == b"after"
        assert await echo(keys=[key], args=["again"]) == b"again"
    finally:
        await echo.aclose()
        await single.delete(key)


async def test_a_cancelled_call_leaves_no_reply_for_the_next_one(
    single: aioredis.Redis[bytes], settings: Settings
) -> None:
    key = f"{settings.redis_prefix}{{t:cancel}}:n"
    echo = LeanScript(single, ECHO, timeout=3)
    try:
        assert await echo(keys=[key], args=["warm"]) == b"warm"
        for attempt in range(20):
            first = asyncio.create_task(echo(keys=[key], args=[f"cancelled-{attempt}"]))
            for _ in range(attempt % 4 + 1):
                await asyncio.sleep(0)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            assert await echo(keys=[key], args=[f"next-{attempt}"]) == f"next-{attempt}".encode()
    finally:
        await echo.aclose()
        await single.delete(key)


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
