"""What the workloads are told about PostgreSQL read replicas and a Redis Cluster, and that
the migration and backup Jobs are never told of a replica."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from photostore.operator.builders import api, config, jobs
from photostore.operator.spec import PhotoStorage

MakePs = Callable[..., PhotoStorage]
REPLICA_URLS = "PHOTOSTORE_DATABASE_REPLICA_URLS"
REPLICA_LAG = "PHOTOSTORE_DATABASE_REPLICA_MAX_LAG_SECONDS"
CLUSTER_NODES = "PHOTOSTORE_REDIS_CLUSTER_NODES"
REPLICAS = [{"host": "db-replica-0.db"}, {"host": "10.0.0.7", "port": 6432}]


def _database(**fields: Any) -> dict[str, Any]:
    return {"host": "db.example", "secretName": "db-creds", "sslMode": "verify-full", **fields}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<secret>") for e in container.get("env", [])}


def _api_env(ps: PhotoStorage) -> dict[str, str]:
    return _env(api.build_api_deployment(ps)["spec"]["template"]["spec"]["containers"][0])


def test_replicas_reach_the_api_as_urls_like_the_primarys(make_ps: MakePs) -> None:
    ps = make_ps(database=_database(replicas=REPLICAS, replicaMaxLagSeconds=5))
    env = _api_env(ps)
    assert env[REPLICA_URLS] == (
        "postgresql://db-replica-0.db:5432/photostore?sslmode=verify-full,"
        "postgresql://10.0.0.7:6432/photostore?sslmode=verify-full"
    )
    assert env[REPLICA_LAG] == "5"
    assert config.settings(ps)["PHOTOSTORE_DATABASE_URL"] == (
        "postgresql://db.example:5432/photostore?sslmode=verify-full"
    )
    # The primary's credentials serve every replica: no other Secret is referenced.
    assert env["PGUSER"] == env["PGPASSWORD"] == "<secret>"


def test_without_replicas_the_api_is_told_of_none(make_ps: MakePs) -> None:
    env = _api_env(make_ps())
    assert REPLICA_URLS not in env and REPLICA_LAG not in env
    assert make_ps().spec.database.replica_max_lag_seconds == 10


def test_migration_and_backup_jobs_never_get_replica_settings(make_ps: MakePs) -> None:
    ps = make_ps(database=_database(replicas=REPLICAS))
    assert REPLICA_URLS in _api_env(ps)  # the API does
    # The ConfigMap is read by the migration Job (envFrom), so it must not hold them either.
    assert not {REPLICA_URLS, REPLICA_LAG} & set(config.settings(ps))
    migration = jobs.build_migration_job(ps)["spec"]["template"]["spec"]["containers"][0]
    assert migration["envFrom"] == [{"configMapRef": {"name": "photos-config"}}]
    backup = jobs.build_backup_cronjob(ps)["spec"]["jobTemplate"]["spec"]
    verify = jobs.build_verify_cronjob(ps)["spec"]["jobTemplate"]["spec"]
    now = jobs.build_backup_now_job(ps, "now")["spec"]
    containers = [migration] + [
        j["template"]["spec"]["containers"][0] for j in (backup, verify, now)
    ]
    for container in containers:
        env = _env(container)
        assert not {REPLICA_URLS, REPLICA_LAG} & set(env), container["name"]
        assert "replica" not in str(container), container["name"]
    for job in (backup, verify, now):
        env = _env(job["template"]["spec"]["containers"][0])
        assert env["PHOTOSTORE_DATABASE_URL"].startswith("postgresql://db.example:5432/")


def test_redis_cluster_nodes_and_the_url_of_the_first(make_ps: MakePs) -> None:
    nodes = ["redis-0.redis:6379", "redis-1.redis:6379", "[fd00::5]:7000"]
    ps = make_ps(redis={"cluster": nodes, "tls": True})
    data = config.settings(ps)
    assert data[CLUSTER_NODES] == "redis-0.redis:6379,redis-1.redis:6379,[fd00::5]:7000"
    assert data["PHOTOSTORE_REDIS_URL"] == "rediss://redis-0.redis:6379/0"
    with_password = make_ps(redis={"cluster": nodes, "secretName": "redis-creds"})
    env = _api_env(with_password)
    assert env["PHOTOSTORE_REDIS_URL"] == (
        "redis://:$(PHOTOSTORE_REDIS_PASSWORD)@redis-0.redis:6379/0"
    )
    assert CLUSTER_NODES not in config.settings(make_ps())


@pytest.mark.parametrize(
    "redis",
    [{"host": "r", "cluster": ["r:6379"]}, {"port": 6379}],
    ids=["both", "neither"],
)
def test_redis_host_or_cluster_exactly_one(make_ps: MakePs, redis: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"exactly one of redis\.host or redis\.cluster"):
        make_ps(redis=redis)


@pytest.mark.parametrize(
    ("kafka", "expected"),
    [
        ({"replicationFactor": 3}, 2),
        ({"replicationFactor": 1}, 1),
        ({"replicationFactor": 5, "minInSyncReplicas": 3}, 3),
    ],
)
def test_min_insync_replicas_defaults_to_two_at_most_the_factor(
    make_ps: MakePs, kafka: dict[str, Any], expected: int
) -> None:
    ps = make_ps(kafka={"brokers": ["k:9092"], **kafka})
    assert ps.spec.kafka.min_insync == expected
