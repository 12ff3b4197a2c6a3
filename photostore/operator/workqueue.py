"""A keyed work queue like controller-runtime's: events only say *which* PhotoStorage to
look at; a key is never reconciled by two workers at once, repeated events coalesce, and
failures come back with exponential backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Again:
    """Look at a key again after `delay` seconds: a full pass, or only a status refresh."""

    delay: float
    full: bool = True


logger = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class WorkQueue:
    def __init__(
        self,
        work: Callable[[Key, bool], Awaitable[float | Again | None]],
        workers: int = 8,
        base_backoff: float = 0.5,
        on_timer: Callable[[Key], None] | None = None,
    ) -> None:
        """`work(key, full)` returns when to look at the key again (None: not unless told;
        seconds: a full pass then; `Again`: say which).

        `full` asks for a complete pass (apply every child); otherwise a status refresh
        is enough. A key queued both ways gets the full pass. `on_timer(key)` is called when
        a key is queued by its timer (a retry or a look again) rather than by an event."""
        self._work = work
        self._on_timer = on_timer
        self._workers = workers
        self._base_backoff = base_backoff
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        self._active: set[Key] = set()
        self._dirty: set[Key] = set()
        self._full: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def __len__(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def add(self, key: Key, full: bool = True) -> None:
        """Reconcile `key` soon; if it is being reconciled now, once more afterwards."""
        if full:
            self._full.add(key)
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: Key, delay: float, full: bool = True) -> None:
        """Reconcile `key` after `delay` seconds, replacing an earlier timer for it."""
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key, full)

    def forget(self, key: Key) -> None:
        """The object is gone: drop its timer, backoff and any coalesced rerun."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._failures.pop(key, None)
        self._dirty.discard(key)
        self._full.discard(key)

    def _fire(self, key: Key, full: bool) -> None:
        self._timers.pop(key, None)
        if self._on_timer is not None:
            self._on_timer(key)
        self.add(key, full)

    async def _run(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            self._active.add(key)
            full = key in self._full
            self._full.discard(key)
            try:
                again = await self._work(key, full)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                delay = min(MAX_BACKOFF, self._base_backoff * 2 ** (failures - 1))
                logger.exception("reconcile of %s/%s failed; retry in %.1fs", *key, delay)
                self.add_after(key, delay)
            else:
                self._failures.pop(key, None)
                if isinstance(again, Again):
                    self.add_after(key, again.delay, again.full)
                elif again is not None:
                    self.add_after(key, again)
            finally:
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key, full=False)  # `_full` holds whether one asked for more
