"""Kafka consumer lag of the processors' group: what lag-based processor scaling reads.

confluent-kafka's admin calls block, so `read_lag` is run in a thread by the reconciler.
"""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined] # re-exported, untyped
    AdminClient,
    OffsetSpec,
)

LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]


class LagUnavailableError(Exception):
    """The lag could not be read (no topic, broker down); scaling keeps its last choice."""


def total_lag(latest: dict[int, int], committed: dict[int, int]) -> int:
    """Messages not yet consumed, over all partitions; a partition never committed (a
    negative offset) counts from its start."""
    return sum(max(0, high - max(committed.get(p, 0), 0)) for p, high in latest.items())


def read_lag(brokers: list[str], topic: str, group: str, timeout: float = 5.0) -> int:
    admin = AdminClient(
        {
            "bootstrap.servers": ",".join(brokers),
            "socket.timeout.ms": int(timeout * 1000),
            "log_level": 4,  # warnings and worse
        }
    )
    try:
        described = admin.list_topics(topic, timeout=timeout).topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            raise LagUnavailableError(f"topic {topic} not found")
        partitions = [TopicPartition(topic, p) for p in described.partitions]
        offsets = admin.list_offsets({tp: LATEST for tp in partitions}, request_timeout=timeout)
        latest = {tp.partition: future.result().offset for tp, future in offsets.items()}
        groups = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=timeout
        )
        found = groups[group].result().topic_partitions
    except KafkaException as error:
        raise LagUnavailableError(str(error)) from error
    return total_lag(latest, {tp.partition: tp.offset for tp in found})
