"""A batch failing for a reason outside its photos is retried, the process unready meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest

from photostore.processor import consumer as consumer_module
from photostore.processor.batch import BatchOutcome
from photostore.processor.consumer import ConsumeLoop
from photostore.processor.metrics import Liveness, Readiness, create_processor_metrics


class FakeMessage:
    def __init__(self, offset: int) -> None:
        self._offset = offset

    def error(self) -> None:
        return None

    def key(self) -> bytes | None:
        return None

    def value(self) -> bytes | None:
        return b"{}"

    def topic(self) -> str:
        return "photoUpload"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


class FakeConsumer:
    """Hands out one batch, then nothing; records commits."""

    def __init__(self, loop_stop: list[ConsumeLoop]) -> None:
        self.batches = [[FakeMessage(0), FakeMessage(1)]]
        self.commits: list[Any] = []
        self.loop_stop = loop_stop

    def subscribe(self, _topics: list[str]) -> None: ...

    def consume(self, _n: int, _timeout: float) -> list[FakeMessage]:
        if self.batches:
            return self.batches.pop()
        self.loop_stop[0].stop()
        return []

    def commit(self, *, offsets: Any, asynchronous: bool) -> None:
        self.commits.append(offsets)

    def assignment(self) -> list[Any]:
        return []

    def close(self) -> None: ...


class FakeProducer:
    def flush(self, _timeout: float) -> int:
        return 0


class FlakyProcessor:
    """Fails `failures` times as S3 would when it is down, then succeeds."""

    def __init__(self, failures: int, readiness: Readiness) -> None:
        self.failures = failures
        self.readiness = readiness
        self.seen_unready: list[str | None] = []
        self.counted_sets: list[int] = []
        self.photo = uuid4()

    def process(self, _messages: Sequence[Any], counted: set[UUID]) -> BatchOutcome:
        self.seen_unready.append(self.readiness.problem)
        self.counted_sets.append(id(counted))
        counted.add(self.photo)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Could not connect to the endpoint URL")
        return BatchOutcome(processed=[self.photo], dead_letters=[], skipped=[])

    def close(self) -> None: ...


def test_an_outage_is_waited_out_unready_and_the_batch_then_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consumer_module, "BACKOFF_S", 0.01)
    readiness = Readiness()
    processor = FlakyProcessor(failures=6, readiness=readiness)
    holder: list[ConsumeLoop] = []
    fake_consumer = FakeConsumer(holder)
    loop = ConsumeLoop(
        consumer=fake_consumer,  # type: ignore[arg-type]
        producer=FakeProducer(),  # type: ignore[arg-type]
        processor=processor,  # type: ignore[arg-type]
        topic="photoUpload",
        dlq_topic="photoUpload.dlq",
        batch_size=16,
        batch_wait_s=0.01,
        metrics=create_processor_metrics(),
        liveness=Liveness(),
        readiness=readiness,
    )
    holder.append(loop)
    loop.run()  # returns: it neither raised nor gave up after a few attempts
    assert len(processor.seen_unready) == 7
    assert processor.seen_unready[0] is None
    assert processor.seen_unready[1:] == ["batch failing: ConnectionError"] * 6
    assert readiness.problem is None
    # One delivery, one set of counted attempts across all its retries.
    assert len(set(processor.counted_sets)) == 1
    assert [[(tp.partition, tp.offset) for tp in c] for c in fake_consumer.commits] == [[(0, 2)]]


def test_stopping_during_an_outage_commits_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "BACKOFF_S", 0.01)
    readiness = Readiness()
    processor = FlakyProcessor(failures=10**6, readiness=readiness)
    holder: list[ConsumeLoop] = []
    fake_consumer = FakeConsumer(holder)
    loop = ConsumeLoop(
        consumer=fake_consumer,  # type: ignore[arg-type]
        producer=FakeProducer(),  # type: ignore[arg-type]
        processor=processor,  # type: ignore[arg-type]
        topic="photoUpload",
        dlq_topic="photoUpload.dlq",
        batch_size=16,
        batch_wait_s=0.01,
        metrics=create_processor_metrics(),
        liveness=Liveness(),
        readiness=readiness,
    )
    holder.append(loop)
    original = processor.process

    def stop_after_three(messages: Sequence[Any], counted: set[UUID]) -> BatchOutcome:
        if len(processor.seen_unready) == 3:
            loop.stop()
        return original(messages, counted)

    processor.process = stop_after_three  # type: ignore[method-assign]
    loop.run()
    assert fake_consumer.commits == []
    assert readiness.problem == "batch failing: ConnectionError"
