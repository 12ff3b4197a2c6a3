"""Rows to response bodies."""

from __future__ import annotations

from psycopg.rows import DictRow

from photostore.api.models import Location, Photo


def photo_from_row(row: DictRow) -> Photo:
    fields = {name: row[name] for name in Photo.model_fields if name in row}
    fields["thumbnails"] = sorted((row.get("thumbnails") or {}).keys())
    if row.get("lat") is not None and row.get("lon") is not None:
        fields["location"] = Location(lat=row["lat"], lon=row["lon"])
    return Photo.model_validate(fields)
