"""Kafka for one PhotoStorage: processors scaled from the consumer lag within their
bounds, and its topics deleted with it when its deletion policy says so."""

from __future__ import annotations

import asyncio
import logging
import time

from confluent_kafka import KafkaException

from photostore.events import dead_letter_topic
from photostore.operator import reasons, recorder
from photostore.operator.background import RETRY as CHECK_RETRY
from photostore.operator.children import PHOTOSTORAGE
from photostore.operator.finalizers import (
    TOPICS_FINALIZER,
    finalizer_patch,
)
from photostore.operator.kube import Obj
from photostore.operator.lag import LagUnavailableError, read_lag
from photostore.operator.scaling import LagReading, ScaleDecision, decide, stabilise
from photostore.operator.spec import KIND, PhotoStorage
from photostore.operator.state import Operator
from photostore.operator.topic import delete_topics
from photostore.operator.workqueue import Key

logger = logging.getLogger(__name__)

LAG_INTERVAL = 15.0  # how often scaling by Kafka lag looks at the lag


async def release_topics(op: Operator, key: Key, body: Obj) -> float | None:
    """Delete the Kafka topics of a PhotoStorage being deleted with deletionPolicy Delete,
    then let it go; while Kafka does not confirm, say so and try again."""
    if TOPICS_FINALIZER not in (body["metadata"].get("finalizers") or []):
        return None
    kafka = body["spec"]["kafka"]
    topic = kafka.get("topic", "photoUpload")
    try:
        await asyncio.to_thread(delete_topics, kafka["brokers"], topic)
    except KafkaException as error:
        message = f"topics {topic} and {dead_letter_topic(topic)} not deleted yet: {error}"
        await op.events.record(body, recorder.WARNING, reasons.TOPIC_DELETION_FAILED, message)
        return CHECK_RETRY
    await op.events.record(
        body,
        recorder.NORMAL,
        reasons.TOPICS_DELETED,
        f"deleted {topic} and {dead_letter_topic(topic)}",
    )
    patch = finalizer_patch(body, present=False)
    if patch is not None:
        await op.kube.patch(PHOTOSTORAGE.api_version, KIND, key[0], key[1], patch)
    return None


def scale(
    op: Operator, key: Key, ps: PhotoStorage, reading: LagReading | None
) -> ScaleDecision | None:
    """Processors the lag asks for, within their bounds and the scale-down window. Without
    a reading, the last choice within the current bounds (not a reset)."""
    scaling = ps.spec.processor.autoscaling
    if not scaling.enabled:
        op.scale_history.pop(key, None)
        op.scale_decisions.pop(key, None)
        return None
    if reading is None:
        last = op.scale_decisions.get(key)
        if last is None:
            return None
        replicas = max(scaling.min_replicas, min(scaling.max_replicas, last.replicas))
        return ScaleDecision(replicas, last.limited_by, "lag unreadable; " + last.message)
    window = float(scaling.scale_down_stabilization_seconds)
    history, decision = stabilise(
        op.scale_history.get(key, []), time.monotonic(), window, decide(ps, reading)
    )
    op.scale_history[key] = history
    op.scale_decisions[key] = decision
    return decision


async def processor_lag(op: Operator, key: Key, ps: PhotoStorage) -> LagReading | None:
    """Consumer lag and partitions, read at most every LAG_INTERVAL; None when scaling by
    lag is off or the lag cannot be read."""
    if not ps.spec.processor.autoscaling.enabled:
        return None
    now = time.monotonic()
    read_at, reading = op.lag_readings.get(key, (0.0, None))
    if now - read_at < LAG_INTERVAL:
        return reading
    kafka = ps.spec.kafka
    try:
        reading = await asyncio.to_thread(
            read_lag, kafka.brokers, kafka.topic, kafka.consumer_group
        )
    except LagUnavailableError as error:
        logger.warning("consumer lag of %s/%s unavailable: %s", *key, error)
        reading = None
    op.lag_readings[key] = (now, reading)
    return reading
