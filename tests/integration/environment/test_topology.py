"""The environment's clusters: a PostgreSQL replica, a Redis Cluster, three Kafka brokers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from psycopg.conninfo import make_conninfo
from redis.cluster import RedisCluster
from service_fixtures import redis_cluster


@pytest.fixture
def scratch_database(env: dict[str, str]) -> Iterator[str]:
    """A database made on the primary for one test (the replica follows), dropped after."""
    name = f"env_replica_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(env["PHOTOSTORE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(env["PHOTOSTORE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_replica_streams_from_the_primary_and_refuses_writes(
    env: dict[str, str], scratch_database: str
) -> None:
    primary = make_conninfo(env["PHOTOSTORE_DATABASE_URL"], dbname=scratch_database)
    replica = make_conninfo(env["PHOTOSTORE_DATABASE_REPLICA_URL"], dbname=scratch_database)
    marker = uuid.uuid4().hex
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v text)")
        conn.execute("INSERT INTO t VALUES (%s)", (marker,))
        (slot_active,) = conn.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = 'photostore_replica'"
        ).fetchone() or (False,)
    assert slot_active, "the replica does not stream through its slot"

    deadline = time.monotonic() + 30
    seen: list[tuple[str]] = []
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(replica, autocommit=True) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
                seen = conn.execute("SELECT v FROM t").fetchall()
                if seen:
                    break
        except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
            pass  # the new database or table has not been replayed yet
        time.sleep(0.2)
    assert seen == [(marker,)]

    with (
        psycopg.connect(replica, autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("INSERT INTO t VALUES ('x')")


def _cluster(env: dict[str, str]) -> RedisCluster:
    nodes = env["PHOTOSTORE_REDIS_CLUSTER_NODES"].split(",")
    return redis_cluster(nodes, env["PHOTOSTORE_REDIS_URL"])


def test_the_redis_cluster_has_three_masters_each_with_a_replica(env: dict[str, str]) -> None:
    cluster = _cluster(env)
    try:
        assert cluster.cluster_info()["cluster_state"] == "ok"
        nodes = cluster.cluster_nodes()
        masters = {n["node_id"]: n for n in nodes.values() if "master" in n["flags"]}
        replicas = [n for n in nodes.values() if "slave" in n["flags"]]
        assert len(masters) == 3 and len(replicas) == 3
        assert sorted(r["master_id"] for r in replicas) == sorted(masters)
        covered = sum(
            int(end) - int(start) + 1 for m in masters.values() for start, end in m["slots"]
        )
        assert covered == 16384

        # Keys land on different masters; the client follows the slots.
        keys = [f"env-test:{uuid.uuid4().hex}:{i}" for i in range(30)]
        for key in keys:
            cluster.set(key, key, ex=60)
        assert {cluster.get(key) for key in keys} == {k.encode() for k in keys}
        owners = {cluster.get_node_from_key(key).name for key in keys}
        assert len(owners) == 3
        cluster.delete(*keys)
    finally:
        cluster.close()


def test_the_redis_cluster_refuses_a_wrong_password(env: dict[str, str]) -> None:
    host, port = env["PHOTOSTORE_REDIS_CLUSTER_NODES"].split(",")[0].rsplit(":", 1)
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=host, port=int(port), password="wrong").ping()


def test_kafka_has_three_brokers_and_a_topic_keeps_three_in_sync_replicas(
    env: dict[str, str],
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    assert len(brokers.split(",")) == 3
    admin = AdminClient({"bootstrap.servers": brokers})
    assert sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3]

    topic = f"env-rf3-{uuid.uuid4().hex[:8]}"
    created = admin.create_topics(
        [NewTopic(topic, 6, 3, config={"min.insync.replicas": "2"})], operation_timeout=30
    )
    created[topic].result(30)
    try:
        deadline = time.monotonic() + 30
        while True:
            partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
            if len(partitions) == 6 and all(len(p.isrs) == 3 for p in partitions.values()):
                break
            assert time.monotonic() < deadline, {p.id: p.isrs for p in partitions.values()}
            time.sleep(0.3)
        assert all(sorted(p.replicas) == [1, 2, 3] for p in partitions.values())
        # Leaders spread over the brokers, so stopping one moves only its share.
        assert len({p.leader for p in partitions.values()}) == 3
        resource = ConfigResource("topic", topic)
        config = admin.describe_configs([resource])[resource].result(10)
        assert config["min.insync.replicas"].value == "2"
    finally:
        admin.delete_topics([topic])[topic].result(30)
