"""Fixed-window rate limiting in Redis: N events per window per key.

Keys are a user (every request with a credential), a client address (registration,
login attempts, unknown tokens) or an account (failed logins). The window is counted
with INCR and given its expiry by the first event in it, so every replica of the API
shares one count.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from photostore.api.errors import ApiError


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_seconds: int

    def queue(self, pipe: Pipeline[bytes], key: str) -> None:
        """Queue the window's commands on `pipe`; pass their three results to `check`."""
        pipe.incr(key)
        pipe.expire(key, self.window_seconds, nx=True)
        pipe.ttl(key)

    def check(self, count: int, ttl: int) -> None:
        """Raise 429 with Retry-After when this request is over the limit."""
        if count > self.requests:
            self._refuse(ttl)

    async def hit(self, redis: aioredis.Redis[bytes], key: str) -> None:
        """Count one event; 429 when it is over the limit."""
        async with redis.pipeline(transaction=False) as pipe:
            self.queue(pipe, key)
            count, _, ttl = await pipe.execute()
        self.check(int(count), int(ttl))

    async def refuse_if_spent(self, redis: aioredis.Redis[bytes], key: str) -> None:
        """429 when the window is already full, without counting this request."""
        async with redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= self.requests:
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
