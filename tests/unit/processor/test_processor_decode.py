"""Decoding: JPEG draft reduction, EXIF orientation and fields, HEIC, corrupt input."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import ExifTags, Image
from skimage import data

from photostore.processor.decode import (
    HEIF_SUPPORTED,
    UndecodablePhotoError,
    decode_photo,
    draft_request,
    read_header,
)
from photostore.processor.exif import parse_exif_datetime


def _jpeg(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif if exif is not None else Image.Exif())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def large() -> Image.Image:
    return Image.fromarray(data.coffee()).resize((2400, 1600), Image.Resampling.LANCZOS)


def _camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00"
    exif[0x0110] = "EOS R5"
    exif[0x0112] = orientation
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    detail[0x9003] = "2024:05:06 07:08:09"
    detail[0x9011] = "+02:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (52.0, 22.0, 30.0), 3: "W", 4: (4.0, 30.0, 0.0)})
    return exif


def test_jpeg_is_draft_decoded_but_never_below_the_target(large: Image.Image) -> None:
    decoded = decode_photo(_jpeg(large), 250)
    assert (decoded.width, decoded.height) == (2400, 1600)
    height, width = decoded.pixels.shape[:2]
    assert 250 <= max(width, height) < 2400 // 2
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape[2] == 3


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize(
    ("size", "edge", "decoded"),
    [
        ((4000, 3000), 1440, (1500, 1125)),  # 3/8 covers 1440
        ((4032, 3024), 1440, (1512, 1134)),
        ((3000, 2000), 1440, (1500, 1000)),  # 3/8 would be 1125: 1/2
        ((4000, 3000), 250, (500, 375)),  # 1/8
    ],
)
def test_jpeg_decodes_at_the_smallest_scale_covering_the_edge(
    size: tuple[int, int], edge: int, decoded: tuple[int, int]
) -> None:
    jpeg = _jpeg(Image.new("RGB", size, (90, 120, 30)))
    header = read_header(jpeg, edge)
    assert (header.decoded_width, header.decoded_height) == decoded
    pixels = decode_photo(jpeg, edge).pixels
    assert pixels.shape == (decoded[1], decoded[0], 3)
    assert np.abs(pixels.astype(int) - (90, 120, 30)).max() <= 2


def test_three_eighths_decode_resizes_like_the_full_decode(photo: Image.Image) -> None:
    jpeg = _jpeg(photo.resize((4000, 3000), Image.Resampling.LANCZOS))
    reduced = decode_photo(jpeg, 1440).pixels
    assert reduced.shape == (1125, 1500, 3)
    full = decode_photo(jpeg).pixels
    lanczos = Image.Resampling.LANCZOS
    ours = np.asarray(Image.fromarray(reduced).resize((1440, 1080), lanczos))
    reference = np.asarray(Image.fromarray(full).resize((1440, 1080), lanczos))
    assert _psnr(ours, reference) > 45.0


def test_full_decode_without_target(large: Image.Image) -> None:
    assert decode_photo(_jpeg(large)).pixels.shape == (1600, 2400, 3)


def test_draft_request_rounds_up() -> None:
    assert draft_request(4000, 3000, 250) == (250, 188)
    assert draft_request(100, 80, 250) == (100, 80)


def test_orientation_is_applied_and_size_swapped(large: Image.Image) -> None:
    decoded = decode_photo(_jpeg(large, _camera_exif(orientation=6)), 500)
    assert (decoded.width, decoded.height) == (1600, 2400)
    height, width = decoded.pixels.shape[:2]
    assert height > width
    # Orientation 6 means "rotate 90 clockwise to view": the original's top-left pixel area
    # ends up at the top right.
    upright = np.asarray(large.transpose(Image.Transpose.ROTATE_270).resize((width, height)))
    assert np.abs(decoded.pixels.astype(int) - upright.astype(int)).mean() < 12


def test_exif_fields_are_extracted(large: Image.Image) -> None:
    exif = decode_photo(_jpeg(large, _camera_exif()), 250).exif
    assert exif.camera_make == "Canon"
    assert exif.camera_model == "EOS R5"
    assert exif.taken_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    assert exif.latitude == pytest.approx(52.375)
    assert exif.longitude == pytest.approx(-4.5)
    assert exif.tags["Make"] == "Canon"
    assert exif.tags["GPSInfo"]["GPSLatitudeRef"] == "N"


def test_photo_without_exif_has_empty_fields(large: Image.Image) -> None:
    exif = decode_photo(_jpeg(large), 250).exif
    assert exif.taken_at is None
    assert exif.camera_make is None
    assert exif.latitude is None
    assert exif.tags == {}


def test_exif_time_without_offset_is_read_as_utc() -> None:
    assert parse_exif_datetime("2020:01:02 03:04:05") == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_exif_datetime("0000:00:00 00:00:00") is None
    assert parse_exif_datetime(None) is None


def test_png_with_alpha_decodes_to_rgb() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (40, 30), (10, 20, 30, 128)).save(buffer, "PNG")
    decoded = decode_photo(buffer.getvalue(), 250)
    assert decoded.pixels.shape == (30, 40, 3)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_is_decoded(large: Image.Image) -> None:
    buffer = io.BytesIO()
    large.resize((600, 400)).save(buffer, "HEIF", quality=90)
    decoded = decode_photo(buffer.getvalue(), 250)
    assert decoded.format == "HEIF"
    assert (decoded.width, decoded.height) == (600, 400)


@pytest.mark.parametrize(
    "payload",
    [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 100],
    ids=["empty", "text", "truncated-jpeg"],
)
def test_corrupt_bytes_raise_undecodable(payload: bytes) -> None:
    with pytest.raises(UndecodablePhotoError):
        decode_photo(payload, 250)


def test_truncated_real_jpeg_is_undecodable(large: Image.Image) -> None:
    raw = _jpeg(large)
    with pytest.raises(UndecodablePhotoError):
        decode_photo(raw[: len(raw) // 3], 250)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_orientation_is_applied_once() -> None:
    """libheif rotates while decoding and pillow-heif resets the EXIF tag: no double turn."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 10, 10)).save(buffer, "HEIF", exif=exif.tobytes())
    decoded = decode_photo(buffer.getvalue(), 250)
    assert (decoded.width, decoded.height) == (400, 600)
    assert decoded.pixels.shape == (600, 400, 3)


def _dated_exif(date: str, offset: str | None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    detail[0x9003] = date
    if offset is not None:
        detail[0x9011] = offset
    return exif


@pytest.mark.parametrize("offset", ["+25:00", "-24:00", "+02:99", "+2:00", "Z"])
def test_a_bad_time_offset_is_dropped_not_the_photo(offset: str) -> None:
    photo = _jpeg(
        Image.new("RGB", (64, 48), (90, 120, 30)), _dated_exif("2024:05:06 07:08:09", offset)
    )
    decoded = decode_photo(photo, 250)
    exif = decoded.exif
    assert exif.taken_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert exif.camera_make == "Canon"
    assert len(exif.warnings) == 1 and exif.warnings[0].startswith("OffsetTimeOriginal dropped")
    assert exif.as_json()["exif_warnings"] == list(exif.warnings)


@pytest.mark.parametrize(
    ("date", "offset", "expected"),
    [
        # Late on 31 Dec 9999 west of Greenwich is year 10000 in UTC: the offset goes.
        ("9999:12:31 23:00:00", "-05:00", datetime(9999, 12, 31, 23, tzinfo=UTC)),
        # Early on 1 Jan of year 1 east of Greenwich is year 0 in UTC.
        ("0001:01:01 01:00:00", "+05:00", datetime(1, 1, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_date_beyond_year_9999_in_utc_is_clamped_to_its_local_time(
    date: str, offset: str, expected: datetime
) -> None:
    exif = decode_photo(_jpeg(Image.new("RGB", (64, 48)), _dated_exif(date, offset)), 250).exif
    assert exif.taken_at == expected
    assert exif.taken_at is not None and 1 <= exif.taken_at.astimezone(UTC).year <= 9999
    assert "outside years 1..9999" in exif.warnings[0]


def test_exif_times_are_stored_in_utc() -> None:
    moment = parse_exif_datetime("9999:12:31 23:00:00", "+05:00")
    assert moment == datetime(9999, 12, 31, 18, tzinfo=UTC)
    assert moment is not None and moment.utcoffset() == timedelta(0)


def test_good_exif_has_no_warnings(large: Image.Image) -> None:
    exif = decode_photo(_jpeg(large, _camera_exif()), 250).exif
    assert exif.warnings == ()
    assert "exif_warnings" not in exif.as_json()
