"""A photo purged through the API while the processor works on it leaves nothing behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
import psycopg
from processor_harness import PhotoFactory, jpeg_photo, thumbnail_keys

from photostore.processor.batch import BatchProcessor
from photostore.processor.metrics import create_processor_metrics
from photostore.processor.pipeline import ThumbnailSpec

SPECS = [ThumbnailSpec("grid", "webp", 250), ThumbnailSpec("preview", "jpg", 1440)]


class Event:
    """The part of a Kafka message the batch reads."""

    def __init__(self, value: bytes) -> None:
        self._value = value

    def value(self) -> bytes:
        return self._value


class PurgedMidway(BatchProcessor):
    """Deletes the rows, as the API's purge does, after the thumbnails are written."""

    def __init__(self, database_url: str, purge: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.database_url = database_url
        self.purge = purge

    def _run(self, jobs: list[Any]) -> None:
        super()._run(jobs)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM photos WHERE id = ANY(%s)", (self.purge,))


def test_photo_purged_while_processing_leaves_no_thumbnails(
    database_url: str, s3: Any, bucket: str, photos: PhotoFactory
) -> None:
    purged, kept = photos.create(jpeg_photo(1)), photos.create(jpeg_photo(2))
    workers = ThreadPoolExecutor(2)
    batch = PurgedMidway(
        database_url,
        [purged.id],
        specs=SPECS,
        xp=numpy,
        s3=s3,
        bucket=bucket,
        connect=lambda: psycopg.connect(database_url),
        workers=workers,
        metrics=create_processor_metrics(),
    )
    try:
        events = [Event(p.event.to_json()) for p in (purged, kept)]
        outcome = batch.process(events)  # type: ignore[arg-type]
    finally:
        batch.close()
        workers.shutdown()
    assert outcome.processed == [kept.id] and outcome.skipped == [purged.id]
    keys = thumbnail_keys(s3, bucket)
    assert not [k for k in keys if k.startswith(f"thumbnails/{purged.id}/")]
    assert sorted(k for k in keys if k.startswith(f"thumbnails/{kept.id}/")) == [
        f"thumbnails/{kept.id}/grid.webp",
        f"thumbnails/{kept.id}/preview.jpg",
    ]
