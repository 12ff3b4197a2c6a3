"""A Lua script run with EVALSHA on a connection of our own, for the per-request checks.

redis-py's path for one script call (`Script.__call__` -> `execute_command`) costs some 80 to
90 µs of CPU even with hiredis: its pool's lock and bookkeeping, a retry wrapper, a task
per write (`asyncio.wait_for` for the socket timeout), a timeout context per read, its
observability hooks and response callbacks. Every request with a credential runs one
script (credentials.py), so that was about a seventh of a list request's CPU.

`LeanScript` sends EVALSHA, packed here (`pack_evalsha`), on a redis-py `Connection` (the
client's own connection class and settings: password, TLS, hiredis parser, connect timeout,
health check) kept in an idle list of its own, under one `asyncio.timeout` for the
whole round trip, and reads the raw reply (about 35 µs of CPU a call):
  - NOSCRIPT (a restarted or flushed server): the script is sent with EVAL once, on the
    same connection, which also caches it for the next EVALSHA;
  - a connection that fails (closed by the server, reset, refused) or does not answer
    within `timeout` is dropped (a late reply can reach no later call), and the call is
    made again through redis-py's path, with its reconnect, retries and errors as before
    (a Redis outage still ends in redis-py's ConnectionError or TimeoutError: 503);
  - a call cancelled midway drops its connection too, so no later call reads its reply.

Only a single Redis server gets it: a Redis Cluster client routes each script to the
master of its key's slot and follows MOVED and failovers, and keeps redis-py's path
(`script_caller`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from hashlib import sha1
from typing import Any, Protocol, cast

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from photostore.api.redis_client import RedisClient


class ScriptCall(Protocol):
    """A registered script, called as redis-py's `AsyncScript` is."""

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Any: ...


class LeanScript:
    """`script` by EVALSHA on connections of its own (module docstring); `aclose` them."""

    def __init__(self, client: aioredis.Redis[bytes], script: str, *, timeout: float) -> None:
        self._script = script.encode()
        sha = sha1(self._script, usedforsecurity=False).hexdigest()
        # redis-py's pack_command was a third of what a lean call cost; the head is made once.
        self._evalsha_sha = b"".join((_bulk("EVALSHA"), _bulk(sha)))
        self._fallback = client.register_script(script)
        pool = client.connection_pool
        # One timeout for the round trip (below) instead of redis-py's per write and read.
        self._connection_kwargs = {**pool.connection_kwargs, "socket_timeout": None}
        self._connection_class = pool.connection_class
        self._timeout = timeout
        self._idle: list[AbstractConnection] = []

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        conn = self._idle.pop() if self._idle else self._connect()
        clean = False
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._evalsha(conn, keys, args)
            clean = True
        except (TimeoutError, RedisTimeoutError, RedisConnectionError, OSError):
            # Dropped below; redis-py's path reconnects and retries, as for any other call.
            return await self._fallback(keys=keys, args=args)
        finally:
            # As in redis-py's pool, every connection once needed is kept: a cap would
            # connect anew on each call past it, just when the process is busiest.
            if clean:
                self._idle.append(conn)
            else:
                await conn.disconnect(nowait=True)
        return reply

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()

    def _connect(self) -> AbstractConnection:
        return cast(AbstractConnection, self._connection_class(**self._connection_kwargs))

    async def _evalsha(
        self, conn: AbstractConnection, keys: Sequence[str], args: Sequence[str | int]
    ) -> Any:
        await conn.send_packed_command(self.pack_evalsha(keys, args))
        try:
            return await conn.read_response()
        except NoScriptError:
            await conn.send_command("EVAL", self._script, len(keys), *keys, *args)
            return await conn.read_response()

    def pack_evalsha(self, keys: Sequence[str], args: Sequence[str | int]) -> bytes:
        """EVALSHA of this script as RESP, as redis-py's pack_command would make it."""
        tail = (len(keys), *keys, *args)
        return b"".join((b"*%d\r\n" % (len(tail) + 2), self._evalsha_sha, *map(_bulk, tail)))


def _bulk(value: str | int) -> bytes:
    """One RESP bulk string, as redis-py packs a str (UTF-8) or an int (its decimal)."""
    data = value.encode() if isinstance(value, str) else b"%d" % value
    return b"$%d\r\n%s\r\n" % (len(data), data)


def script_caller(client: RedisClient, script: str, *, timeout: float) -> ScriptCall:
    """`LeanScript` on a single Redis server; redis-py's own script on a Redis Cluster."""
    if isinstance(client, aioredis.Redis):
        return LeanScript(client, script, timeout=timeout)
    return cast(ScriptCall, client.register_script(script))
