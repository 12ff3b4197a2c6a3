"""One import run: walk, hash, ask which digests are stored, upload the rest.

Files with the same bytes are uploaded once; the copies end as the first one did (an
uploaded first copy makes the others "already stored").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from photostore.importer.api_client import ApiRefusedError, ApiUnavailableError, PhotoApi
from photostore.importer.hashing import sha256_file
from photostore.importer.summary import FileResult, Outcome, Summary, summarize
from photostore.importer.walker import find_images


class Reporter(Protocol):
    """Where progress goes: a progress bar, or one JSON line per file."""

    def found(self, files: int) -> None: ...

    def hashed(self) -> None: ...

    def file_done(self, result: FileResult) -> None: ...


@dataclass(frozen=True)
class ImportOptions:
    root: Path
    concurrency: int = 4
    dry_run: bool = False


def display_path(root: Path, path: Path) -> str:
    """The path as shown in events: relative to the imported folder, with `/`."""
    return path.relative_to(root).as_posix()


class _Run:
    def __init__(self, api: PhotoApi, options: ImportOptions, reporter: Reporter) -> None:
        self.api = api
        self.options = options
        self.reporter = reporter
        self.results: list[FileResult] = []

    def done(self, result: FileResult) -> None:
        self.results.append(result)
        self.reporter.file_done(result)

    def show(self, path: Path) -> str:
        return display_path(self.options.root, path)

    async def hash_all(self, files: list[Path]) -> dict[str, list[Path]]:
        """Digest → the files with those bytes (first found first); unreadable files fail.

        `concurrency` workers hash in threads, taking files from one shared iterator, so a
        folder of any size costs that many tasks, not one per file.
        """
        digests: list[str | None] = [None] * len(files)
        queue = iter(enumerate(files))

        async def worker() -> None:
            for index, path in queue:
                try:
                    digests[index] = await asyncio.to_thread(sha256_file, path)
                except OSError as exc:
                    self.done(FileResult(self.show(path), Outcome.FAILED, reason=_os_reason(exc)))
                self.reporter.hashed()

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.options.concurrency, len(files))):
                group.create_task(worker())
        groups: dict[str, list[Path]] = {}
        for path, sha256 in zip(files, digests, strict=True):
            if sha256 is not None:
                groups.setdefault(sha256, []).append(path)
        return groups

    def finish_group(self, sha256: str, paths: list[Path], first: FileResult) -> None:
        self.done(first)
        copies = Outcome.ALREADY_STORED if first.outcome is Outcome.UPLOADED else first.outcome
        reason = first.reason or f"same bytes as {first.path}"
        for path in paths[1:]:
            self.done(FileResult(self.show(path), copies, sha256, first.photo_id, reason))

    async def upload_group(self, sha256: str, paths: list[Path]) -> None:
        shown = self.show(paths[0])
        try:
            answer = await self.api.upload(paths[0], paths[0].name)
        except OSError as exc:
            result = FileResult(shown, Outcome.FAILED, sha256, reason=_os_reason(exc))
        except ApiUnavailableError as exc:
            result = FileResult(shown, Outcome.FAILED, sha256, reason=str(exc))
        else:
            outcome = {201: Outcome.UPLOADED, 200: Outcome.ALREADY_STORED}.get(
                answer.status, Outcome.REJECTED if answer.status < 500 else Outcome.FAILED
            )
            result = FileResult(shown, outcome, sha256, answer.photo_id, answer.reason)
        self.finish_group(sha256, paths, result)

    async def upload_all(self, pending: list[tuple[str, list[Path]]]) -> None:
        """At most `concurrency` uploads in flight: that many workers share one queue."""
        queue: Iterator[tuple[str, list[Path]]] = iter(pending)

        async def worker() -> None:
            for sha256, paths in queue:
                await self.upload_group(sha256, paths)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.options.concurrency, len(pending))):
                    group.create_task(worker())
        except* ApiRefusedError as refused:
            raise refused.exceptions[0] from None

    async def run(self) -> Summary:
        walk = find_images(self.options.root)
        self.reporter.found(len(walk.files) + len(walk.unreadable))
        for folder, why in walk.unreadable:
            self.done(FileResult(self.show(folder), Outcome.FAILED, reason=why))
        groups = await self.hash_all(walk.files)
        stored = await self.api.lookup(list(groups)) if groups else {}
        pending: list[tuple[str, list[Path]]] = []
        for sha256, paths in groups.items():
            if sha256 in stored:
                for path in paths:
                    self.done(
                        FileResult(self.show(path), Outcome.ALREADY_STORED, sha256, stored[sha256])
                    )
            elif self.options.dry_run:
                for path in paths:
                    self.done(FileResult(self.show(path), Outcome.WOULD_UPLOAD, sha256))
            else:
                pending.append((sha256, paths))
        await self.upload_all(pending)
        return summarize(self.results)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


async def import_folder(api: PhotoApi, options: ImportOptions, reporter: Reporter) -> Summary:
    """Import every image under `options.root`; the summary's exit code says if all are stored."""
    return await _Run(api, options, reporter).run()
