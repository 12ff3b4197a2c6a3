"""Events go out in the background once the Recorder is started, in order, counted up."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import photostorage_body
from fake_kube import FakeKube

from photostore.operator import recorder
from photostore.operator.kube import Obj
from photostore.operator.recorder import Recorder


def events(kube: FakeKube) -> list[Obj]:
    return [o for (_, kind, _, _), o in kube.objects.items() if kind == "Event"]


class SlowKube(FakeKube):
    """An apiserver that answers Event posts only when the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()

    async def create(self, obj: Obj) -> Obj:
        await self.answer.wait()
        return await super().create(obj)

    async def patch(self, *args: Any, **kwargs: Any) -> Obj:
        await self.answer.wait()
        return await super().patch(*args, **kwargs)


async def test_a_started_recorder_does_not_wait_for_the_apiserver() -> None:
    kube = SlowKube()
    events_ = Recorder(kube)  # type: ignore[arg-type]
    events_.start()
    body = photostorage_body()
    await asyncio.wait_for(events_.record(body, recorder.NORMAL, "Created", "made"), 1)
    for _ in range(3):
        await events_.record(body, recorder.WARNING, "ApplyFailed", "refused")
    await asyncio.sleep(0)
    assert events(kube) == []  # handed over, not posted yet
    kube.answer.set()
    await events_.stop()  # posts what is queued
    posted = sorted((e["reason"], e["count"]) for e in events(kube))
    assert posted == [("ApplyFailed", 3), ("Created", 1)]


async def test_without_start_an_event_is_posted_before_record_returns() -> None:
    kube = FakeKube()
    await Recorder(kube).record(photostorage_body(), recorder.NORMAL, "Ready", "ok")  # type: ignore[arg-type]
    assert [e["reason"] for e in events(kube)] == ["Ready"]


async def test_a_full_queue_drops_events_instead_of_waiting(monkeypatch: Any) -> None:
    monkeypatch.setattr(recorder, "QUEUED", 2)
    monkeypatch.setattr(recorder, "DRAIN_SECONDS", 0.2)
    kube = SlowKube()
    events_ = Recorder(kube)  # type: ignore[arg-type]
    events_.start()
    body = photostorage_body()
    for n in range(10):
        await asyncio.wait_for(events_.record(body, recorder.NORMAL, "Created", f"m{n}"), 1)
    kube.answer.set()
    await events_.stop()
    assert 2 <= len(events(kube)) <= 3  # the queue's two, and one the poster held


async def test_a_failing_post_does_not_stop_the_poster() -> None:
    class BrokenOnce(FakeKube):
        failed = False

        async def create(self, obj: Obj) -> Obj:
            if not self.failed:
                self.failed = True
                raise RuntimeError("connection reset")
            return await super().create(obj)

    kube = BrokenOnce()
    events_ = Recorder(kube)  # type: ignore[arg-type]
    events_.start()
    body = photostorage_body()
    await events_.record(body, recorder.NORMAL, "Created", "lost")
    await events_.record(body, recorder.NORMAL, "Ready", "kept")
    await events_.stop()
    assert [e["reason"] for e in events(kube)] == ["Ready"]


async def test_events_of_different_objects_are_posted_at_once() -> None:
    kube = SlowKube()
    waiting: list[str] = []

    async def create(obj: Obj) -> Obj:
        waiting.append(obj["involvedObject"]["uid"])
        return await SlowKube.create(kube, obj)

    kube.create = create  # type: ignore[method-assign]
    events_ = Recorder(kube)  # type: ignore[arg-type]
    events_.start()
    bodies = [photostorage_body() for _ in range(16)]
    for n, body in enumerate(bodies):
        body["metadata"]["uid"] = f"u-{n}"
        await events_.record(body, recorder.NORMAL, "Created", "made")
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(waiting) > 1  # several posts wait for the apiserver together
    kube.answer.set()
    await events_.stop()
    assert len(events(kube)) == 16
