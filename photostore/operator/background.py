"""Checks of things outside Kubernetes (the Kafka topic, the S3 bucket) run in a thread in
the background: an unreachable broker or store costs seconds, and a reconcile must not wait
for it. Each reports a Finding, and its completion asks for a status pass (`op.notify`).

A check runs again when what it checks changes (its `version`: the generation, a digest
of the credentials...) and, after a failure, every RETRY seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable

from photostore.operator.conditions import Finding
from photostore.operator.state import BackgroundCheck, Operator
from photostore.operator.workqueue import Key

RETRY = 60.0


def check_in_background(
    op: Operator, key: Key, name: str, version: Hashable, work: Callable[[], Finding]
) -> Finding | None:
    """The last finding of check `name` of `key`, starting the check when it is due. None
    until the first one ends."""
    now = time.monotonic()
    check = op.checks.get((key, name))
    if check is not None and check.task is not None and check.task.done():
        if not check.task.cancelled() and check.task.exception() is None:
            check.finding = check.task.result()
        check.task = None
    running = check is not None and check.task is not None
    due = (
        check is None
        or check.version != version
        or (check.finding is not None and not check.finding.status and now - check.started > RETRY)
    )
    if due and not running:
        task = asyncio.create_task(asyncio.to_thread(work))
        task.add_done_callback(lambda _: op.notify(key))
        op.checks[(key, name)] = BackgroundCheck(
            version, now, task, check.finding if check else None
        )
    return op.checks[(key, name)].finding


def stop_check(op: Operator, key: Key, name: str) -> None:
    check = op.checks.pop((key, name), None)
    if check is not None and check.task is not None:
        check.task.cancel()
