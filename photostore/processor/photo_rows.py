"""Reads and writes of the processor's columns of the `photos` table.

Writes are UPDATEs of the row the API created, keyed by the photo id, so processing a photo
again rewrites the same row: there is nothing to duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from photostore.processor.pipeline import ProcessedPhoto

# A jsonb column only needs the error's gist; the full text is in the logs.
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class PhotoRow:
    id: UUID
    user_id: UUID
    s3_key: str
    size: int
    processing_status: str
    processing_attempts: int
    deleted_at: datetime | None

    @property
    def interrupted(self) -> bool:
        """Processing started before and never finished: the processor may have died on it."""
        return self.processing_status == "processing" and self.processing_attempts > 0


def fetch_photos(conn: psycopg.Connection[Any], ids: list[UUID]) -> dict[UUID, PhotoRow]:
    rows = conn.execute(
        """SELECT id, user_id, s3_key, size, processing_status, processing_attempts, deleted_at
           FROM photos WHERE id = ANY(%s)""",
        (ids,),
    ).fetchall()
    return {row[0]: PhotoRow(*row) for row in rows}


def mark_processing(
    conn: psycopg.Connection[Any], ids: list[UUID], count: list[UUID]
) -> dict[UUID, int]:
    """Mark photos as being processed, count an attempt for those in `count`; id -> attempts.

    Called before decoding, so an attempt that kills the process is on record.
    """
    rows = conn.execute(
        """UPDATE photos SET processing_status = 'processing', updated_at = now(),
               processing_attempts = processing_attempts
                   + CASE WHEN id = ANY(%(count)s) THEN 1 ELSE 0 END
           WHERE id = ANY(%(ids)s) AND processing_status <> 'done'
           RETURNING id, processing_attempts""",
        {"ids": ids, "count": count},
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def save_processed(
    conn: psycopg.Connection[Any],
    photo_id: UUID,
    processed: ProcessedPhoto,
    thumbnail_keys: dict[str, str],
) -> bool:
    """Store what processing found; False when the row is gone (purged meanwhile)."""
    features = processed.features
    exif = features.exif
    has_location = exif.latitude is not None and exif.longitude is not None
    cur = conn.execute(
        """UPDATE photos SET
               processing_status = 'done', processing_error = NULL,
               processed_at = now(), updated_at = now(),
               width = %(width)s, height = %(height)s, taken_at = %(taken_at)s,
               camera_make = %(make)s, camera_model = %(model)s,
               location = CASE WHEN %(has_location)s
                   THEN ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography END,
               exif = %(exif)s, ahash = %(ahash)s, dhash = %(dhash)s, phash = %(phash)s,
               blur_score = %(blur)s, dominant_colors = %(colors)s,
               color_histogram = %(histogram)s, thumbnails = %(thumbnails)s
           WHERE id = %(id)s""",
        {
            "id": photo_id,
            "width": features.width,
            "height": features.height,
            "taken_at": exif.taken_at,
            "make": exif.camera_make,
            "model": exif.camera_model,
            "has_location": has_location,
            "lon": exif.longitude,
            "lat": exif.latitude,
            "exif": Jsonb(exif.as_json()),
            "ahash": features.hashes.ahash,
            "dhash": features.hashes.dhash,
            "phash": features.hashes.phash,
            "blur": features.blur_score,
            "colors": Jsonb([c.as_json() for c in features.dominant_colors]),
            "histogram": Jsonb(features.color_histogram),
            "thumbnails": Jsonb(thumbnail_keys),
        },
    )
    return cur.rowcount == 1


def save_failure(conn: psycopg.Connection[Any], photo_id: UUID, error: str) -> None:
    conn.execute(
        """UPDATE photos SET processing_status = 'failed', processing_error = %s,
               processed_at = now(), updated_at = now()
           WHERE id = %s""",
        (error[:MAX_ERROR_CHARS].replace("\x00", ""), photo_id),
    )
