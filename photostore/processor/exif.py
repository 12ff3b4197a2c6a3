"""EXIF metadata of a photo: capture time, camera, GPS position and a JSON-safe tag dump.

EXIF is whatever the uploader's bytes say. A malformed field is dropped and noted in
`PhotoExif.warnings` (stored as `exif_warnings` in the photo's `exif` column); it never fails
the photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image, TiffImagePlugin

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

ORIENTATION = 0x0112
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
# Longer byte strings (maker notes, thumbnails) are not worth a jsonb column.
_MAX_BYTES_KEPT = 64
WARNINGS_KEY = "exif_warnings"
# EXIF offsets are +HH:MM; Python's timezone (and the real world) stay within a day.
_MAX_OFFSET = timedelta(hours=24)


@dataclass(frozen=True)
class PhotoExif:
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    orientation: int = 1
    tags: dict[str, JsonValue] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, JsonValue]:
        """The `exif` column: the tag dump, plus `exif_warnings` when a field was dropped."""
        if not self.warnings:
            return self.tags
        return {**self.tags, WARNINGS_KEY: list(self.warnings)}


class ExifFieldError(ValueError):
    """One EXIF field cannot be used; it is dropped and the photo goes on."""


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # PostgreSQL text and jsonb reject NUL characters; EXIF strings are NUL padded.
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


def _json(value: Any) -> JsonValue:
    """A JSON-safe form of an EXIF value (rationals as floats, NaN and long blobs dropped)."""
    if isinstance(value, TiffImagePlugin.IFDRational | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes):
        return _text(value) if len(value) <= _MAX_BYTES_KEPT and value.isascii() else None
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return None


def _named(ifd: dict[int, Any], names: dict[int, str]) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for tag, value in ifd.items():
        converted = _json(value)
        if converted is not None:
            out[names.get(tag, f"0x{tag:04x}")] = converted
    return out


def parse_exif_offset(offset: Any) -> timezone | None:
    """'+HH:MM' / '-HH:MM' as a timezone; None when absent; ExifFieldError when malformed."""
    text = _text(offset)
    if text is None:
        return None
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        raise ExifFieldError(f"time offset {text!r} is not +HH:MM")
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        raise ExifFieldError(f"time offset {text!r} is not +HH:MM") from None
    delta = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or delta >= _MAX_OFFSET:
        raise ExifFieldError(f"time offset {text!r} is outside ±24 h")
    return timezone(delta if text[0] == "+" else -delta)


def parse_exif_datetime(value: Any, offset: Any = None) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' (+ optional '+HH:MM' offset) in UTC; without an offset, read as UTC.

    None when there is no date (cameras write '0000:00:00 00:00:00' for "unset").
    ExifFieldError when the offset is malformed, or when the moment in UTC falls outside years
    1..9999, which neither Python's datetime nor the API's JSON can represent.
    """
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = parse_exif_offset(offset) or UTC
    try:
        return moment.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise ExifFieldError(
            f"{text!r} at offset {_text(offset)!r} is outside years 1..9999 in UTC"
        ) from None


def _taken_at(exif: Image.Exif, detail: dict[int, Any], warnings: list[str]) -> datetime | None:
    """DateTimeOriginal with its offset (a bad offset is dropped), else DateTime."""
    original = detail.get(_DATETIME_ORIGINAL)
    try:
        taken_at = parse_exif_datetime(original, detail.get(_OFFSET_TIME_ORIGINAL))
    except ExifFieldError as exc:
        warnings.append(f"OffsetTimeOriginal dropped: {exc}")
        taken_at = parse_exif_datetime(original)
    return taken_at or parse_exif_datetime(exif.get(_DATETIME))


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60.0 + s / 3600.0
    if not math.isfinite(degrees):
        return None
    if _text(ref) in {"S", "W"}:
        degrees = -degrees
    return degrees


def _tag_dump(
    exif: Image.Exif, detail: dict[int, Any], gps: dict[int, Any], warnings: list[str]
) -> dict[str, JsonValue]:
    try:
        tags = _named(dict(exif), ExifTags.TAGS)
        tags.update(_named(detail, ExifTags.TAGS))
        # The base IFD holds only the offsets of these two; their contents are what matter.
        for key in ("ExifOffset", "GPSInfo", WARNINGS_KEY):
            tags.pop(key, None)
        if gps:
            tags["GPSInfo"] = _named(gps, ExifTags.GPSTAGS)
    except Exception as exc:  # a value no conversion foresaw: keep the photo, lose the dump
        warnings.append(f"EXIF tags dropped: {type(exc).__name__}: {exc}")
        return {}
    return tags


def read_exif(image: Image.Image) -> PhotoExif:
    """The EXIF fields the photos table stores; missing or malformed tags become None.

    Never raises: a field that cannot be read is dropped and named in `warnings`.
    """
    warnings: list[str] = []
    try:
        exif = image.getexif()
        if not exif:
            return PhotoExif()
        detail = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception as exc:  # Pillow raises many kinds on a corrupt EXIF block
        return PhotoExif(warnings=(f"EXIF unreadable: {type(exc).__name__}: {exc}",))
    latitude = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF))
    longitude = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF))
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        latitude = longitude = None
    taken_at = _taken_at(exif, detail, warnings)
    orientation = exif.get(ORIENTATION, 1)
    return PhotoExif(
        taken_at=taken_at,
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        latitude=latitude,
        longitude=longitude,
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
        tags=_tag_dump(exif, detail, gps, warnings),
        warnings=tuple(warnings),
    )
