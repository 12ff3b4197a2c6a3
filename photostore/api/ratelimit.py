"""Fixed-window rate limiting in Redis: N events per window per key.

Keys are a user (every request with a credential), a client address (registration,
login attempts, unknown tokens) or an account (failed logins). The window is counted
with INCR and given its expiry by the first event in it, so every replica of the API
shares one count. Each check is one Lua script on one key: one round trip, one slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from photostore.api.errors import ApiError
from photostore.api.redis_client import RedisClient

# KEYS: the window's key. ARGV: window seconds. -> {count, ttl}
_HIT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('TTL', KEYS[1])}
"""

# KEYS: the window's key. -> {count, ttl}
_PEEK = """
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1])}
"""


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_seconds: int

    def check(self, count: int, ttl: int) -> None:
        """Raise 429 with Retry-After when this request is over the limit."""
        if count > self.requests:
            self._refuse(ttl)

    async def hit(self, redis: RedisClient, key: str) -> None:
        """Count one event; 429 when it is over the limit."""
        count, ttl = await redis.register_script(_HIT)(keys=[key], args=[self.window_seconds])
        self.check(int(count), int(ttl))

    async def refuse_if_spent(self, redis: RedisClient, key: str) -> None:
        """429 when the window is already full, without counting this request."""
        count, ttl = await redis.register_script(_PEEK)(keys=[key])
        if int(count) >= self.requests:
            self._refuse(int(ttl))

    def _refuse(self, ttl: int) -> None:
        retry_after = ttl if ttl > 0 else self.window_seconds
        raise ApiError(
            429,
            "rate_limited",
            f"more than {self.requests} requests in {self.window_seconds} s",
            details={"retry_after_seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
