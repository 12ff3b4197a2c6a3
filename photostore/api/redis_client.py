"""The API's Redis client: one Redis server, or a Redis Cluster.

With `redis_cluster_nodes` set, redis-py's cluster client is used, with the password, user
and TLS of `redis_url` (its host and database are not used: a cluster has database 0 only).
Both clients are used through `RedisClient`, the few commands the API needs; every key is
built by redis_keys.py, whose hash tags keep each command and script on one slot.

A cluster whose master stops answers on that master's slots only once a replica took over
(the cluster's node timeout plus an election); meanwhile the client retries with backoff for
about `dependency_timeout_seconds`, then the request gets 503 like any Redis outage.

During that failover redis-py's cluster client can also fail with an error of its own making:
one call tears down a node's connections and topology (to reinitialize them) while another
call is using them, which surfaces as AttributeError or TypeError from inside redis-py (for
example `'NoneType' object has no attribute 'writelines'`, redis-py issues 3546 and 3835).
`FailoverSafeCluster` makes such a call once more, and if it fails again raises it as the
ConnectionError it is, so the request gets the 503 of a Redis outage, not a 500.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, cast

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from photostore.api.config import Settings

log = logging.getLogger(__name__)

# Failover retries: 0.05, 0.1, 0.2, 0.4, 0.8, then 1 s apart.
_BACKOFF_BASE_S = 0.05
_BACKOFF_CAP_S = 1.0


class RedisClient(Protocol):
    """What the API calls on either client (redis-py's stubs lack the cluster's commands)."""

    def register_script(self, script: str) -> Any: ...
    async def get(self, name: str) -> bytes | None: ...
    async def set(self, name: str, value: str, *, ex: int | None = None) -> Any: ...
    async def delete(self, *names: str) -> int: ...
    async def aclose(self) -> None: ...


class FailoverSafeCluster(RedisCluster):  # type: ignore[type-arg]
    """redis-py's cluster client, whose own races during a failover end as ConnectionError."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except redis.exceptions.RedisError:
            raise
        except Exception as exc:
            log.warning(
                "Redis Cluster client failed inside redis-py (%s: %s); trying once more",
                type(exc).__name__,
                exc,
            )
        try:
            return await super().execute_command(*args, **kwargs)
        except redis.exceptions.RedisError:
            raise
        except Exception as exc:
            raise redis.exceptions.ConnectionError(
                f"the Redis Cluster client failed inside redis-py twice: {type(exc).__name__}"
            ) from exc


def cluster_retries(timeout_s: float) -> int:
    """How many backoff retries add up to about `timeout_s` of waiting."""
    waited, retries = 0.0, 0
    while waited < timeout_s:
        waited += min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**retries)
        retries += 1
    return retries


def cluster_connection_kwargs(redis_url: str) -> dict[str, Any]:
    """Password, user, TLS and socket options of `redis_url`, for every node of a cluster."""
    params: dict[str, Any] = dict(parse_url(redis_url))
    for unused in ("host", "port", "db", "path"):
        params.pop(unused, None)
    if params.pop("connection_class", None) is SSLConnection:
        params["ssl"] = True
    return params


def parse_node(node: str) -> ClusterNode:
    host, _, port = node.rpartition(":")
    return ClusterNode(host.strip("[]"), int(port))


def create_redis(settings: Settings) -> RedisClient:
    timeout = settings.dependency_timeout_seconds
    url = settings.redis_url.get_secret_value()
    if not settings.redis_cluster_nodes:
        single: aioredis.Redis[bytes] = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        return cast(RedisClient, single)
    cluster = FailoverSafeCluster(
        startup_nodes=[parse_node(node) for node in settings.redis_cluster_nodes],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(  # type: ignore[arg-type]  # stale types-redis: the async Retry is right
            ExponentialBackoff(cap=_BACKOFF_CAP_S, base=_BACKOFF_BASE_S),
            cluster_retries(timeout),
        ),
        **cluster_connection_kwargs(url),
    )
    return cast(RedisClient, cluster)


async def ping(client: RedisClient) -> None:
    """Redis answers: the server, or any one node of the cluster."""
    if isinstance(client, RedisCluster):
        await client.execute_command("PING", target_nodes=RedisCluster.RANDOM)
    else:
        await cast("aioredis.Redis[bytes]", client).ping()
