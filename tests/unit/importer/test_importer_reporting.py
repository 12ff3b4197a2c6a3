"""What a person and a program see: the progress bar's summary, and JSON lines."""

from __future__ import annotations

import io
import json

from rich.console import Console

from photostore.importer.reporting import JsonLinesReporter, ProgressBarReporter
from photostore.importer.summary import FileResult, Outcome, summarize

RESULTS = [
    FileResult("a.jpg", Outcome.UPLOADED, "1" * 64, "id-a"),
    FileResult("b.jpg", Outcome.REJECTED, "2" * 64, reason="413 too_large: too big"),
]


def test_json_lines_give_one_event_per_file_then_the_summary() -> None:
    out = io.StringIO()
    with JsonLinesReporter(out) as reporter:
        reporter.found(2)
        reporter.hashed()
        for result in RESULTS:
            reporter.file_done(result)
        reporter.summary(summarize(RESULTS))

    events = [json.loads(line) for line in out.getvalue().splitlines()]

    assert [e["event"] for e in events] == ["found", "uploaded", "rejected", "summary"]
    assert events[1] == {
        "event": "uploaded",
        "path": "a.jpg",
        "sha256": "1" * 64,
        "photo_id": "id-a",
    }
    assert events[3]["problems"] == [
        {"path": "b.jpg", "outcome": "rejected", "reason": "413 too_large: too big"}
    ]


def test_the_progress_bar_ends_with_the_summary_and_each_reason() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with ProgressBarReporter(console) as reporter:
        reporter.found(2)
        for result in RESULTS:
            reporter.hashed()
            reporter.file_done(result)
        reporter.summary(summarize(RESULTS))

    text = out.getvalue()

    assert "uploaded 1, already stored 0, rejected 1, failed 0" in text
    assert "rejected: b.jpg: 413 too_large: too big" in text
    assert "2/2" in text
