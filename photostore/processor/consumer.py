"""The Kafka consume loop: batch, process, dead-letter, commit; stop cleanly on SIGTERM.

Delivery is at least once: offsets are committed only after the batch's rows are committed
and its dead letters acknowledged by the broker. A crash anywhere before that replays the
batch, which `BatchProcessor` makes harmless.

A batch that fails for a reason outside its photos (S3 or PostgreSQL down) is retried with
backoff until it succeeds or the process is asked to stop: the process stays alive (its
liveness keeps beating) and reports unready meanwhile, instead of exiting into a crash loop.

A Kafka broker that stops is the same kind of outage. librdkafka reconnects by itself and
reports the broker's absence as non-fatal errors, which are logged; dead letters that the
brokers cannot take yet are retried like a failing batch; an offset commit failing for a
retriable reason (coordinator moving, request timed out) is retried a few times, and
otherwise left to the next batch's commit or to redelivery, which the processor's
idempotence makes harmless. Only a fatal error (the idempotent producer's or consumer's
state is lost) stops the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from photostore.processor.batch import BatchOutcome, BatchProcessor, DeadLetter, Message
from photostore.processor.metrics import Liveness, ProcessorMetrics, Readiness

log = logging.getLogger(__name__)

# A batch that keeps failing for infrastructure reasons is retried after 1, 2, 4 ... seconds,
# at most MAX_BACKOFF_S apart, for as long as it takes.
BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
DLQ_FLUSH_TIMEOUT_S = 30.0
COMMIT_ATTEMPTS = 3


def next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    """The offsets to commit: one past the last message of each partition."""
    highest: dict[tuple[str, int], int] = {}
    for message in messages:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            continue
        key = (topic, partition)
        highest[key] = max(highest.get(key, -1), offset)
    return [TopicPartition(t, p, o + 1) for (t, p), o in sorted(highest.items())]


class ConsumeLoop:
    def __init__(
        self,
        *,
        consumer: Consumer,
        producer: Producer,
        processor: BatchProcessor,
        topic: str,
        dlq_topic: str,
        batch_size: int,
        batch_wait_s: float,
        metrics: ProcessorMetrics,
        liveness: Liveness,
        readiness: Readiness | None = None,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._processor = processor
        self._topic = topic
        self._dlq_topic = dlq_topic
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._metrics = metrics
        self._liveness = liveness
        self._readiness = readiness or Readiness()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to finish its current batch, commit and return (signal-safe)."""
        self._stop.set()

    def run(self) -> None:
        self._consumer.subscribe([self._topic])
        try:
            while not self._stop.is_set():
                messages = self._poll()
                self._liveness.beat()
                # Stopping during the poll: leave these uncommitted for the next consumer.
                if messages and not self._stop.is_set():
                    self._handle(messages)
                self._report_lag()
        finally:
            self._producer.flush(DLQ_FLUSH_TIMEOUT_S)
            self._consumer.close()
            self._processor.close()

    def _poll(self) -> list[Any]:
        batch: list[Any] = []
        for message in self._consumer.consume(self._batch_size, self._batch_wait_s):
            error = message.error()
            if error is None:
                batch.append(message)
            elif error.fatal():
                raise KafkaException(error)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", error)
        return batch

    def _handle(self, messages: list[Any]) -> None:
        self._metrics.batch_size.observe(len(messages))
        outcome = self._process_with_retries(messages)
        if outcome is None:
            return  # stopping before the batch could finish: it is redelivered
        if not self._retry_until_done(lambda: self._dead_letter(outcome.dead_letters)):
            return
        self._commit(next_offsets(messages))
        self._metrics.processed.inc(len(outcome.processed))
        for letter in outcome.dead_letters:
            self._metrics.failed.labels(letter.reason).inc()
        log.info(
            "batch of %d: %d processed, %d failed, %d skipped",
            len(messages),
            len(outcome.processed),
            len(outcome.dead_letters),
            len(outcome.skipped),
        )

    def _commit(self, offsets: list[TopicPartition]) -> None:
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                retriable = isinstance(error, KafkaError) and error.retriable()
                if not retriable or attempt == COMMIT_ATTEMPTS or self._stop.wait(BACKOFF_S):
                    # Partitions reassigned meanwhile, or the brokers still away: the next
                    # commit covers these offsets, or their new owner replays the messages,
                    # finds the photos done and skips them.
                    log.warning("offset commit failed, messages may be redelivered: %s", exc)
                    return

    def _process_with_retries(self, messages: list[Any]) -> BatchOutcome | None:
        """The batch's outcome, retrying until it succeeds; None when stopped meanwhile."""
        counted: set[UUID] = set()  # one delivery: its attempts are counted once
        outcome: list[BatchOutcome] = []
        done = self._retry_until_done(
            lambda: outcome.append(self._processor.process(messages, counted))
        )
        return outcome[0] if done else None

    def _retry_until_done(self, step: Callable[[], None]) -> bool:
        """Run `step` until it does not raise, unready and backing off meanwhile.

        False when the process was asked to stop first."""
        attempt = 0
        while True:
            attempt += 1
            try:
                step()
            except Exception as exc:
                delay = min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (attempt - 1))
                self._readiness.unready(f"batch failing: {type(exc).__name__}")
                log.warning("batch attempt %d failed (%s); retrying in %.0fs", attempt, exc, delay)
                if self._stop.wait(delay):
                    return False
                self._liveness.beat()
                continue
            if self._readiness.problem is not None:
                log.info("batch succeeded after %d attempts: ready again", attempt)
            self._readiness.ready()
            return True

    def _dead_letter(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        errors: list[str] = []

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for letter in letters:
            source = letter.message
            self._producer.produce(
                self._dlq_topic,
                key=source.key(),
                value=source.value(),
                headers={
                    "error.reason": letter.reason,
                    "error.message": letter.error[:2000],
                    "source.topic": source.topic() or "",
                    "source.partition": str(source.partition()),
                    "source.offset": str(source.offset()),
                },
                on_delivery=delivered,
            )
        remaining = self._producer.flush(DLQ_FLUSH_TIMEOUT_S)
        if remaining or errors:
            raise RuntimeError(f"dead-letter delivery failed ({remaining} pending): {errors}")

    def _report_lag(self) -> None:
        try:
            assignment = self._consumer.assignment()
            if not assignment:
                return
            for position in self._consumer.position(assignment):
                if position.offset < 0:
                    continue
                _, high = self._consumer.get_watermark_offsets(position, cached=True)
                if high is None or high < 0:
                    continue
                self._metrics.lag.labels(position.topic, str(position.partition)).set(
                    max(0, high - position.offset)
                )
        except KafkaException as exc:
            log.debug("lag not available: %s", exc)
