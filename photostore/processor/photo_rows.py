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
    processing_status: str
    deleted_at: datetime | None


def fetch_photos(conn: psycopg.Connection[Any], ids: list[UUID]) -> dict[UUID, PhotoRow]:
    rows = conn.execute(
        "SELECT id, user_id, s3_key, processing_status, deleted_at FROM photos WHERE id = ANY(%s)",
        (ids,),
    ).fetchall()
    return {row[0]: PhotoRow(*row) for row in rows}


def mark_processing(conn: psycopg.Connection[Any], ids: list[UUID]) -> None:
    conn.execute(
        """UPDATE photos SET processing_status = 'processing', updated_at = now()
           WHERE id = ANY(%s) AND processing_status <> 'done'""",
        (ids,),
    )


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
