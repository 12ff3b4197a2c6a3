"""LeanScript packs EVALSHA exactly as redis-py's pack_command does."""

from __future__ import annotations

from hashlib import sha1

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

from photostore.api.redis_scripts import LeanScript

SCRIPT = "return ARGV[1]"


def test_evalsha_is_packed_as_redis_py_packs_it() -> None:
    keys = ["p:{u:1}:authv", "p:{u:1}:rl", "p:{u:ü}:wal"]
    args: list[str | int] = ["7", 60, -3, "", "é" * 40]
    sha = sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()
    expected = b"".join(Connection().pack_command("EVALSHA", sha, len(keys), *keys, *args))
    assert LeanScript(aioredis.Redis(), SCRIPT, timeout=1).pack_evalsha(keys, args) == expected
