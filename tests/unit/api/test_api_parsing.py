"""Pure input handling of the API: image sniffing, cursors, filenames, multipart framing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from photostore.api.cursor import decode_cursor, encode_cursor
from photostore.api.errors import ApiError
from photostore.api.image_type import sniff_image_type
from photostore.api.multipart_stream import (
    FileChunk,
    FileEnd,
    FileStart,
    FormField,
    multipart_boundary,
    read_multipart,
)
from photostore.api.uploads import safe_filename


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf", "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", None),  # AVIF
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # MP4
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"GIF89a\x01\x00", None),
        (b"%PDF-1.7", None),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_image_type_is_read_from_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head) == expected


def test_cursor_round_trips() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    photo_id = uuid.uuid4()
    assert decode_cursor("photos", encode_cursor("photos", at, photo_id)) == (at, photo_id)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage!",
        "e30",  # {}
        encode_cursor("trash", datetime.now(UTC), uuid.uuid4()),
        "eyJrIjoicGhvdG9zIiwidCI6IjIwMjQtMDEtMDFUMDA6MDA6MDAiLCJpIjoiMSJ9",  # naive time, bad id
        "WzEsMl0",  # [1,2]
        "\u00e9\u00e9",
    ],
)
def test_bad_cursors_are_400(cursor: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_cursor("photos", cursor)
    assert raised.value.status == 400
    assert raised.value.code == "bad_cursor"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IMG_0001.JPG", "IMG_0001.JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\photos\\a.png", "a.png"),
        ("a\x00b\x1b[31m.jpg", "ab[31m.jpg"),
        (".hidden.jpg", "hidden.jpg"),
        ("", "upload"),
        ("/", "upload"),
        ("x" * 1000, "x" * 255),
    ],
)
def test_filenames_are_made_safe_to_show(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _form(*parts: bytes) -> bytes:
    return b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts) + b"--XyZ--\r\n"


FILE_PART = (
    b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
    b"Content-Type: image/jpeg\r\n\r\n" + bytes(range(256)) * 40
)
TAGS_PART = b'Content-Disposition: form-data; name="tags"\r\n\r\nsea,sun'


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 1 << 20])
async def test_multipart_events_do_not_depend_on_chunking(chunk_size: int) -> None:
    body = _form(TAGS_PART, FILE_PART)
    events = [e async for e in read_multipart(b"XyZ", _chunks(body, chunk_size))]
    assert events[0] == FormField("tags", "sea,sun")
    assert events[1] == FileStart("file", "a.jpg")
    assert events[-1] == FileEnd()
    data = b"".join(e.data for e in events if isinstance(e, FileChunk))
    assert data == bytes(range(256)) * 40


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_form(TAGS_PART)[:-9], "ended early"),
        (b"garbage without boundary", "malformed"),
        (_form(b"Content-Disposition: attachment\r\n\r\nx"), "form-data name"),
        (_form(*[TAGS_PART] * 40), "more than"),
        (_form(b'Content-Disposition: form-data; name="t"\r\n\r\n' + b"x" * 70_000), "too long"),
        (_form(b'Content-Disposition: form-data; name="t"\r\n\r\n\xff\xfe'), "UTF-8"),
    ],
    ids=["truncated", "garbage", "no-name", "too-many-parts", "long-field", "not-utf8"],
)
async def test_malformed_multipart_is_400(body: bytes, message: str) -> None:
    with pytest.raises(ApiError, match=message) as raised:
        async for _ in read_multipart(b"XyZ", _chunks(body, 1000)):
            pass
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 415),
        ("application/json", 415),
        ("multipart/form-data", 400),
        ("multipart/form-data; boundary=", 400),
    ],
)
def test_content_type_must_be_multipart_with_a_boundary(header: str | None, status: int) -> None:
    with pytest.raises(ApiError) as raised:
        multipart_boundary(header)
    assert raised.value.status == status


def test_boundary_is_extracted() -> None:
    assert multipart_boundary('multipart/form-data; boundary="a b"') == b"a b"
