"""The photoUpload topic and its dead-letter topic: created with spec.kafka's partitions,
replication and min.insync.replicas when missing, grown when spec.kafka.partitions grows,
deleted with the PhotoStorage when its deletion policy says so. Blocking confluent-kafka
calls, run in a thread.

The outcome is a `KafkaTopicReady` condition; it does not hold `Ready` back, because the
workloads run (and report their own readiness) whatever Kafka's state. An existing topic's
replicas are read again every RECHECK seconds (at the next reconcile after that), so a
broker that falls out of a partition's in-sync replicas shows up as UnderReplicatedPartitions
without a spec change."""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from typing import Protocol

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
MIN_INSYNC_REPLICAS = "min.insync.replicas"
RECHECK = 60.0


class PartitionReplicas(Protocol):
    """What the metadata of one partition tells (confluent-kafka's PartitionMetadata)."""

    id: int
    replicas: list[int]
    isrs: list[int]


def replication_problems(
    name: str, partitions: Iterable[PartitionReplicas], replication: int
) -> list[tuple[str, str]]:
    """(reason, message) for a replication factor other than the spec's and for partitions
    whose in-sync replicas are fewer than their replicas; empty when all is as asked."""
    listed = sorted(partitions, key=lambda p: p.id)
    problems: list[tuple[str, str]] = []
    factors = sorted({len(p.replicas) for p in listed})
    if factors and factors != [replication]:
        found = "/".join(str(f) for f in factors)
        problems.append(
            (
                reasons.REPLICATION_FACTOR_DIFFERS,
                f"{name} has replication factor {found}, the spec asks for {replication}; the"
                " operator does not reassign replicas of an existing topic"
                " (kafka-reassign-partitions.sh does)",
            )
        )
    behind = [p for p in listed if len(p.isrs) < len(p.replicas)]
    if behind:
        shown = ", ".join(
            f"{p.id} (in sync {sorted(p.isrs)} of {sorted(p.replicas)})" for p in behind[:5]
        )
        more = f" and {len(behind) - 5} more" if len(behind) > 5 else ""
        problems.append(
            (
                reasons.UNDER_REPLICATED_PARTITIONS,
                f"{name}: {len(behind)} of {len(listed)} partitions under-replicated:"
                f" {shown}{more}",
            )
        )
    return problems


def _admin(brokers: list[str], timeout: float) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": ",".join(brokers),
            "socket.timeout.ms": int(timeout * 1000),
            "log_level": 2,  # unreachable brokers are reported in the condition, not logs
        }
    )


def ensure_topics(
    brokers: list[str],
    topic: str,
    partitions: int,
    replication: int,
    min_insync: int,
    timeout: float = 5.0,
) -> Finding:
    """The topic and its dead-letter topic, both as the spec says; min.insync.replicas is
    set on the topics created here, never changed on existing ones."""
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
    problems: list[tuple[str, str]] = []
    reason = reasons.TOPIC_EXISTS
    for name in (topic, dead_letter_topic(topic)):
        described = existing.get(name)
        try:
            if described is None:
                new = NewTopic(
                    name,
                    num_partitions=partitions,
                    replication_factor=replication,
                    config={MIN_INSYNC_REPLICAS: str(min_insync)},
                )
                admin.create_topics([new], request_timeout=timeout)[name].result(timeout=timeout)
                said.append(
                    f"created {name}: {partitions} partitions, replication {replication},"
                    f" {MIN_INSYNC_REPLICAS} {min_insync}"
                )
                reason = reasons.TOPIC_CREATED
                continue
            problems += replication_problems(name, described.partitions.values(), replication)
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
    if problems:
        message = "; ".join(m for _, m in problems)
        return Finding(KAFKA_TOPIC_READY, False, problems[0][0], message)
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
        ensure_topics,
        kafka.brokers,
        kafka.topic,
        kafka.partitions,
        kafka.replication_factor,
        kafka.min_insync,
    )
    version = (ps.generation, int(time.monotonic() // RECHECK))
    return check_in_background(op, key, "topic", version, work)
