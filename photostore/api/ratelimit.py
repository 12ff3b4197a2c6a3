"""Fixed-window rate limiting in Redis: N requests per window per client.

A client is a bearer credential when the request carries one, else the peer address.
The window is counted with INCR and given its expiry by the first request in it, so every
replica of the API shares one count.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            retry_after = ttl if ttl > 0 else self.window_seconds
            raise ApiError(
                429,
                "rate_limited",
                f"more than {self.requests} requests in {self.window_seconds} s",
                details={"retry_after_seconds": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
