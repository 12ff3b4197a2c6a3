"""What happened to each file, the tally of a run, and its exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    UPLOADED = "uploaded"
    ALREADY_STORED = "already_stored"
    WOULD_UPLOAD = "would_upload"
    REJECTED = "rejected"
    FAILED = "failed"


# Outcomes that leave a file not stored: the run's exit code is then non-zero.
PROBLEMS = frozenset({Outcome.REJECTED, Outcome.FAILED})

EXIT_OK = 0
EXIT_NOT_ALL_STORED = 1
EXIT_API_REFUSED = 3


@dataclass(frozen=True)
class FileResult:
    """One file's end: `reason` is the API's message for a rejection, or why it failed."""

    path: str
    outcome: Outcome
    sha256: str | None = None
    photo_id: str | None = None
    reason: str | None = None

    def as_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"event": self.outcome.value, "path": self.path}
        for key in ("sha256", "photo_id", "reason"):
            value = getattr(self, key)
            if value is not None:
                event[key] = value
        return event


@dataclass
class Summary:
    counts: Counter[Outcome] = field(default_factory=Counter)
    problems: list[FileResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_NOT_ALL_STORED if self.problems else EXIT_OK

    def as_event(self) -> dict[str, Any]:
        return {
            "event": "summary",
            **{outcome.value: self.counts[outcome] for outcome in Outcome},
            "problems": [
                {"path": r.path, "outcome": r.outcome.value, "reason": r.reason}
                for r in self.problems
            ],
        }

    def lines(self) -> list[str]:
        """The summary for a person: counts, then each file not stored and why."""
        counts = self.counts
        head = (
            f"uploaded {counts[Outcome.UPLOADED]}, "
            f"already stored {counts[Outcome.ALREADY_STORED]}, "
            f"rejected {counts[Outcome.REJECTED]}, failed {counts[Outcome.FAILED]}"
        )
        if counts[Outcome.WOULD_UPLOAD]:
            head += f", would upload {counts[Outcome.WOULD_UPLOAD]} (dry run)"
        return [head] + [f"  {r.outcome.value}: {r.path}: {r.reason}" for r in self.problems]


def summarize(results: Iterable[FileResult]) -> Summary:
    summary = Summary()
    for result in results:
        summary.counts[result.outcome] += 1
        if result.outcome in PROBLEMS:
            summary.problems.append(result)
    summary.problems.sort(key=lambda r: r.path)
    return summary
