"""The API pods use the environment's clusters as deployed: their reads go to the PostgreSQL
replica, their keys live in the Redis Cluster, and the topic they publish to has three
in-sync replicas."""

from __future__ import annotations

import re

import httpx
from confluent_kafka.admin import AdminClient
from installation import Installation
from service_fixtures import redis_cluster

from photostore.api.redis_keys import RedisKeys
from photostore.api.security import credential_hash

READS = re.compile(r"^photostore_db_reads_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.M)


def replica_reads(pod_ip: str) -> tuple[float, float]:
    """(reads answered by the replica, reads answered by the primary) of one API pod."""
    metrics = httpx.get(f"http://{pod_ip}:9090/metrics", timeout=10).text
    by_target = {"replica": 0.0, "primary": 0.0}
    for match in READS.finditer(metrics):
        target = re.search(r'target="(\w+)"', match["labels"])
        if target:
            by_target[target[1]] += float(match["value"])
    return by_target["replica"], by_target["primary"]


def test_api_pods_read_from_the_replica(installation: Installation, user_token: str) -> None:
    pods = installation.pods("api")
    before = [replica_reads(pod["status"]["podIP"]) for pod in pods]
    with installation.client(user_token) as client:
        for _ in range(10):
            listed = client.get("/v1/photos", params={"limit": 5})
            assert listed.status_code == 200, listed.text
    after = [replica_reads(pod["status"]["podIP"]) for pod in pods]
    on_replica = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    on_primary = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    # Every list is counted; the replica answers unless it lags (then the primary does).
    assert on_replica + on_primary == 10, (before, after)
    assert on_replica > 0, (before, after)


def test_api_pods_keep_their_keys_in_the_redis_cluster(
    installation: Installation, user_token: str
) -> None:
    env = installation.env
    with installation.client(user_token) as client:
        assert client.get("/v1/photos").status_code == 200
    cluster = redis_cluster(
        env["PHOTOSTORE_REDIS_CLUSTER_NODES"].split(","), env["PHOTOSTORE_REDIS_URL"]
    )
    try:
        key = RedisKeys("photostore:").credential(credential_hash(user_token))
        assert cluster.exists(key) == 1, key
    finally:
        cluster.close()


def test_the_topic_has_three_in_sync_replicas(installation: Installation) -> None:
    topic = installation.ps()["spec"]["kafka"]["topic"]
    admin = AdminClient({"bootstrap.servers": installation.env["PHOTOSTORE_KAFKA_BROKERS"]})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    assert partitions and all(len(p.isrs) == 3 for p in partitions.values())
