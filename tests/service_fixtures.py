"""Throwaway resources on the environment's servers, for test fixtures of any scope."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import redis
from psycopg.conninfo import make_conninfo
from redis.cluster import ClusterNode, RedisCluster

from photostore.api.config import Settings as ApiSettings
from photostore.api.redis_client import cluster_connection_kwargs
from photostore.db.migrate import apply_migrations
from photostore.local_env import s3_client as s3_client
from photostore.storage import delete_prefix, ensure_bucket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    """A new database with every migration applied; dropped on exit. Yields its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    url = make_conninfo(admin_url, dbname=name)
    try:
        apply_migrations(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@contextmanager
def database_users(database_url: str, *users: uuid.UUID) -> Iterator[None]:
    """Accounts (`<id>@example.com`) for rows a test writes itself; deleted, with their
    photos, on exit."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for user in users:
            conn.execute(
                "INSERT INTO users (id, email, password_hash) VALUES (%s, %s, 'x')",
                (user, f"{user}@example.com"),
            )
    try:
        yield
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM users WHERE id = ANY(%s)", (list(users),))


def seed_photos(database_url: str, user_id: str, rows: int, *, mixed: bool = False) -> None:
    """`rows` photos of `user_id`, photo n made n seconds ago. `mixed` tags them t0 or t1
    by parity and puts every third one in the trash."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
            " tags, created_at, deleted_at)"
            " SELECT gen_random_uuid(), %(user)s::uuid, 'p' || n || '.jpg',"
            " 'k/' || %(user)s::uuid || '/' || n, n, 'image/jpeg',"
            " encode(sha256(n::text::bytea), 'hex'),"
            " CASE WHEN %(mixed)s THEN ARRAY['t' || (n %% 2)] ELSE '{}' END,"
            " now() - make_interval(secs => n),"
            " CASE WHEN %(mixed)s AND n %% 3 = 0 THEN now() - make_interval(secs => n) END"
            " FROM generate_series(1, %(rows)s) AS n",
            {"user": user_id, "rows": rows, "mixed": mixed},
        )


@contextmanager
def fresh_bucket(s3: Any, name: str, region: str) -> Iterator[str]:
    """A new bucket; emptied and removed on exit."""
    ensure_bucket(s3, name, region)
    try:
        yield name
    finally:
        delete_prefix(s3, name, "")
        s3.delete_bucket(Bucket=name)


def api_settings(
    env: dict[str, str],
    *,
    database_url: str,
    bucket: str,
    topic: str,
    redis_prefix: str,
    **overrides: Any,
) -> ApiSettings:
    """API settings for the environment's servers, with a test's own database, bucket, topic
    and Redis prefix; `overrides` set any other field. No metrics listener unless asked
    (`metrics_port`): many apps run in one test process."""
    overrides.setdefault("metrics_port", 0)
    # The single Redis unless asked: var/env also names the cluster, and a shell that
    # sourced it must not turn every test into a cluster test.
    overrides.setdefault("redis_cluster_nodes", "")
    overrides.setdefault("database_replica_urls", "")
    return ApiSettings(
        database_url=database_url,
        redis_url=env["PHOTOSTORE_REDIS_URL"],
        redis_prefix=redis_prefix,
        kafka_brokers=env["PHOTOSTORE_KAFKA_BROKERS"],
        kafka_topic=topic,
        s3_bucket=bucket,
        s3_region=env["PHOTOSTORE_S3_REGION"],
        s3_endpoint=env["PHOTOSTORE_S3_ENDPOINT"],
        s3_access_key=env["PHOTOSTORE_S3_ACCESS_KEY"],
        s3_secret_key=env["PHOTOSTORE_S3_SECRET_KEY"],
        **overrides,
    )


# The Redis topologies API tests run against: `pytestmark = pytest.mark.parametrize(
# "redis_topology", REDIS_TOPOLOGIES)` in a test module runs each of its tests on both.
REDIS_TOPOLOGIES = ["single", "cluster"]


def redis_overrides(env: dict[str, str], topology: str) -> dict[str, Any]:
    """API settings for one Redis topology; skips when the environment has no cluster."""
    if topology == "single":
        return {"redis_cluster_nodes": ""}
    nodes = env.get("PHOTOSTORE_REDIS_CLUSTER_NODES", "")
    if not nodes:
        pytest.skip("the environment runs no Redis Cluster (PHOTOSTORE_REDIS_CLUSTER_NODES)")
    return {"redis_cluster_nodes": nodes}


def sync_redis(settings: ApiSettings) -> Any:
    """A blocking client of the Redis (or Redis Cluster) the settings name, for assertions."""
    url = settings.redis_url.get_secret_value()
    if not settings.redis_cluster_nodes:
        return redis.Redis.from_url(url)
    return redis_cluster([str(node) for node in settings.redis_cluster_nodes], url)


def redis_cluster(nodes: list[str], url: str) -> RedisCluster:
    """A blocking client of the Redis Cluster whose nodes (host:port) are given, with the
    password and TLS of `url`."""
    parts = [node.rpartition(":") for node in nodes]
    return RedisCluster(
        startup_nodes=[ClusterNode(host, int(port)) for host, _, port in parts],
        **cluster_connection_kwargs(url),
    )
