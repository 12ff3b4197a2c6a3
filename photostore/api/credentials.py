"""The credential cache, shared by every API process through Redis, and its invalidation.

A bearer credential found valid in PostgreSQL is remembered for `AUTH_CACHE_SECONDS` as
"user_id epoch expiry", where epoch is the user's `credential_epoch` read in the same query: in
Redis (`{c:<digest>}:auth`, for every process) and in this process. Every change that ends
a credential (logout, API key revoked, account disabled or deleted) raises the epoch in
PostgreSQL and then the copy in Redis (`{u:<user>}:authv`). A remembered credential counts
only while its epoch equals that copy, so the next request through any process goes back
to PostgreSQL and finds the credential gone.

The copy in Redis only ever rises (a lookup that read an older epoch before the change
committed cannot lower it); a credential whose epoch copy is missing counts as not cached.

The epoch check, the user's rate-limit count and the user's last write position
(read-your-writes, read_router.py) are one Lua script on the user's hash slot, so a request
whose credential this process remembers costs one Redis round trip, on a Redis Cluster too.
A process that does not remember it yet reads the Redis entry first (one more round trip,
once per credential and process per `AUTH_CACHE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from photostore.api.redis_client import RedisClient
from photostore.api.redis_keys import RedisKeys
from photostore.api.redis_scripts import LeanScript, script_caller

# A valid credential is remembered this long (a safety net: invalidation is by epoch).
AUTH_CACHE_SECONDS = 60
# The epoch copy outlives every cache entry that could refer to it.
EPOCH_TTL_SECONDS = 3600
# A user's last write position is kept this long: far longer than any replica may lag
# before reads skip it, so an expired position can no longer matter.
WRITE_POSITION_TTL_SECONDS = 600
# Credentials remembered in one process at most (the least recently checked go first).
LOCAL_ENTRIES = 10_000
# How long the per-request check waits for Redis before it is retried (redis_scripts.py).
CHECK_TIMEOUT_SECONDS = 3.0

# KEYS: epoch, rate, write position (one user). ARGV: epoch, window.
# -> false (epoch not current) | {count, ttl, write position}
_CHECK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
return {count, redis.call('TTL', KEYS[2]), redis.call('GET', KEYS[3]) or '0'}
"""

# KEYS: epoch key. ARGV: epoch, epoch ttl. -> the epoch now current.
_RAISE_EPOCH = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local epoch = tonumber(ARGV[1])
if epoch > current then current = epoch end
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current
"""

# KEYS: epoch, rate, write position (one user). ARGV: epoch, epoch ttl, window.
# -> {current (1: the epoch read is current), count, ttl, write position}. An older epoch is
# not made current; a newer one is (after a database restore, say, it would otherwise
# never be matched).
_REMEMBER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local epoch = tonumber(ARGV[1])
local fresh = 0
if epoch >= current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  fresh = 1
end
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
return {fresh, count, redis.call('TTL', KEYS[2]), redis.call('GET', KEYS[3]) or '0'}
"""

# KEYS: write position. ARGV: position, ttl. Positions only rise.
_RECORD_WRITE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class CheckedCredential:
    """A current credential's user, this request's count in their window, their last write."""

    user_id: UUID
    count: int
    ttl: int
    write_position: int


@dataclass(frozen=True)
class _Remembered:
    user_id: UUID
    epoch: int
    until: float


class CredentialCache:
    def __init__(
        self,
        redis: RedisClient,
        keys: RedisKeys,
        *,
        local_entries: int = LOCAL_ENTRIES,
        timeout: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self._local: OrderedDict[bytes, _Remembered] = OrderedDict()
        self._local_entries = local_entries
        # The one script of every request: without redis-py's per-call machinery.
        self._check = script_caller(redis, _CHECK, timeout=timeout)
        self._remember = redis.register_script(_REMEMBER)
        self._raise_epoch = redis.register_script(_RAISE_EPOCH)
        self._record_write = redis.register_script(_RECORD_WRITE)

    def _user_keys(self, user: str) -> list[str]:
        return [
            self.keys.user(user, "authv"),
            self.keys.user(user, "rl"),
            self.keys.user(user, "wal"),
        ]

    async def cached(self, digest: bytes, window_seconds: int) -> CheckedCredential | None:
        """The user of a remembered, still current credential, counted against their limit."""
        remembered = self._local.get(digest)
        if remembered is None or remembered.until < time.monotonic():
            remembered = await self._from_redis(digest)
            if remembered is None:
                self._local.pop(digest, None)
                return None
        found = await self._check(
            keys=self._user_keys(str(remembered.user_id)),
            args=[remembered.epoch, window_seconds],
        )
        if not found:
            self._local.pop(digest, None)
            return None
        self._keep(digest, remembered)
        count, ttl, position = found
        return CheckedCredential(remembered.user_id, int(count), int(ttl), int(position))

    async def remember(
        self, digest: bytes, user_id: UUID, epoch: int, window_seconds: int
    ) -> CheckedCredential:
        """Remember a credential just found valid in PostgreSQL; count the request."""
        user = str(user_id)
        checked, _ = await asyncio.gather(
            self._remember(
                keys=self._user_keys(user), args=[epoch, EPOCH_TTL_SECONDS, window_seconds]
            ),
            # On its own slot; a stale epoch in it never passes the check above.
            self.redis.set(
                self.keys.credential(digest),
                f"{user} {epoch} {time.time() + AUTH_CACHE_SECONDS:.0f}",
                ex=AUTH_CACHE_SECONDS,
            ),
        )
        fresh, count, ttl, position = checked
        if int(fresh):
            self._keep(digest, _Remembered(user_id, epoch, time.monotonic() + AUTH_CACHE_SECONDS))
        return CheckedCredential(user_id, int(count), int(ttl), int(position))

    async def end_credentials(self, user_id: UUID, epoch: int) -> None:
        """Publish the user's new epoch (already committed): cached credentials stop counting."""
        await self._raise_epoch(
            keys=[self.keys.user(str(user_id), "authv")], args=[epoch, EPOCH_TTL_SECONDS]
        )
        for digest in [d for d, r in self._local.items() if r.user_id == user_id]:
            self._local.pop(digest, None)

    async def record_write(self, user_id: UUID, position: int) -> None:
        """The user wrote up to WAL `position`: their reads wait for a replica that has it."""
        await self._record_write(
            keys=[self.keys.user(str(user_id), "wal")],
            args=[position, WRITE_POSITION_TTL_SECONDS],
        )

    async def aclose(self) -> None:
        """Close the check's own connections (a single Redis server; redis_scripts.py)."""
        if isinstance(self._check, LeanScript):
            await self._check.aclose()

    async def _from_redis(self, digest: bytes) -> _Remembered | None:
        raw = await self.redis.get(self.keys.credential(digest))
        if raw is None:
            return None
        try:
            user, epoch, until = raw.decode().split(" ")
            left = min(float(until) - time.time(), AUTH_CACHE_SECONDS)
            return _Remembered(UUID(user), int(epoch), time.monotonic() + left)
        except ValueError:
            return None

    def _keep(self, digest: bytes, remembered: _Remembered) -> None:
        self._local[digest] = remembered
        self._local.move_to_end(digest)
        while len(self._local) > self._local_entries:
            self._local.popitem(last=False)
