"""Read replicas and Redis Cluster, without servers: lag, the choice of server, key slots."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from redis.crc import key_slot

from photostore.api.config import Settings
from photostore.api.credentials import CredentialCache
from photostore.api.redis_client import cluster_connection_kwargs, cluster_retries, parse_node
from photostore.api.redis_keys import RedisKeys
from photostore.db.read_router import ReadRouter, Replica, replica_name
from photostore.db.replica_lag import (
    LsnHistory,
    ReadReason,
    ReplicaHealth,
    choose_replica,
    parse_lsn,
)
from photostore.metrics import create_read_metrics


def test_lsn_text_is_its_byte_position() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    with pytest.raises(ValueError):
        parse_lsn("B374D848")


def test_a_replica_that_replayed_everything_is_not_behind_on_an_idle_primary() -> None:
    history = LsnHistory(horizon_s=60)
    for second in range(30):  # nothing written for half a minute
        history.add(float(second), 1000)
    assert history.lag(1000, now=30.0) == 0.0


def test_a_stuck_replica_falls_behind_from_the_moment_the_primary_passed_it() -> None:
    history = LsnHistory(horizon_s=60)
    history.add(0.0, 1000)
    history.add(1.0, 2000)
    history.add(2.0, 3000)
    # Replayed up to 1500: the primary passed it half way between 0 s and 1 s.
    assert history.lag(1500, now=2.0) == pytest.approx(1.5)
    assert history.lag(1500, now=10.0) == pytest.approx(9.5)
    assert history.lag(3000, now=10.0) == 0.0


def test_a_replica_behind_the_whole_history_is_at_least_that_old() -> None:
    history = LsnHistory(horizon_s=5)
    for second in range(20):
        history.add(float(second), 1000 + second)
    lag = history.lag(10, now=20.0)
    assert lag is not None and lag >= 5
    assert LsnHistory(horizon_s=5).lag(10, now=1.0) is None


def test_reads_go_to_a_replica_only_when_it_is_up_close_and_has_the_users_write() -> None:
    up = ReplicaHealth(up=True, replay_lsn=500, lag_s=0.2)
    assert choose_replica([], 5.0, 0) == (None, ReadReason.NO_REPLICAS)
    assert choose_replica([ReplicaHealth(up=False)], 5.0, 0) == (None, ReadReason.DOWN)
    lagging = ReplicaHealth(up=True, replay_lsn=500, lag_s=6.0)
    assert choose_replica([lagging], 5.0, 0) == (None, ReadReason.LAGGING)
    assert choose_replica([up], 5.0, 600) == (None, ReadReason.OWN_WRITE)
    assert choose_replica([up], 5.0, 500) == (0, ReadReason.REPLICA)
    assert choose_replica([lagging, up], 5.0, 0) == (1, ReadReason.REPLICA)
    # Turns spread the reads over the replicas that fit.
    picks = {choose_replica([up, up, up], 5.0, 0, start)[0] for start in range(3)}
    assert picks == {0, 1, 2}


class FakePool:
    """A pool whose connections run `work` as the server named `name` would answer."""

    def __init__(self, name: str, fails: bool = False) -> None:
        self.name = name
        self.fails = fails
        self.used = 0

    @contextlib.asynccontextmanager
    async def connection(self, **_options: Any) -> AsyncIterator[str]:
        self.used += 1
        if self.fails:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        yield self.name


def _router(primary: FakePool, replicas: list[FakePool]) -> tuple[ReadRouter, CollectorRegistry]:
    registry = CollectorRegistry()
    router = ReadRouter(
        primary,  # type: ignore[arg-type]
        [
            Replica(p.name, p, ReplicaHealth(up=True, replay_lsn=100, lag_s=0.0))  # type: ignore[arg-type]
            for p in replicas
        ],
        create_read_metrics(registry),
        max_lag_s=5.0,
    )
    return router, registry


def _reads(registry: CollectorRegistry, target: str, reason: str) -> float:
    value = registry.get_sample_value(
        "photostore_db_reads_total", {"target": target, "reason": reason}
    )
    return value or 0.0


async def _which(conn: Any) -> str:
    return str(conn)


async def test_a_replica_failing_mid_read_is_retried_on_the_primary_and_skipped_after() -> None:
    primary, broken = FakePool("primary"), FakePool("replica", fails=True)
    router, registry = _router(primary, [broken])
    assert await router.read(0, _which) == "primary"
    assert _reads(registry, "primary", ReadReason.FAILED) == 1
    assert router.replicas[0].health.up is False
    assert await router.read(0, _which) == "primary"  # not tried again until a good probe
    assert broken.used == 1
    assert _reads(registry, "primary", ReadReason.DOWN) == 1


async def test_a_fitting_replica_serves_and_a_users_unreplayed_write_goes_to_the_primary() -> None:
    primary, replica = FakePool("primary"), FakePool("replica")
    router, registry = _router(primary, [replica])
    assert await router.read(100, _which) == "replica"
    assert await router.read(101, _which) == "primary"
    assert _reads(registry, "replica", ReadReason.REPLICA) == 1
    assert _reads(registry, "primary", ReadReason.OWN_WRITE) == 1


def test_replica_names_carry_no_credentials() -> None:
    assert replica_name("postgresql://u:secret@db-replica-1:6432/photos") == "db-replica-1:6432"
    assert replica_name("host=r2 dbname=photos password=secret") == "r2:5432"


def test_topology_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PHOTOSTORE_DATABASE_REPLICA_URLS",
        "postgresql://u:pw1@r1:5432/p, postgresql://u:pw2@r2:5432/p",
    )
    monkeypatch.setenv("PHOTOSTORE_DATABASE_REPLICA_MAX_LAG_SECONDS", "2.5")
    monkeypatch.setenv("PHOTOSTORE_REDIS_CLUSTER_NODES", "10.0.0.1:7000,redis-1.svc:7001")
    settings = Settings()
    assert [u.get_secret_value() for u in settings.database_replica_urls] == [
        "postgresql://u:pw1@r1:5432/p",
        "postgresql://u:pw2@r2:5432/p",
    ]
    assert "pw1" not in repr(settings)
    assert settings.database_replica_max_lag_seconds == 2.5
    assert settings.redis_cluster_nodes == ["10.0.0.1:7000", "redis-1.svc:7001"]
    monkeypatch.setenv("PHOTOSTORE_DATABASE_REPLICA_URLS", "")
    monkeypatch.setenv("PHOTOSTORE_REDIS_CLUSTER_NODES", "")
    assert Settings().database_replica_urls == [] and Settings().redis_cluster_nodes == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("redis_cluster_nodes", "10.0.0.1"),
        ("redis_prefix", "app{x}:"),
        ("database_replica_max_lag_seconds", "0"),
    ],
)
def test_bad_topology_settings_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({field: value})


def test_cluster_clients_take_password_and_tls_from_the_redis_url() -> None:
    assert cluster_connection_kwargs("redis://:s3cret@ignored:6379/0") == {"password": "s3cret"}
    tls = cluster_connection_kwargs("rediss://app:s3cret@ignored:6380")
    assert tls == {"username": "app", "password": "s3cret", "ssl": True}
    assert (parse_node("10.99.0.1:17001").host, parse_node("10.99.0.1:17001").port) == (
        "10.99.0.1",
        17001,
    )
    assert 6 <= cluster_retries(3.0) <= 8


def test_keys_used_together_share_one_cluster_slot() -> None:
    keys = RedisKeys("photostore:")
    user = uuid4()
    together = [keys.user(user, name) for name in ("authv", "rl", "wal", f"photo:{uuid4()}")]
    assert len({key_slot(k.encode()) for k in together}) == 1
    assert all(k.startswith(f"photostore:{{u:{user}}}:") for k in together)
    # Different users spread over the slots.
    assert len({key_slot(keys.user(uuid4(), "rl").encode()) for _ in range(50)}) > 40
    assert keys.credential(b"\x01\x02") == "photostore:{c:0102}:auth"
    assert keys.address("10.0.0.7", "login") == "photostore:{a:10.0.0.7}:rl:login"


class RecordingRedis:
    """Records the keys of every script call and answers as Redis would for a fresh user."""

    def __init__(self) -> None:
        self.script_keys: list[list[str]] = []
        self.values: dict[str, str] = {}

    def register_script(self, _script: str) -> Any:
        async def call(keys: list[str], args: list[Any]) -> Any:
            self.script_keys.append(keys)
            if len(keys) == 3 and keys[0].endswith(":authv"):
                return [1, 1, 10, b"0"] if len(args) == 3 else [1, 10, b"0"]
            return 1

        return call

    async def get(self, name: str) -> bytes | None:
        value = self.values.get(name)
        return value.encode() if value else None

    async def set(self, name: str, value: str, *, ex: int | None = None) -> Any:
        self.values[name] = value

    async def delete(self, *names: str) -> int:
        return 0

    async def aclose(self) -> None: ...


async def test_every_credential_script_touches_one_slot_and_a_remembered_check_one_round_trip() -> (
    None
):
    redis = RecordingRedis()
    cache = CredentialCache(redis, RedisKeys("p:"))  # type: ignore[arg-type]
    user = uuid4()
    await cache.remember(b"digest", user, 1, 10)
    checked = await cache.cached(b"digest", 10)
    assert checked is not None and checked.user_id == user
    await cache.record_write(user, 1234)
    await cache.end_credentials(user, 2)
    for keys in redis.script_keys:
        assert len({key_slot(k.encode()) for k in keys}) == 1, keys
    # remember (1 script), check (1 script, no GET: this process remembers it), write, end.
    assert len(redis.script_keys) == 4
