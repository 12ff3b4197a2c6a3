"""The processor makes its dead-letter topic like the topic the operator made from the spec."""

from __future__ import annotations

import uuid

from confluent_kafka.admin import AdminClient

from photostore.events import ensure_dead_letter_topic, ensure_topics


def test_the_dead_letter_topic_copies_the_topics_partitions(env: dict[str, str]) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    topic = f"photoUpload.dlq-test.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    try:
        ensure_topics(brokers, [topic], partitions=6)
        ensure_dead_letter_topic(brokers, topic, f"{topic}.dlq")
        described = admin.list_topics(timeout=10).topics[f"{topic}.dlq"]
        assert len(described.partitions) == 6
        ensure_dead_letter_topic(brokers, topic, f"{topic}.dlq")  # already there: no error
    finally:
        admin.delete_topics([topic, f"{topic}.dlq"])
