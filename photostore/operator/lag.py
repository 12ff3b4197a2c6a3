"""Kafka consumer lag of the processors' group: what lag-based processor scaling reads.

confluent-kafka's admin calls block, so `read_lag` is run in a thread by the reconciler.
"""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined] # re-exported, untyped
    AdminClient,
    OffsetSpec,
)

from photostore.operator.scaling import LagReading

LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]
EARLIEST = OffsetSpec.earliest()  # type: ignore[no-untyped-call]


class LagUnavailableError(Exception):
    """The lag could not be read (no topic, broker down); scaling keeps its last choice."""


def total_lag(latest: dict[int, int], committed: dict[int, int], earliest: dict[int, int]) -> int:
    """Messages not yet consumed, over all partitions. A partition never committed (a
    negative offset) counts from its low watermark: what retention deleted is not lag."""
    return sum(
        max(0, high - (committed[p] if committed.get(p, -1) >= 0 else earliest.get(p, 0)))
        for p, high in latest.items()
    )


def read_lag(brokers: list[str], topic: str, group: str, timeout: float = 5.0) -> LagReading:
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
        latest = _offsets(admin, partitions, LATEST, timeout)
        groups = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)], request_timeout=timeout
        )
        committed = {tp.partition: tp.offset for tp in groups[group].result().topic_partitions}
        never = [tp for tp in partitions if committed.get(tp.partition, -1) < 0]
        earliest = _offsets(admin, never, EARLIEST, timeout) if never else {}
    except KafkaException as error:
        raise LagUnavailableError(str(error)) from error
    return LagReading(total_lag(latest, committed, earliest), len(partitions))


def _offsets(
    admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec, timeout: float
) -> dict[int, int]:
    found = admin.list_offsets({tp: spec for tp in partitions}, request_timeout=timeout)
    return {tp.partition: future.result().offset for tp, future in found.items()}
