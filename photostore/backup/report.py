"""How the backup commands tell what they do: lines for a person, JSON lines for a machine.

Every step is an event with a name and fields. On a terminal the events become readable
lines and one progress line that updates in place; otherwise (a Job's log) each event is
one JSON object on its own line, for a log pipeline to parse.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Reporter(Protocol):
    def __call__(self, event: str, /, **fields: Any) -> None: ...


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


class JsonLinesReporter:
    def __init__(self, out: TextIO, clock: Clock = utc_now) -> None:
        self._out = out
        self._clock = clock

    def __call__(self, event: str, /, **fields: Any) -> None:
        line = {"time": self._clock().isoformat(), "event": event, **fields}
        self._out.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
        self._out.flush()


class TerminalReporter:
    """Each event's message on a line; `*.progress` events rewrite one line in place."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._progress_shown = False

    def __call__(self, event: str, /, **fields: Any) -> None:
        if event.endswith(".progress"):
            rate = fields.get("mib_per_s", 0.0)
            self._out.write(f"\r  {human_size(fields.get('bytes', 0))} at {rate:.1f} MiB/s   ")
            self._progress_shown = True
        else:
            if self._progress_shown:
                self._out.write("\n")
                self._progress_shown = False
            message = fields.get("message")
            if not message:
                message = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
                message = f"{event} {message}".rstrip()
            self._out.write(f"{message}\n")
        self._out.flush()


def reporter_for(out: TextIO = sys.stdout) -> Reporter:
    return TerminalReporter(out) if out.isatty() else JsonLinesReporter(out)
