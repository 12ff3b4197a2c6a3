"""The credential cache in Redis, shared by every API process, and its invalidation.

A bearer credential found valid in PostgreSQL is remembered for `AUTH_CACHE_SECONDS` as
"user_id epoch", where epoch is the user's `credential_epoch` read in the same query. Every
change that ends a credential (logout, API key revoked, account disabled or deleted) raises
the epoch in PostgreSQL and then the copy in Redis (`authv:<user>`). A cached entry counts
only while its epoch equals the Redis copy, so the next request through any process goes
back to PostgreSQL and finds the credential gone.

The copy in Redis only ever rises (a lookup that read an older epoch before the change
committed cannot lower it); an entry whose epoch copy is missing counts as not cached.
Each check is one Lua script, so a request costs one Redis round trip: cache lookup,
epoch comparison and the user's rate-limit count together.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import redis.asyncio as aioredis

# A valid credential is remembered this long (a safety net: invalidation is by epoch).
AUTH_CACHE_SECONDS = 60
# The epoch copy outlives every cache entry that could refer to it.
EPOCH_TTL_SECONDS = 3600

# KEYS: cache key. ARGV: key prefix, rate window. -> false | {user_id, count, ttl}
_CACHED = """
local cached = redis.call('GET', KEYS[1])
if not cached then return false end
local user, epoch = string.match(cached, '^(%S+) (%d+)$')
if not user or redis.call('GET', ARGV[1] .. 'authv:' .. user) ~= epoch then return false end
local rate = ARGV[1] .. 'rl:user:' .. user
local count = redis.call('INCR', rate)
redis.call('EXPIRE', rate, ARGV[2], 'NX')
return {user, count, redis.call('TTL', rate)}
"""

# KEYS: epoch key. ARGV: epoch, epoch ttl. -> the epoch now current.
_RAISE_EPOCH = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local epoch = tonumber(ARGV[1])
if epoch > current then current = epoch end
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current
"""

# KEYS: epoch key, cache key, rate key. ARGV: epoch, epoch ttl, user, cache ttl, window.
# -> {count, ttl}. The entry is cached only if no newer epoch is known; a newer one is
# left to expire (after a database restore, say, it would otherwise never be matched).
_REMEMBER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local epoch = tonumber(ARGV[1])
if epoch >= current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3] .. ' ' .. ARGV[1], 'EX', ARGV[4])
end
local count = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[5], 'NX')
return {count, redis.call('TTL', KEYS[3])}
"""


@dataclass(frozen=True)
class CachedCredential:
    user_id: UUID
    count: int
    ttl: int


class CredentialCache:
    def __init__(self, redis: aioredis.Redis[bytes], prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._cached = redis.register_script(_CACHED)
        self._remember = redis.register_script(_REMEMBER)
        self._raise_epoch = redis.register_script(_RAISE_EPOCH)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def cached(self, digest: bytes, window_seconds: int) -> CachedCredential | None:
        """The user of a cached, still current credential, counted against the user's limit."""
        found = await self._cached(
            keys=[self._key("auth", digest.hex())], args=[self.prefix, window_seconds]
        )
        if not found:
            return None
        user, count, ttl = found
        return CachedCredential(UUID(user.decode()), int(count), int(ttl))

    async def remember(
        self, digest: bytes, user_id: UUID, epoch: int, window_seconds: int
    ) -> tuple[int, int]:
        """Cache a credential just found valid; count the request. Returns (count, ttl)."""
        user = str(user_id)
        count, ttl = await self._remember(
            keys=[
                self._key("authv", user),
                self._key("auth", digest.hex()),
                self._key("rl", "user", user),
            ],
            args=[epoch, EPOCH_TTL_SECONDS, user, AUTH_CACHE_SECONDS, window_seconds],
        )
        return int(count), int(ttl)

    async def end_credentials(self, user_id: UUID, epoch: int) -> None:
        """Publish the user's new epoch (already committed): cached credentials stop counting."""
        await self._raise_epoch(
            keys=[self._key("authv", str(user_id))], args=[epoch, EPOCH_TTL_SECONDS]
        )
