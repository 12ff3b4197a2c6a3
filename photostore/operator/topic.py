"""The photoUpload topic and its dead-letter topic: created with spec.kafka's partitions and
replication when missing, grown when spec.kafka.partitions grows, deleted with the
PhotoStorage when its deletion policy says so. Blocking confluent-kafka calls, run in a
thread.

The outcome is a `KafkaTopicReady` condition; it does not hold `Ready` back, because the
workloads run (and report their own readiness) whatever Kafka's state."""

from __future__ import annotations

from functools import partial

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined] # re-exported, untyped
    AdminClient,
    NewPartitions,
    NewTopic,
)

from photostore.events import dead_letter_topic
from photostore.operator import reasons
from photostore.operator.background import check_in_background, stop_check
from photostore.operator.conditions import Finding
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import Operator
from photostore.operator.workqueue import Key

KAFKA_TOPIC_READY = reasons.KAFKA_TOPIC_READY


def _admin(brokers: list[str], timeout: float) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": ",".join(brokers),
            "socket.timeout.ms": int(timeout * 1000),
            "log_level": 2,  # unreachable brokers are reported in the condition, not logs
        }
    )


def ensure_topics(
    brokers: list[str], topic: str, partitions: int, replication: int, timeout: float = 5.0
) -> Finding:
    """The topic and its dead-letter topic, both as the spec says."""
    admin = _admin(brokers, timeout)
    try:
        # All topics, not just ours: asking for one by name can auto-create it with the
        # broker's default partition count.
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as error:
        return Finding(
            KAFKA_TOPIC_READY, False, reasons.KAFKA_UNAVAILABLE, _describe(brokers, error)
        )
    said: list[str] = []
    reason = reasons.TOPIC_EXISTS
    for name in (topic, dead_letter_topic(topic)):
        described = existing.get(name)
        try:
            if described is None:
                new = NewTopic(name, num_partitions=partitions, replication_factor=replication)
                admin.create_topics([new], request_timeout=timeout)[name].result(timeout=timeout)
                said.append(f"created {name}: {partitions} partitions, replication {replication}")
                reason = reasons.TOPIC_CREATED
                continue
            current = len(described.partitions)
            if current < partitions:
                grow = NewPartitions(name, partitions)
                admin.create_partitions([grow], request_timeout=timeout)[name].result(
                    timeout=timeout
                )
                said.append(f"grew {name} from {current} to {partitions} partitions")
                reason = reasons.PARTITIONS_ADDED if reason == reasons.TOPIC_EXISTS else reason
                continue
        except KafkaException as error:
            message = _describe(brokers, error)
            return Finding(KAFKA_TOPIC_READY, False, reasons.TOPIC_CHANGE_FAILED, message)
        if current > partitions:
            message = f"{name} has {current} partitions; Kafka cannot shrink it to {partitions}"
            return Finding(KAFKA_TOPIC_READY, False, reasons.PARTITIONS_CANNOT_SHRINK, message)
        said.append(f"{name}: {current} partitions")
    return Finding(KAFKA_TOPIC_READY, True, reason, "; ".join(said))


def delete_topics(brokers: list[str], topic: str, timeout: float = 10.0) -> None:
    """Delete the topic and its dead-letter topic; absent ones are fine. Raises
    KafkaException when Kafka does not confirm."""
    admin = _admin(brokers, timeout)
    names = [topic, dead_letter_topic(topic)]
    existing = admin.list_topics(timeout=timeout).topics
    present = [n for n in names if n in existing]
    if not present:
        return
    futures = admin.delete_topics(present, operation_timeout=timeout, request_timeout=timeout)
    for future in futures.values():
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


def _describe(brokers: list[str], error: KafkaException) -> str:
    detail = error.args[0] if error.args else error
    return f"{','.join(brokers)}: {getattr(detail, 'str', lambda: detail)()}"


def check_topic(op: Operator, key: Key, ps: PhotoStorage) -> Finding | None:
    """The KafkaTopicReady finding, from a check in the background; None until the first."""
    kafka = ps.spec.kafka
    if not kafka.manage_topic:
        stop_check(op, key, "topic")
        return None
    work = partial(
        ensure_topics, kafka.brokers, kafka.topic, kafka.partitions, kafka.replication_factor
    )
    return check_in_background(op, key, "topic", ps.generation, work)
