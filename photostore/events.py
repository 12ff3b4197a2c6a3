"""Kafka events shared by the API (producer, through the outbox) and the processor (consumer).

One event today: `PhotoUploaded`, JSON, keyed by the photo id so that every event of one
photo lands on the same partition. Messages that a consumer cannot process go to the
dead-letter topic `<topic>.dlq`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TOPIC = "photoUpload"


def dead_letter_topic(topic: str = DEFAULT_TOPIC) -> str:
    return f"{topic}.dlq"


class PhotoUploaded(BaseModel):
    """An original was stored in S3 and its row committed; the processor should process it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    photo_id: UUID
    user_id: UUID
    object_key: str
    content_type: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)
    uploaded_at: datetime

    @property
    def key(self) -> bytes:
        """The Kafka message key."""
        return str(self.photo_id).encode()

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> PhotoUploaded:
        return cls.model_validate_json(raw)


def producer_config(brokers: str, **overrides: Any) -> dict[str, Any]:
    """Producer settings: idempotent, acks from all replicas, bounded delivery time."""
    config: dict[str, Any] = {
        "bootstrap.servers": brokers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "message.timeout.ms": 10_000,
        "socket.connection.setup.timeout.ms": 3_000,
        "client.id": "photostore",
    }
    config.update(overrides)
    return config


def consumer_config(brokers: str, group_id: str, **overrides: Any) -> dict[str, Any]:
    """Consumer settings: commits are the caller's job, after the work is done."""
    config: dict[str, Any] = {
        "bootstrap.servers": brokers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "client.id": "photostore",
    }
    config.update(overrides)
    return config


def admin_config(brokers: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": brokers,
        "socket.connection.setup.timeout.ms": 3_000,
    }
    config.update(overrides)
    return config


def ensure_topics(
    brokers: str,
    topics: list[str],
    *,
    partitions: int = 1,
    replication: int = 1,
    timeout: float = 10.0,
) -> None:
    """Create the topics that do not exist yet (an existing topic is not an error)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(admin_config(brokers))
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication) for t in topics],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for future in futures.values():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def ensure_dead_letter_topic(
    brokers: str, topic: str, dead_letters: str, timeout: float = 10.0
) -> None:
    """Create the dead-letter topic like its topic: the same partitions and replication, as
    the operator's spec made the topic (1 and 1 when the topic does not exist yet)."""
    from confluent_kafka.admin import AdminClient

    described = AdminClient(admin_config(brokers)).list_topics(timeout=timeout).topics.get(topic)
    partitions = replication = 1
    if described is not None and described.error is None and described.partitions:
        partitions = len(described.partitions)
        replication = len(next(iter(described.partitions.values())).replicas)
    ensure_topics(
        brokers, [dead_letters], partitions=partitions, replication=replication, timeout=timeout
    )
