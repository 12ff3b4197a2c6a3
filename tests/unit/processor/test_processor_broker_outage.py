"""A Kafka broker stopping: dead letters and offset commits wait for the brokers to return."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from confluent_kafka import KafkaError, KafkaException
from test_processor_outage_backoff import FakeConsumer, FakeMessage

from photostore.events import consumer_config, producer_config
from photostore.processor import consumer as consumer_module
from photostore.processor.batch import BatchOutcome, DeadLetter
from photostore.processor.consumer import ConsumeLoop
from photostore.processor.metrics import Liveness, Readiness, create_processor_metrics


class DeadLetterProcessor:
    """Every batch has one photo that must go to the dead-letter topic."""

    def process(self, messages: Sequence[Any], _counted: set[UUID]) -> BatchOutcome:
        letter = DeadLetter(message=messages[0], reason="undecodable", error="corrupt")
        return BatchOutcome(processed=[uuid4()], dead_letters=[letter], skipped=[])

    def close(self) -> None: ...


class BrokersAwayProducer:
    """Cannot deliver (all brokers down) `failures` times, then delivers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.produced: list[bytes | None] = []
        self._pending: list[Any] = []

    def produce(self, _topic: str, *, key: Any, value: Any, headers: Any, on_delivery: Any) -> None:
        self.produced.append(key)
        self._pending.append(on_delivery)

    def flush(self, _timeout: float) -> int:
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        if self.failures:
            self.failures -= 1
            for callback in pending:
                callback(KafkaError(KafkaError._MSG_TIMED_OUT, "brokers down"), None)
            return 0
        for callback in pending:
            callback(None, None)
        return 0


class FlakyCommitConsumer(FakeConsumer):
    def __init__(self, holder: list[ConsumeLoop], errors: list[KafkaError]) -> None:
        super().__init__(holder)
        self.errors = errors
        self.attempts = 0

    def commit(self, *, offsets: Any, asynchronous: bool) -> None:
        self.attempts += 1
        if self.errors:
            raise KafkaException(self.errors.pop(0))
        super().commit(offsets=offsets, asynchronous=asynchronous)


def _loop(consumer: FakeConsumer, producer: Any, processor: Any, readiness: Readiness) -> Any:
    loop = ConsumeLoop(
        consumer=consumer,  # type: ignore[arg-type]
        producer=producer,
        processor=processor,
        topic="photoUpload",
        dlq_topic="photoUpload.dlq",
        batch_size=16,
        batch_wait_s=0.01,
        metrics=create_processor_metrics(),
        liveness=Liveness(),
        readiness=readiness,
    )
    consumer.loop_stop.append(loop)
    return loop


def test_dead_letters_wait_for_the_brokers_and_the_batch_then_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "BACKOFF_S", 0.01)
    readiness = Readiness()
    consumer = FakeConsumer([])
    producer = BrokersAwayProducer(failures=3)
    _loop(consumer, producer, DeadLetterProcessor(), readiness).run()  # no exception
    assert len(producer.produced) == 4  # three refused, the fourth delivered
    assert [[(tp.partition, tp.offset) for tp in c] for c in consumer.commits] == [[(0, 2)]]
    assert readiness.problem is None


def test_a_commit_failing_for_a_retriable_reason_is_retried() -> None:
    timed_out = KafkaError(KafkaError.REQUEST_TIMED_OUT, "coordinator away", retriable=True)
    consumer = FlakyCommitConsumer([], [timed_out])
    _loop(consumer, BrokersAwayProducer(0), DeadLetterProcessor(), Readiness()).run()
    assert consumer.attempts == 2
    assert [[(tp.partition, tp.offset) for tp in c] for c in consumer.commits] == [[(0, 2)]]


def test_a_commit_refused_after_a_rebalance_is_not_retried_and_the_loop_goes_on() -> None:
    fenced = KafkaError(KafkaError.ILLEGAL_GENERATION, "rebalanced")
    consumer = FlakyCommitConsumer([], [fenced])
    consumer.batches.insert(0, [FakeMessage(2)])  # a second batch after the refused commit
    _loop(consumer, BrokersAwayProducer(0), DeadLetterProcessor(), Readiness()).run()
    assert consumer.attempts == 2  # one per batch
    assert [[(tp.partition, tp.offset) for tp in c] for c in consumer.commits] == [[(0, 3)]]


def test_producer_waits_for_every_in_sync_replica_and_never_duplicates() -> None:
    producer = producer_config("b1:9092,b2:9092,b3:9092")
    assert producer["acks"] == "all"
    assert producer["enable.idempotence"] is True
    assert producer["bootstrap.servers"] == "b1:9092,b2:9092,b3:9092"
    consumer = consumer_config("b1:9092,b2:9092,b3:9092", "processors")
    assert consumer["enable.auto.commit"] is False
