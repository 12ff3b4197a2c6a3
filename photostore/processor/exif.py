"""EXIF metadata of a photo: capture time, camera, GPS position and a JSON-safe tag dump."""

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


@dataclass(frozen=True)
class PhotoExif:
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    orientation: int = 1
    tags: dict[str, JsonValue] = field(default_factory=dict)


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


def parse_exif_datetime(value: Any, offset: Any = None) -> datetime | None:
    """'YYYY:MM:DD HH:MM:SS' (+ optional '+HH:MM' offset); without an offset, read as UTC."""
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = UTC
    offset_text = _text(offset)
    if offset_text and len(offset_text) == 6 and offset_text[0] in "+-":
        try:
            hours, minutes = int(offset_text[1:3]), int(offset_text[4:6])
        except ValueError:
            pass
        else:
            sign = 1 if offset_text[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return moment.replace(tzinfo=zone)


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


def read_exif(image: Image.Image) -> PhotoExif:
    """The EXIF fields the photos table stores; missing or malformed tags become None."""
    exif = image.getexif()
    if not exif:
        return PhotoExif()
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    latitude = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF))
    longitude = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF))
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        latitude = longitude = None
    taken_at = parse_exif_datetime(
        detail.get(_DATETIME_ORIGINAL), detail.get(_OFFSET_TIME_ORIGINAL)
    ) or parse_exif_datetime(exif.get(_DATETIME))
    orientation = exif.get(ORIENTATION, 1)
    tags = _named(dict(exif), ExifTags.TAGS)
    tags.update(_named(detail, ExifTags.TAGS))
    # The base IFD holds only the offsets of these two; their contents are what matter.
    tags.pop("ExifOffset", None)
    tags.pop("GPSInfo", None)
    if gps:
        tags["GPSInfo"] = _named(gps, ExifTags.GPSTAGS)
    return PhotoExif(
        taken_at=taken_at,
        camera_make=_text(exif.get(_MAKE)),
        camera_model=_text(exif.get(_MODEL)),
        latitude=latitude,
        longitude=longitude,
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
        tags=tags,
    )
