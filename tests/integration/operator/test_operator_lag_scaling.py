"""Processors scale from the real Kafka consumer lag of their group, within every bound, and
status names the bound that decided."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"


class Topic:
    """A throwaway topic on the environment's Kafka."""

    def __init__(self, brokers: str, partitions: int) -> None:
        self.brokers = brokers
        self.name = f"photoUpload.operator-test.{uuid.uuid4().hex[:8]}"
        self.admin = AdminClient({"bootstrap.servers": brokers})
        new = NewTopic(self.name, num_partitions=partitions, replication_factor=1)
        self.admin.create_topics([new])[self.name].result(timeout=30)

    def produce(self, count: int, partition: int | None = None) -> None:
        producer = Producer({"bootstrap.servers": self.brokers})
        for i in range(count):
            if partition is None:
                producer.produce(self.name, key=str(i).encode(), value=b"photo")
            else:
                producer.produce(self.name, value=b"photo", partition=partition)
        assert producer.flush(30) == 0

    def commit_all(self, group: str, partitions: int) -> None:
        """The group catches up: its offsets move to the end of every partition."""
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": group})
        ends = []
        for p in range(partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(self.name, p), timeout=10)
            ends.append(TopicPartition(self.name, p, high))
        consumer.commit(offsets=ends, asynchronous=False)
        consumer.close()


@pytest.fixture
def kafka(env: dict[str, str]) -> Iterator[list[Topic]]:
    made: list[Topic] = []
    yield made
    for topic in made:
        topic.admin.delete_topics([topic.name])


def lag_spec(topic: Topic, namespace: str, scaling: dict[str, Any], **extra: Any) -> Any:
    return small_spec(
        kafka={"brokers": topic.brokers.split(","), "topic": topic.name,
               "consumerGroup": f"g-{namespace}", "manageTopic": False},
        processor={"replicas": 1, "autoscaling": {"enabled": True, **scaling}},
        **extra,
    )  # fmt: skip


def wait_scaled(cluster: Cluster, namespace: str, replicas: int, limited_by: str) -> Any:
    def scaled() -> dict[str, Any] | None:
        ps = cluster.get("photostorage", NAME, namespace) or {}
        processor = (ps.get("status") or {}).get("processor") or {}
        wanted = (processor.get("desiredReplicas"), processor.get("limitedBy"))
        return processor if wanted == (replicas, limited_by) else None

    return wait_for(f"{replicas} processors limited by {limited_by}", scaled, timeout=60)


def wait_deployment(cluster: Cluster, namespace: str, replicas: int) -> None:
    """The processor Deployment (made once its migration Job is done) holds `replicas`."""

    def holds() -> bool:
        deployment = cluster.get("deployment", "photos-processor", namespace) or {}
        return bool(deployment) and deployment["spec"]["replicas"] == replicas

    wait_for(f"the processor Deployment at {replicas}", holds, timeout=30)


# lag, partitions, scaling, quota GPUs, expected replicas, the bound named
BOUNDS = [
    (25, 4, {"minReplicas": 1, "maxReplicas": 4, "targetLagPerReplica": 10}, 40, 3, "Lag"),
    (0, 4, {"minReplicas": 2, "maxReplicas": 4, "targetLagPerReplica": 10}, 40, 2, "MinReplicas"),
    (25, 8, {"minReplicas": 1, "maxReplicas": 2, "targetLagPerReplica": 5}, 40, 2, "MaxReplicas"),
    (25, 2, {"minReplicas": 1, "maxReplicas": 8, "targetLagPerReplica": 5}, 40, 2, "Partitions"),
    (25, 8, {"minReplicas": 1, "maxReplicas": 8, "targetLagPerReplica": 5}, 3, 3, "GPUQuota"),
]


@pytest.mark.parametrize(("lag", "partitions", "scaling", "gpus", "replicas", "bound"), BOUNDS)
def test_processors_follow_the_lag_within_each_bound(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner,
    kafka: list[Topic], lag: int, partitions: int, scaling: dict[str, Any], gpus: int,
    replicas: int, bound: str,
) -> None:  # fmt: skip
    topic = Topic(env["PHOTOSTORE_KAFKA_BROKERS"], partitions)
    kafka.append(topic)
    topic.produce(lag)
    spec = lag_spec(topic, namespace, scaling, quota={"gpus": gpus})
    cluster.apply(photostorage(NAME, spec), namespace)

    processor = wait_scaled(cluster, namespace, replicas, bound)
    assert (processor["lag"], processor["partitions"]) == (lag, partitions)
    wait_deployment(cluster, namespace, replicas)


def test_a_partition_never_committed_counts_from_its_low_watermark(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner,
    kafka: list[Topic],
) -> None:  # fmt: skip
    topic = Topic(env["PHOTOSTORE_KAFKA_BROKERS"], 1)
    kafka.append(topic)
    topic.produce(25, partition=0)
    # What retention deleted is not lag: drop the first 20 records.
    deleted = topic.admin.delete_records([TopicPartition(topic.name, 0, 20)])
    for future in deleted.values():
        future.result(timeout=30)
    scaling = {"minReplicas": 1, "maxReplicas": 8, "targetLagPerReplica": 1}
    cluster.apply(photostorage(NAME, lag_spec(topic, namespace, scaling)), namespace)
    processor = wait_scaled(cluster, namespace, 1, "Partitions")
    assert processor["lag"] == 5


def test_scaling_down_waits_for_the_stabilization_window(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner,
    kafka: list[Topic],
) -> None:  # fmt: skip
    topic = Topic(env["PHOTOSTORE_KAFKA_BROKERS"], 4)
    kafka.append(topic)
    topic.produce(40)
    scaling = {"minReplicas": 1, "maxReplicas": 4, "targetLagPerReplica": 10,
               "scaleDownStabilizationSeconds": 25}  # fmt: skip
    cluster.apply(photostorage(NAME, lag_spec(topic, namespace, scaling)), namespace)
    wait_scaled(cluster, namespace, 4, "Lag")

    topic.commit_all(f"g-{namespace}", 4)  # the lag drops to 0
    held = wait_scaled(cluster, namespace, 4, "ScaleDownStabilization")
    assert held["lag"] == 0
    wait_scaled(cluster, namespace, 1, "MinReplicas")
    wait_deployment(cluster, namespace, 1)
