from __future__ import annotations

import asyncio

from photostore.operator.workqueue import Key, WorkQueue

KEY = ("ns", "a")


async def test_repeated_adds_coalesce_and_never_overlap() -> None:
    running: set[Key] = set()
    overlaps: list[Key] = []
    calls: list[Key] = []

    async def work(key: Key, full: bool) -> float | None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        calls.append(key)
        await asyncio.sleep(0.05)
        running.discard(key)
        return None

    queue = WorkQueue(work, workers=4)
    queue.start()
    for _ in range(10):
        queue.add(KEY)
    await asyncio.sleep(0.01)
    for _ in range(10):
        queue.add(KEY)  # while running: one more pass afterwards, not ten
    await asyncio.sleep(0.2)
    await queue.stop()
    assert calls == [KEY, KEY]
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
    calls: list[Key] = []

    async def work(key: Key, full: bool) -> float | None:
        calls.append(key)
        return 0.05

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY)
    await asyncio.sleep(0.08)
    assert len(calls) == 2  # the first pass asked to be looked at again after 0.05 s
    queue.forget(KEY)
    await asyncio.sleep(0.1)
    await queue.stop()
    assert len(calls) == 2


async def test_a_full_request_wins_over_a_status_refresh() -> None:
    passes: list[bool] = []

    async def work(key: Key, full: bool) -> float | None:
        passes.append(full)
        return None

    queue = WorkQueue(work, workers=1)
    queue.start()
    queue.add(KEY, full=False)
    queue.add(KEY, full=True)
    queue.add(KEY, full=False)
    await asyncio.sleep(0.02)
    queue.add(KEY, full=False)
    await asyncio.sleep(0.02)
    await queue.stop()
    assert passes == [True, False]
