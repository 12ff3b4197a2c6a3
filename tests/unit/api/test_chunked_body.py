"""The upload body handed to boto3: the received chunks, read as views, never joined."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pytest

from photostore.chunked_body import ChunkedBody
from photostore.object_writer import ObjectWriter

CHUNKS = [b"abc", b"", b"defgh", b"ij"]
WHOLE = b"abcdefghij"


def read_all(body: ChunkedBody, block: int) -> list[Any]:
    return list(iter(lambda: body.read(block), b""))


def test_reads_in_blocks_give_every_byte_in_order_as_views() -> None:
    body = ChunkedBody(CHUNKS)
    assert len(body) == len(WHOLE)
    pieces = read_all(body, 4)
    assert b"".join(pieces) == WHOLE
    assert all(isinstance(piece, memoryview) for piece in pieces)
    assert max(len(piece) for piece in pieces) <= 4
    assert body.tell() == len(WHOLE)


def test_seek_rewinds_for_a_retry_and_lands_inside_a_chunk() -> None:
    body = ChunkedBody(CHUNKS)
    read_all(body, 3)
    assert body.seek(0) == 0
    assert b"".join(read_all(body, 100)) == WHOLE
    assert body.seek(4) == 4
    assert bytes(body.read(2)) == b"ef"
    assert body.tell() == 6
    assert body.seek(-3, 2) == 7
    assert bytes(body.read()) == b"hij"
    assert body.read(1) == b""
    assert body.seek(2, 1) == len(WHOLE)  # never past the end


def test_read_without_a_size_returns_the_rest_joined() -> None:
    body = ChunkedBody(CHUNKS)
    body.read(1)
    assert body.read() == b"bcdefghij"
    assert body.read() == b""


def test_sha256_and_value_cover_the_whole_body() -> None:
    body = ChunkedBody(CHUNKS)
    body.read(5)
    assert body.sha256() == hashlib.sha256(WHOLE).digest()
    assert body.getvalue() == WHOLE


def test_an_empty_body_reads_nothing() -> None:
    body = ChunkedBody([])
    assert len(body) == 0
    assert body.read(10) == b""
    assert body.read() == b""


async def test_the_writer_sends_the_written_chunks_uncopied() -> None:
    sent: list[memoryview] = []

    class RecordingS3:
        def put_object(self, **kwargs: Any) -> dict[str, Any]:
            sent.extend(read_all(kwargs["Body"], 1 << 20))
            return {}

    chunks = [b"x" * 60, b"y" * 70]
    writer = ObjectWriter(RecordingS3(), "b", "k", "image/png", part_size=100, single_put_size=200)  # type: ignore[arg-type]
    for chunk in chunks:
        await writer.write(chunk)
    await writer.close()
    assert [bytes(piece) for piece in sent] == chunks
    assert all(piece.obj is chunk for piece, chunk in zip(sent, chunks, strict=True))


async def test_a_part_boundary_splits_a_chunk_into_views_of_it() -> None:
    parts: list[list[memoryview]] = []

    class RecordingS3:
        def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
            return {"UploadId": "u"}

        def upload_part(self, **kwargs: Any) -> dict[str, Any]:
            body = kwargs["Body"]
            assert kwargs["ChecksumSHA256"]
            parts.append(read_all(body, 1 << 20))
            return {"ETag": '"e"'}

        def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
            return {}

    chunk = bytes(range(250))
    writer = ObjectWriter(RecordingS3(), "b", "k", "x", part_size=100, single_put_size=100)  # type: ignore[arg-type]
    await writer.write(chunk)
    await writer.close()
    assert [b"".join(part) for part in parts] == [chunk[:100], chunk[100:200], chunk[200:]]
    assert all(piece.obj is chunk for part in parts for piece in part)


class _ThreadRecordingHash:
    """hashlib's SHA-256, noting the thread of each update."""

    def __init__(self) -> None:
        self.inner = hashlib.sha256()
        self.threads: list[int] = []

    def update(self, data: Any) -> None:
        self.threads.append(threading.get_ident())
        self.inner.update(data)

    def digest(self) -> bytes:
        return self.inner.digest()

    def hexdigest(self) -> str:
        return self.inner.hexdigest()


@pytest.mark.parametrize("single_put_size", [1000, 100])
async def test_the_writer_hashes_off_the_event_loop(single_put_size: int) -> None:
    class S3:
        def put_object(self, **kwargs: Any) -> dict[str, Any]:
            read_all(kwargs["Body"], 1 << 20)
            return {}

        def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
            return {"UploadId": "u"}

        def upload_part(self, **kwargs: Any) -> dict[str, Any]:
            return {"ETag": '"e"'}

        def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
            return {}

    chunks = [os.urandom(70) for _ in range(5)]
    writer = ObjectWriter(S3(), "b", "k", "x", part_size=100, single_put_size=single_put_size)  # type: ignore[arg-type]
    recording = _ThreadRecordingHash()
    writer._sha256 = recording  # type: ignore[assignment]
    for chunk in chunks:
        await writer.write(chunk)
    await writer.close()
    assert writer.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert len(recording.threads) == len(chunks)
    assert threading.get_ident() not in recording.threads
