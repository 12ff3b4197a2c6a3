from __future__ import annotations

import asyncio

from photostore.operator.workqueue import Again, Key, WorkQueue

KEY = ("ns", "a")


class Passes:
    """What the work function saw, and a way to wait for the n-th pass without guessing."""

    def __init__(self) -> None:
        self.seen: list[object] = []
        self._changed = asyncio.Condition()

    async def record(self, item: object) -> None:
        async with self._changed:
            self.seen.append(item)
            self._changed.notify_all()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: len(self.seen) >= count)


async def test_repeated_adds_coalesce_and_never_overlap() -> None:
    running: set[Key] = set()
    overlaps: list[Key] = []
    calls = Passes()
    release = asyncio.Event()

    async def work(key: Key, full: bool) -> float | None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        if len(calls.seen) == 0:
            await calls.record(key)
            await release.wait()
        else:
            await calls.record(key)
        running.discard(key)
        return None

    queue = WorkQueue(work, workers=4)
    queue.start()
    for _ in range(10):
        queue.add(KEY)
    await calls.until(1)
    for _ in range(10):
        queue.add(KEY)  # while running: one more pass afterwards, not ten
    release.set()
    await calls.until(2)
    await asyncio.sleep(0.05)  # room for a wrong third pass to show up
    await queue.stop()
    assert calls.seen == [KEY, KEY]
    assert overlaps == []


async def test_failures_retry_with_backoff() -> None:
    attempts: list[float] = []

    async def work(key: Key, full: bool) -> float | None:
        attempts.append(asyncio.get_running_loop().time())
        if len(attempts) < 3:
            raise RuntimeError("apiserver hiccup")
        return None

    queue = WorkQueue(work, workers=1, base_backoff=0.1)
    queue.start()
    queue.add(KEY)
    for _ in range(100):
        if len(attempts) == 3:
            break
        await asyncio.sleep(0.05)
    await queue.stop()
    assert len(attempts) == 3
    # call_later never fires early: 0.1 s after the first failure, 0.2 s after the second
    assert attempts[1] - attempts[0] >= 0.1 - 0.005
    assert attempts[2] - attempts[1] >= 0.2 - 0.005


async def test_requeue_after_and_forget() -> None:
    calls = Passes()

    async def work(key: Key, full: bool) -> float | None:
        await calls.record(key)
        return 0.05 if len(calls.seen) == 1 else None

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY)
    await calls.until(2)  # the first pass asked to be looked at again after 0.05 s
    queue.add_after(KEY, 0.05)
    queue.forget(KEY)
    await asyncio.sleep(0.15)  # room for the forgotten timer to fire, were it not cancelled
    await queue.stop()
    assert len(calls.seen) == 2


async def test_a_full_request_wins_over_a_status_refresh() -> None:
    passes = Passes()

    async def work(key: Key, full: bool) -> float | None:
        await passes.record(full)
        return None

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY, full=False)
    queue.add(KEY, full=True)
    queue.add(KEY, full=False)
    await passes.until(1)
    queue.add(KEY, full=False)
    await passes.until(2)
    await queue.stop()
    assert passes.seen == [True, False]


async def test_status_refreshes_during_a_pass_rerun_it_as_a_status_refresh() -> None:
    """A full pass makes a dozen children whose controllers report back while it runs; the
    rerun those reports ask for is a status refresh, not another pass of applies."""
    passes = Passes()
    release = asyncio.Event()

    async def work(key: Key, full: bool) -> float | None:
        await passes.record(full)
        if len(passes.seen) == 1:
            await release.wait()
        return None

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY, full=True)
    await passes.until(1)
    queue.add(KEY, full=False)  # while the first pass runs
    queue.add(KEY, full=False)
    release.set()
    await passes.until(2)
    await asyncio.sleep(0.05)
    await queue.stop()
    assert passes.seen == [True, False]


async def test_a_short_look_again_can_be_a_status_refresh() -> None:
    passes = Passes()

    async def work(key: Key, full: bool) -> float | Again | None:
        await passes.record(full)
        return Again(0.01, full=False) if len(passes.seen) == 1 else None

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY, full=True)
    await passes.until(2)
    await queue.stop()
    assert passes.seen == [True, False]


async def test_a_pass_its_timer_queued_is_announced_first() -> None:
    """So that the operator reads such a PhotoStorage afresh: the watches may be paused."""
    calls = Passes()
    announced: list[Key] = []

    async def work(key: Key, full: bool) -> float | None:
        await calls.record((key, list(announced)))
        return 0.01 if len(calls.seen) == 1 else None

    queue = WorkQueue(work, workers=1, on_timer=announced.append)
    queue.start()
    queue.add(KEY)  # an event: not announced
    await calls.until(2)
    await queue.stop()
    assert calls.seen == [(KEY, []), (KEY, [KEY])]
