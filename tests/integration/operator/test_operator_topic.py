"""The operator creates the photoUpload topic on the real Kafka and grows its partitions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"


def _replication(admin: AdminClient, topic: str) -> set[int]:
    """The replica counts of the topic's partitions, as Kafka's metadata has them."""
    described = admin.list_topics(timeout=10).topics[topic]
    return {len(p.replicas) for p in described.partitions.values()}


def _min_insync(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=30)
    return str(entries["min.insync.replicas"].value)


def _partitions(admin: AdminClient, topic: str) -> int:
    described = admin.list_topics(timeout=10).topics.get(topic)
    return len(described.partitions) if described is not None else 0


def test_topic_is_created_then_grown_and_reported(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    topic = f"photoUpload.operator-topic.{uuid.uuid4().hex[:8]}"
    elsewhere = f"{topic}.elsewhere"
    admin = AdminClient({"bootstrap.servers": brokers})

    def kafka(partitions: int) -> dict[str, Any]:
        return {
            "brokers": brokers.split(","),
            "topic": topic,
            "partitions": partitions,
            "replicationFactor": 1,
            "manageTopic": True,
        }

    try:
        cluster.apply(photostorage(NAME, small_spec(kafka=kafka(3))), namespace)
        created = cluster.wait_condition(NAME, namespace, "KafkaTopicReady", reason="TopicCreated")
        assert "3 partitions" in created["message"]
        assert _partitions(admin, topic) == 3
        assert _partitions(admin, f"{topic}.dlq") == 3, "the dead-letter topic follows the spec"

        cluster.apply(photostorage(NAME, small_spec(kafka=kafka(5))), namespace)
        cluster.wait_condition(NAME, namespace, "KafkaTopicReady", reason="PartitionsAdded")
        assert _partitions(admin, topic) == 5
        assert _partitions(admin, f"{topic}.dlq") == 5

        # The schema refuses a shrink outright ...
        refused = cluster.apply(photostorage(NAME, small_spec(kafka=kafka(2))), namespace,
                                check=False)  # fmt: skip
        assert refused.returncode != 0 and "cannot shrink" in refused.stderr

        # ... so only a topic made elsewhere, bigger than the spec, can be found too big.
        admin.create_topics([NewTopic(elsewhere, num_partitions=4, replication_factor=1)])[
            elsewhere
        ].result(timeout=30)
        smaller = {**kafka(2), "topic": elsewhere}
        cluster.apply(photostorage(NAME, small_spec(kafka=smaller)), namespace)
        cluster.wait_condition(
            NAME, namespace, "KafkaTopicReady", status="False", reason="PartitionsCannotShrink"
        )
        cluster.wait_condition(NAME, namespace, "Ready", timeout=60)  # the topic does not gate it
    finally:
        admin.delete_topics([topic, f"{topic}.dlq", elsewhere, f"{elsewhere}.dlq"])


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_deleting_the_photostorage_follows_the_topic_deletion_policy(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner, policy: str
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    topic = f"photoUpload.operator-topic.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    kafka = {"brokers": brokers.split(","), "topic": topic, "partitions": 2,
             "replicationFactor": 1, "manageTopic": True, "deletionPolicy": policy}  # fmt: skip
    try:
        cluster.apply(photostorage(NAME, small_spec(kafka=kafka)), namespace)
        cluster.wait_condition(NAME, namespace, "KafkaTopicReady", reason="TopicCreated")
        ps = cluster.get("photostorage", NAME, namespace)
        assert ps is not None
        finalizers = ps["metadata"].get("finalizers") or []
        assert ("photos.example.com/kafka-topics" in finalizers) == (policy == "Delete")

        cluster.run("delete", "photostorage", NAME, "-n", namespace, "--timeout=60s")
        assert cluster.get("photostorage", NAME, namespace) is None
        kept = {t for t in (topic, f"{topic}.dlq") if _partitions(admin, t)}
        assert kept == ({topic, f"{topic}.dlq"} if policy == "Retain" else set())
    finally:
        admin.delete_topics([topic, f"{topic}.dlq"])


def test_unreachable_kafka_is_reported_not_fatal(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    kafka = {"brokers": ["127.0.0.1:1"], "manageTopic": True}
    cluster.apply(photostorage(NAME, small_spec(kafka=kafka)), namespace)
    down = wait_for(
        "KafkaTopicReady=False",
        lambda: cluster.condition(NAME, namespace, "KafkaTopicReady"),
        timeout=60,
    )
    assert (down["status"], down["reason"]) == ("False", "KafkaUnavailable")
    assert "127.0.0.1:1" in down["message"]
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)


def test_topic_has_the_specs_replication_and_min_insync_replicas(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner
) -> None:
    """Replication 3 where the environment runs three brokers (1 on a single one), read back
    from Kafka; a topic made elsewhere with fewer replicas is reported, not changed."""
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    admin = AdminClient({"bootstrap.servers": brokers})
    replication = min(3, len(admin.list_topics(timeout=10).brokers))
    topic = f"photoUpload.operator-replication.{uuid.uuid4().hex[:8]}"
    elsewhere = f"{topic}.elsewhere"
    kafka = {"brokers": brokers.split(","), "topic": topic, "partitions": 3,
             "replicationFactor": replication, "manageTopic": True}  # fmt: skip
    try:
        cluster.apply(photostorage(NAME, small_spec(kafka=kafka)), namespace)
        created = cluster.wait_condition(NAME, namespace, "KafkaTopicReady", reason="TopicCreated")
        assert f"replication {replication}" in created["message"]
        spec = (cluster.get("photostorage", NAME, namespace) or {})["spec"]["kafka"]
        for name in (topic, f"{topic}.dlq"):
            assert _replication(admin, name) == {spec["replicationFactor"]}, name
            assert _min_insync(admin, name) == str(min(2, spec["replicationFactor"])), name

        made = [NewTopic(t, num_partitions=2, replication_factor=1)
                for t in (elsewhere, f"{elsewhere}.dlq")]  # fmt: skip
        for future in admin.create_topics(made).values():
            future.result(timeout=30)
        more = max(2, replication)  # the brokers need not hold it: nothing is created
        asks_more = {**kafka, "topic": elsewhere, "partitions": 2, "replicationFactor": more}
        cluster.apply(photostorage(NAME, small_spec(kafka=asks_more)), namespace)
        differs = cluster.wait_condition(
            NAME, namespace, "KafkaTopicReady", status="False", reason="ReplicationFactorDiffers"
        )
        said = f"has replication factor 1, the spec asks for {more}"
        assert f"{elsewhere} {said}" in differs["message"]
        assert f"{elsewhere}.dlq {said}" in differs["message"]
        assert _replication(admin, elsewhere) == {1}, "reported, never reassigned"
        cluster.wait_event(namespace, "ReplicationFactorDiffers")
    finally:
        admin.delete_topics([topic, f"{topic}.dlq", elsewhere, f"{elsewhere}.dlq"])
