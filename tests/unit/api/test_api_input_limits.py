"""Limits on what users send: JSON depth and size, image pixels, RFC 5987 filenames."""

from __future__ import annotations

import io
import json
import struct
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from PIL import Image

from photostore.api.errors import ApiError
from photostore.api.image_type import image_size, sniff_image_type
from photostore.api.models import SearchHit
from photostore.api.multipart_stream import FileStart, extended_filename, read_multipart
from photostore.api.row_values import valid_rows
from photostore.api.user_json import json_depth, parse_json_object


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[{{{"}', 1),
        ('{"a": "\\"[[["}', 1),
        ("[[[[", 4),
        ("1", 0),
        (_nested(5000), 5000),
    ],
)
def test_json_depth_is_counted_without_recursion(text: str, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize("depth", [1000, 900, 21])
def test_deep_json_is_422_naming_the_limit(depth: int) -> None:
    with pytest.raises(ApiError, match="deeper than 20 levels") as raised:
        parse_json_object(_nested(depth), what="metadata", max_depth=20, max_bytes=1 << 20)
    assert raised.value.status == 422


def test_json_at_the_limits_is_accepted_and_serialises_again() -> None:
    value = parse_json_object(_nested(20), what="metadata", max_depth=20, max_bytes=1 << 20)
    assert json.loads(json.dumps(value)) == value
    big = json.dumps({"k": "x" * 990})
    assert parse_json_object(big, what="m", max_depth=20, max_bytes=len(big)) == json.loads(big)


def test_large_json_is_422_naming_the_limit() -> None:
    with pytest.raises(ApiError, match="larger than 1000 bytes") as raised:
        parse_json_object(json.dumps({"k": "x" * 1000}), what="m", max_depth=20, max_bytes=1000)
    assert raised.value.status == 422


@pytest.mark.parametrize("raw", ["[1]", "{", '{"a": "\\u0000"}', '{"a": "\\ud800"}', "NaN"])
def test_json_that_is_not_a_storable_object_gets_the_callers_status(raw: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_json_object(raw, what="m", max_depth=20, max_bytes=1000, status=400, code="bad")
    assert (raised.value.status, raised.value.code) == (400, "bad")


def _encoded(fmt: str, size: tuple[int, int], **kw: object) -> bytes:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size).save(out, format=fmt, **kw)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "kw"),
    [
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("JPEG", {"exif": b"Exif\0\0" + bytes(60_000)}),
        ("PNG", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"exif": b"Exif\0\0" + bytes(10)}),  # VP8X
    ],
)
def test_image_size_is_read_from_the_header(fmt: str, kw: dict[str, object]) -> None:
    data = _encoded(fmt, (123, 45), **kw)
    content_type = sniff_image_type(data[:32])
    assert content_type is not None
    assert image_size(content_type, data) == (123, 45)


def test_heic_size_is_at_least_the_image() -> None:
    data = _encoded("HEIF", (123, 45))
    width, height = image_size("image/heic", data) or (0, 0)
    assert width >= 123
    assert height >= 45


@pytest.mark.parametrize(
    ("content_type", "head", "expected"),
    [
        # Headers of images far over 100 MP, with nothing after them.
        (
            "image/png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + struct.pack(">II", 20000, 20000),
            (20000, 20000),
        ),
        (
            "image/jpeg",
            b"\xff\xd8\xff\xc0\x00\x11\x08" + struct.pack(">HH", 30000, 40000),
            (40000, 30000),
        ),
        (
            "image/webp",
            b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0" + (16383).to_bytes(3, "little") * 2,
            (16384, 16384),
        ),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00", None),  # cut short
        ("image/jpeg", b"\xff\xd8\xff\xda\x00\x08", None),  # scan before frame
        ("image/png", b"\x89PNG\r\n\x1a\n", None),
        ("image/gif", b"GIF89a", None),
    ],
)
def test_image_size_from_crafted_headers(
    content_type: str, head: bytes, expected: tuple[int, int] | None
) -> None:
    assert image_size(content_type, head) == expected


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b"form-data; name=file; filename*=UTF-8''caf%C3%A9.jpg", "café.jpg"),
        (b"form-data; name=file; filename=\"a.jpg\"; filename*=utf-8'en'%E2%82%AC.jpg", "€.jpg"),
        (b"form-data; name=file; filename*=iso-8859-1''caf%E9.jpg", "café.jpg"),
        (b"form-data; name=file; filename*=\"UTF-8''a%20b.jpg\"", "a b.jpg"),
        (b"form-data; name=file; filename*=bogus''x", ""),
        (b"form-data; name=file; filename*=UTF-8''%FF", ""),
        (b"form-data; name=\"a;filename*=utf-8''x\"", None),
        (b'form-data; name=file; filename="x"', None),
    ],
)
def test_rfc5987_filenames_are_decoded(disposition: bytes, expected: str | None) -> None:
    assert extended_filename(disposition) == expected


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        (b"form-data; name=\"file\"; filename*=UTF-8''%E5%86%99%E7%9C%9F.jpg", "写真.jpg"),
        (b"form-data; name=\"file\"; filename*=UTF-8''%FF%FE", ""),
    ],
)
async def test_a_part_with_only_filename_star_is_a_file(disposition: bytes, filename: str) -> None:
    body = (
        b"--XyZ\r\nContent-Disposition: " + disposition + b"\r\n\r\n\xff\xd8\xff\xfe\r\n--XyZ--\r\n"
    )
    events = [e async for e in read_multipart(b"XyZ", _once(body))]
    assert events[0] == FileStart("file", filename)


def test_rows_that_do_not_fit_are_left_out_of_a_list() -> None:
    good = {
        "id": uuid.uuid4(),
        "filename": "a.jpg",
        "content_type": "image/jpeg",
        "size": 1,
        "tags": [],
        "created_at": datetime.now(UTC),
        "processing_status": "done",
    }
    bad = {**good, "id": uuid.uuid4(), "created_at": None}
    assert [hit.id for hit in valid_rows(SearchHit, [bad, good])] == [good["id"]]


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _ispe(width: int, height: int) -> bytes:
    return _box(b"ispe", b"\0\0\0\0" + struct.pack(">II", width, height))


def test_heic_size_is_read_from_the_meta_box_only() -> None:
    ftyp = _box(b"ftyp", b"heic\0\0\0\0mif1heic")
    meta = _box(b"meta", b"\0\0\0\0" + _box(b"iprp", _ispe(512, 512) + _ispe(40000, 30000)))
    # The same bytes inside the image data are pixels, not a header.
    mdat = _box(b"mdat", _ispe(90000, 90000))
    assert image_size("image/heic", ftyp + meta + mdat) == (40000, 30000)
    assert image_size("image/heic", ftyp + mdat) is None
