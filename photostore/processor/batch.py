"""Turning one batch of `photoUpload` messages into thumbnails, rows and dead letters.

A photo's own problems (corrupt bytes, a missing original, an invalid event) become a
`failed` row and a dead letter: the batch goes on. Anything else (S3 or PostgreSQL
unreachable) is raised, so the caller retries the whole batch and commits no offset; every
write here is an overwrite keyed by the photo id, so the retry repeats nothing twice.

Stages: fetch + decode run on worker threads (Pillow releases the GIL); the kernels run on
workers too when the device is the CPU, and on the calling thread, one photo after another,
when it is the GPU; encoding and upload run on workers.
"""

from __future__ import annotations

import logging
import time
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
from photostore.processor.decode import DecodedPhoto, UndecodablePhotoError, decode_photo
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
    decoded: DecodedPhoto | None = None
    output: KernelOutput | None = None
    result: ProcessedPhoto | None = None
    keys: dict[str, str] | None = None
    failure: PhotoFailedError | None = None


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

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def process(self, messages: Sequence[Message]) -> BatchOutcome:
        """Process a batch; on return every photo's row is committed (done or failed)."""
        try:
            return self._process(messages)
        except psycopg.Error:
            self.close()  # a fresh connection for the retry
            raise

    def _process(self, messages: Sequence[Message]) -> BatchOutcome:
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
        if jobs:
            with conn.transaction():
                mark_processing(conn, [job.row.id for job in jobs])
            self._run(jobs)
            purged: set[UUID] = set()
            with conn.transaction():
                for job in jobs:
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
                skipped.append(photo_id)
            jobs = [job for job in jobs if job.row.id not in purged]

        processed = [job.row.id for job in jobs if job.failure is None]
        for job in jobs:
            if job.failure is not None:
                dead.append(DeadLetter(job.message, job.failure.reason, job.failure.detail))
                log.warning("photo %s failed: %s", job.row.id, job.failure)
            else:
                self._metrics.latency.observe(time.monotonic() - job.started)
        return BatchOutcome(processed=processed, dead_letters=dead, skipped=skipped)

    def _run(self, jobs: list[_Job]) -> None:
        if self._kernels_on_workers:
            list(self._workers.map(self._whole, jobs))
            return
        list(self._workers.map(self._fetch_and_decode, jobs))
        for job in jobs:
            self._kernels(job)
        list(self._workers.map(self._encode_and_upload, jobs))

    def _whole(self, job: _Job) -> None:
        self._fetch_and_decode(job)
        self._kernels(job)
        self._encode_and_upload(job)

    def _fetch_and_decode(self, job: _Job) -> None:
        job.started = time.monotonic()
        try:
            data = read_original(self._s3, self._bucket, job.row.s3_key)
            job.decoded = decode_photo(data, decode_size(self._specs))
        except MissingOriginalError as exc:
            job.failure = PhotoFailedError("missing_original", str(exc))
        except UndecodablePhotoError as exc:
            job.failure = PhotoFailedError("undecodable", str(exc))

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
        job.keys = write_thumbnails(self._s3, self._bucket, job.row.id, job.result.thumbnails)
