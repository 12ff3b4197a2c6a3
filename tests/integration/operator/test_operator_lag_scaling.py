"""Processors scale from the real Kafka consumer lag of their group."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"


def test_processor_replicas_follow_consumer_lag(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    topic = f"photoUpload.operator-test.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])[topic].result(
        timeout=30
    )
    producer = Producer({"bootstrap.servers": brokers})
    for i in range(25):
        producer.produce(topic, key=str(i).encode(), value=b"photo")
    assert producer.flush(30) == 0

    spec = small_spec(
        kafka={
            "brokers": brokers.split(","),
            "topic": topic,
            "consumerGroup": f"g-{namespace}",
            "manageTopic": False,
        },
        processor={
            "replicas": 1,
            "autoscaling": {
                "enabled": True,
                "minReplicas": 1,
                "maxReplicas": 4,
                "targetLagPerReplica": 10,
            },
        },
    )
    cluster.apply(photostorage(NAME, spec), namespace)

    def scaled() -> dict[str, Any] | None:
        ps = cluster.get("photostorage", NAME, namespace) or {}
        processor = (ps.get("status") or {}).get("processor") or {}
        return processor if processor.get("desiredReplicas") == 3 else None

    processor = wait_for("3 processors for a lag of 25", scaled, timeout=60)
    assert processor["lag"] == 25
    deployment = cluster.get("deployment", "photos-processor", namespace)
    assert deployment is not None and deployment["spec"]["replicas"] == 3
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)
    admin.delete_topics([topic])
