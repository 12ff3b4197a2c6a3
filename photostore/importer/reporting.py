"""Progress and the summary: a rich progress bar on a terminal, JSON lines otherwise."""

from __future__ import annotations

import json
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from photostore.importer.summary import FileResult, Outcome, Summary


class JsonLinesReporter:
    """One JSON object per line: each file's outcome, then `{"event": "summary", ...}`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> JsonLinesReporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stream.flush()

    def _write(self, event: dict[str, object]) -> None:
        self.stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.stream.flush()

    def found(self, files: int) -> None:
        self._write({"event": "found", "files": files})

    def hashed(self) -> None:
        """Hashing is not an outcome: no line for it."""

    def file_done(self, result: FileResult) -> None:
        self._write(result.as_event())

    def summary(self, summary: Summary) -> None:
        self._write(summary.as_event())


class ProgressBarReporter:
    """Two bars (hashed, done) on the console; rejections printed above them as they come."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description:>8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.hashing: TaskID | None = None
        self.importing: TaskID | None = None

    def __enter__(self) -> ProgressBarReporter:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def found(self, files: int) -> None:
        self.hashing = self.progress.add_task("hashed", total=files)
        self.importing = self.progress.add_task("done", total=files)

    def hashed(self) -> None:
        if self.hashing is not None:
            self.progress.advance(self.hashing)

    def file_done(self, result: FileResult) -> None:
        if self.importing is not None:
            self.progress.advance(self.importing)
        if result.outcome in (Outcome.REJECTED, Outcome.FAILED):
            self.progress.console.print(
                f"{result.outcome.value}: {result.path}: {result.reason}",
                markup=False,
                highlight=False,
            )

    def summary(self, summary: Summary) -> None:
        self.progress.stop()
        for line in summary.lines():
            self.console.print(line, markup=False, highlight=False)
