"""Turning one batch of `photoUpload` messages into thumbnails, rows and dead letters.

A photo's own problems (corrupt bytes, a missing original, an invalid event, too many
pixels) become a `failed` row and a dead letter: the batch goes on. Anything else (S3 or
PostgreSQL unreachable) is raised, so the caller retries the whole batch and commits no
offset; every write here is an overwrite keyed by the photo id, so the retry repeats nothing
twice.

A batch is processed in parts whose estimated memory (from the photos' headers) fits the
memory budget, each part's rows committed before the next starts. Each photo's attempts are
counted in its row before its pixels are decoded: a photo whose earlier attempt never
finished (the processor died on it) is processed alone, and after `max_attempts` such
attempts it is failed and dead-lettered instead of killing the processor again.

Stages of a part: fetch + header on worker threads; decode on workers (Pillow releases the
GIL); the kernels on workers too when the device is the CPU, and on the calling thread, one
photo after another, when it is the GPU; encoding and upload on workers.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import numpy as np
import psycopg
from pydantic import ValidationError

from photostore.events import PhotoUploaded
from photostore.processor.arrays import to_device
from photostore.processor.decode import (
    DEFAULT_MAX_PIXELS,
    DecodedPhoto,
    PhotoHeader,
    PhotoTooLargeError,
    UndecodablePhotoError,
    decode_photo,
    read_header,
)
from photostore.processor.memory_budget import PHOTO_OVERHEAD_BYTES, fitting_prefix, photo_cost
from photostore.processor.metrics import ProcessorMetrics
from photostore.processor.photo_objects import (
    MissingOriginalError,
    read_original,
    write_thumbnails,
)
from photostore.processor.photo_rows import (
    PhotoRow,
    fetch_photos,
    mark_processing,
    save_failure,
    save_processed,
)
from photostore.processor.pipeline import (
    KernelOutput,
    ProcessedPhoto,
    ThumbnailSpec,
    assemble,
    decode_size,
    run_kernels,
)
from photostore.storage import delete_prefix, thumbnail_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


class Message(Protocol):
    """The part of `confluent_kafka.Message` a batch reads."""

    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...


class PhotoFailedError(Exception):
    """This photo cannot be processed; retrying will not help."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DeadLetter:
    message: Message
    reason: str
    error: str


@dataclass(frozen=True)
class BatchOutcome:
    processed: list[UUID]
    dead_letters: list[DeadLetter]
    skipped: list[UUID]


@dataclass
class _Job:
    event: PhotoUploaded
    row: PhotoRow
    message: Message
    started: float
    data: bytes | None = None
    header: PhotoHeader | None = None
    decoded: DecodedPhoto | None = None
    output: KernelOutput | None = None
    result: ProcessedPhoto | None = None
    keys: dict[str, str] | None = None
    failure: PhotoFailedError | None = None

    def cost(self, out_edge: int) -> int:
        """Estimated peak bytes: encoded size only until the header is read; 0 once failed."""
        if self.failure is not None:
            return 0
        if self.header is None:
            return self.row.size + PHOTO_OVERHEAD_BYTES
        header = self.header
        return photo_cost(self.row.size, header.decoded_width, header.decoded_height, out_edge)


class BatchProcessor:
    def __init__(
        self,
        *,
        specs: list[ThumbnailSpec],
        xp: ModuleType,
        s3: S3Client,
        bucket: str,
        connect: Callable[[], psycopg.Connection[Any]],
        workers: ThreadPoolExecutor,
        metrics: ProcessorMetrics,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        memory_budget: int = 2 << 30,
        max_attempts: int = 3,
    ) -> None:
        self._specs = specs
        self._xp = xp
        self._s3 = s3
        self._bucket = bucket
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._workers = workers
        self._metrics = metrics
        self._kernels_on_workers = xp is np
        self._decode_edge = decode_size(specs)
        self._out_edge = max(spec.long_edge for spec in specs)
        self._max_pixels = max_pixels
        self._memory_budget = memory_budget
        self._max_attempts = max_attempts

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def process(
        self, messages: Sequence[Message], counted: set[UUID] | None = None
    ) -> BatchOutcome:
        """Process a batch; on return every photo's row is committed (done or failed).

        `counted` holds the photos whose attempt this delivery already counted: pass the same
        set to every retry of one batch, so that retrying after an outage counts nothing twice.
        """
        try:
            return self._process(messages, set() if counted is None else counted)
        except psycopg.Error:
            self.close()  # a fresh connection for the retry
            raise

    def _process(self, messages: Sequence[Message], counted: set[UUID]) -> BatchOutcome:
        started = time.monotonic()
        dead: list[DeadLetter] = []
        events: dict[UUID, tuple[PhotoUploaded, Message]] = {}
        for message in messages:
            try:
                event = PhotoUploaded.from_json(message.value() or b"")
            except ValidationError as exc:
                dead.append(DeadLetter(message, "invalid_event", str(exc)))
                continue
            # The same photo twice in one batch (a redelivery) is processed once.
            events[event.photo_id] = (event, message)

        conn = self._connection()
        with conn.transaction():
            rows = fetch_photos(conn, list(events))
        jobs: list[_Job] = []
        skipped: list[UUID] = []
        for photo_id, (event, message) in events.items():
            row = rows.get(photo_id)
            if row is None or row.processing_status == "done":
                # No row: the photo was purged. Done: a redelivery after a commit was lost.
                log.info("photo %s skipped (%s)", photo_id, "no row" if row is None else "done")
                skipped.append(photo_id)
                continue
            jobs.append(_Job(event, row, message, started))
        given_up = [job for job in jobs if self._gives_up(job, counted)]
        if given_up:
            with conn.transaction():
                for job in given_up:
                    job.failure = PhotoFailedError(
                        "too_many_attempts",
                        f"processing started {job.row.processing_attempts} times and never "
                        "finished: the processor stopped on this photo each time",
                    )
                    save_failure(conn, job.row.id, str(job.failure))
        pending = deque(job for job in jobs if job.failure is None)
        purged: set[UUID] = set()
        while pending:
            purged |= self._process_part(conn, self._next_part(pending, counted), pending, counted)
        skipped.extend(purged)
        jobs = [job for job in jobs if job.row.id not in purged]

        processed = [job.row.id for job in jobs if job.failure is None]
        for job in jobs:
            if job.failure is not None:
                dead.append(DeadLetter(job.message, job.failure.reason, job.failure.detail))
                log.warning("photo %s failed: %s", job.row.id, job.failure)
            else:
                self._metrics.latency.observe(time.monotonic() - job.started)
        return BatchOutcome(processed=processed, dead_letters=dead, skipped=skipped)

    def _gives_up(self, job: _Job, counted: set[UUID]) -> bool:
        """The processor died on this photo `max_attempts` times (not counting this delivery)."""
        row = job.row
        return (
            row.interrupted
            and row.id not in counted
            and row.processing_attempts >= self._max_attempts
        )

    def _next_part(self, pending: deque[_Job], counted: set[UUID]) -> list[_Job]:
        """The next jobs to fetch: a suspect alone, else as many as fit the budget by size."""

        def suspect(job: _Job) -> bool:
            return job.row.interrupted and job.row.id not in counted

        if suspect(pending[0]):
            return [pending.popleft()]
        part: list[_Job] = []
        total = 0
        while pending and not suspect(pending[0]):
            cost = pending[0].cost(self._out_edge)
            if part and total + cost > self._memory_budget:
                break
            total += cost
            part.append(pending.popleft())
        return part

    def _process_part(
        self,
        conn: psycopg.Connection[Any],
        part: list[_Job],
        pending: deque[_Job],
        counted: set[UUID],
    ) -> set[UUID]:
        """Fetch, decode, compute and store one part; returns the photos purged meanwhile."""
        list(self._workers.map(self._fetch, part))
        # Now that the headers are read, keep what fits; the rest waits (without its bytes).
        fits = fitting_prefix([job.cost(self._out_edge) for job in part], self._memory_budget)
        for job in reversed(part[fits:]):
            job.data = None
            pending.appendleft(job)
        part = part[:fits]
        starting = [job.row.id for job in part if job.failure is None]
        if starting:
            with conn.transaction():
                mark_processing(conn, starting, [i for i in starting if i not in counted])
            counted.update(starting)
            self._run(part)
        purged: set[UUID] = set()
        with conn.transaction():
            for job in part:
                if job.failure is not None:
                    save_failure(conn, job.row.id, str(job.failure))
                else:
                    assert job.result is not None and job.keys is not None
                    if not save_processed(conn, job.row.id, job.result, job.keys):
                        purged.add(job.row.id)
        for photo_id in purged:
            # The API purged the photo, thumbnails included, before these were written:
            # remove them as its purge does.
            log.info("photo %s skipped (purged while processing)", photo_id)
            delete_prefix(self._s3, self._bucket, thumbnail_prefix(photo_id))
        return purged

    def _run(self, jobs: list[_Job]) -> None:
        if self._kernels_on_workers:
            list(self._workers.map(self._whole, jobs))
            return
        list(self._workers.map(self._decode, jobs))
        for job in jobs:
            self._kernels(job)
        list(self._workers.map(self._encode_and_upload, jobs))

    def _whole(self, job: _Job) -> None:
        self._decode(job)
        self._kernels(job)
        self._encode_and_upload(job)

    def _fetch(self, job: _Job) -> None:
        """Read the original (unless held) and its header; a photo too large fails here."""
        if job.failure is not None:
            return
        job.started = time.monotonic()
        try:
            if job.data is None:
                job.data = read_original(self._s3, self._bucket, job.row.s3_key)
            job.header = read_header(job.data, self._decode_edge, self._max_pixels)
        except MissingOriginalError as exc:
            job.failure = PhotoFailedError("missing_original", str(exc))
        except PhotoTooLargeError as exc:
            job.failure = PhotoFailedError("too_large", str(exc))
        except UndecodablePhotoError as exc:
            job.failure = PhotoFailedError("undecodable", str(exc))
        if job.failure is not None:
            job.data = None

    def _decode(self, job: _Job) -> None:
        if job.failure is not None or job.data is None:
            return
        try:
            job.decoded = decode_photo(job.data, self._decode_edge, self._max_pixels)
        except PhotoTooLargeError as exc:
            job.failure = PhotoFailedError("too_large", str(exc))
        except UndecodablePhotoError as exc:
            job.failure = PhotoFailedError("undecodable", str(exc))
        job.data = None

    def _kernels(self, job: _Job) -> None:
        if job.failure is not None or job.decoded is None:
            return
        try:
            job.output = run_kernels(to_device(self._xp, job.decoded.pixels), self._specs)
        except Exception as exc:  # a photo that breaks the kernels must not stop the batch
            log.exception("kernels failed on photo %s", job.row.id)
            job.failure = PhotoFailedError("processing_error", f"{type(exc).__name__}: {exc}")

    def _encode_and_upload(self, job: _Job) -> None:
        if job.failure is not None or job.decoded is None or job.output is None:
            return
        try:
            job.result = assemble(job.decoded, job.output, self._specs)
        except Exception as exc:  # an encoder error is this photo's, not the service's
            log.exception("encoding failed on photo %s", job.row.id)
            job.failure = PhotoFailedError("processing_error", f"{type(exc).__name__}: {exc}")
            return
        job.decoded = None  # free the pixels before the upload
        job.output = None
        job.keys = write_thumbnails(self._s3, self._bucket, job.row.id, job.result.thumbnails)
