"""Write one S3 object from a stream of chunks, holding a bounded amount in memory.

Shared by the API's uploads and the database backups. Objects up to `single_put_size`
(most photos) go up in one PUT that carries their SHA-256,
so S3 itself refuses bytes that changed on the way and keeps the checksum with the object.
Larger ones go up as a multipart upload whose parts are sent (up to `max_in_flight` at once)
while the next ones are received. Memory per object is at most about
max(single_put_size, (max_in_flight + 1) parts).

The chunks are kept as they came (views, when a part boundary splits one) and go to boto3
as a `ChunkedBody`: no byte is copied between the caller and the socket. They are hashed in
a worker thread (hashlib lets go of the GIL), just before a part or the PUT goes out, so
the event loop that calls `write` goes on receiving meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections import deque
from typing import IO, TYPE_CHECKING, Any, cast

from photostore.chunked_body import ChunkedBody

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


class ObjectWriter:
    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        key: str,
        content_type: str,
        part_size: int,
        single_put_size: int | None = None,
        max_in_flight: int = 2,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size = part_size
        self._single_put_size = max(part_size, single_put_size or part_size)
        self._max_in_flight = max_in_flight
        # Chunks as received, never joined: each PUT or part reads views of them.
        self._chunks: deque[bytes | memoryview] = deque()
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stored = False
        self._sha256 = hashlib.sha256()
        # Written chunks not yet in `_sha256` (hashed off the event loop, in order).
        self._unhashed: list[bytes | memoryview] = []
        # True while S3 holds nothing of this object (never written, or discarded).
        self.clean = True

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of every byte written so far."""
        self._hash_now()
        return self._sha256.hexdigest()

    @property
    def stored_checksum(self) -> str:
        """The ChecksumSHA256 S3 keeps for the finished object: the SHA-256 of the whole for
        one PUT; for a multipart upload, the SHA-256 of the parts' digests and "-<parts>"."""
        if self._upload_id is None:
            self._hash_now()
            return _b64(self._sha256.digest())
        digests = b"".join(base64.b64decode(p["ChecksumSHA256"]) for p in self._parts)
        return f"{_b64(hashlib.sha256(digests).digest())}-{len(self._parts)}"

    async def write(self, data: bytes | memoryview) -> None:
        """Buffer `data` (kept, not copied: the caller must not change it afterwards)."""
        self.clean = False
        self._unhashed.append(data)
        self._chunks.append(data)
        self._buffered += len(data)
        if self._upload_id is None and self._buffered <= self._single_put_size:
            return
        while self._buffered >= self._part_size:
            await self._send_part(self._take(self._part_size))

    async def close(self) -> None:
        """Finish the object: one PUT, or the last part and the multipart completion."""
        self.clean = False
        if self._upload_id is None:
            body, unhashed, self._unhashed = self._take(self._buffered), self._unhashed, []

            def put() -> None:
                _update(self._sha256, unhashed)
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=_as_file(body),
                    ContentType=self._content_type,
                    ChecksumSHA256=_b64(self._sha256.digest()),
                )

            await asyncio.to_thread(put)
        else:
            await self._hash_written()
            if self._buffered:
                await self._send_part(self._take(self._buffered))
            await self._wait_in_flight(0)
            await asyncio.to_thread(
                self._s3.complete_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
            )
        self._stored = True

    async def discard(self) -> None:
        """Best effort: leave nothing in S3 (the cleanup ledger covers what this misses)."""
        with contextlib.suppress(Exception):
            await self._wait_in_flight(0)
        try:
            if self._upload_id is not None and not self._stored:
                await asyncio.to_thread(
                    self._s3.abort_multipart_upload,
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                )
            else:
                await asyncio.to_thread(self._s3.delete_object, Bucket=self._bucket, Key=self._key)
            self.clean = True
        except Exception as exc:
            log.warning("could not discard s3 object %s: %s", self._key, type(exc).__name__)

    def _take(self, size: int) -> ChunkedBody:
        """The first `size` buffered bytes, removed from the buffer, as one body."""
        taken: list[bytes | memoryview] = []
        missing = size
        while missing:
            chunk = self._chunks.popleft()
            if len(chunk) > missing:
                view = memoryview(chunk)
                self._chunks.appendleft(view[missing:])
                chunk = view[:missing]
            taken.append(chunk)
            missing -= len(chunk)
        self._buffered -= size
        return ChunkedBody(taken)

    async def _send_part(self, body: ChunkedBody) -> None:
        if self._upload_id is None:
            created = await asyncio.to_thread(
                self._s3.create_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                ContentType=self._content_type,
                ChecksumAlgorithm="SHA256",
            )
            self._upload_id = created["UploadId"]
        await self._hash_written()
        await self._wait_in_flight(self._max_in_flight - 1)
        number = len(self._parts) + 1
        self._parts.append({"PartNumber": number})
        self._in_flight.add(asyncio.create_task(self._upload_part(number, body)))

    async def _upload_part(self, number: int, body: ChunkedBody) -> None:
        assert self._upload_id is not None
        upload_id = self._upload_id

        def upload() -> dict[str, Any]:
            # Hashed here, in the worker thread, so the event loop goes on receiving.
            checksum = _b64(body.sha256())
            result = self._s3.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                PartNumber=number,
                Body=_as_file(body),
                ChecksumSHA256=checksum,
            )
            # S3 checks each part against its checksum, and the completion against the list.
            return {"ETag": result["ETag"], "ChecksumSHA256": checksum}

        self._parts[number - 1].update(await asyncio.to_thread(upload))

    async def _hash_written(self) -> None:
        """Add the chunks written since the last call to the object's hash, in a thread."""
        unhashed, self._unhashed = self._unhashed, []
        if unhashed:
            await asyncio.to_thread(_update, self._sha256, unhashed)

    def _hash_now(self) -> None:
        """The same, here (for a caller that asks for the hash mid-write)."""
        _update(self._sha256, self._unhashed)
        self._unhashed = []

    async def _wait_in_flight(self, at_most: int) -> None:
        """Wait until at most `at_most` parts are in flight; raise the first failure."""
        while len(self._in_flight) > at_most:
            done, _ = await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            self._in_flight -= done
            for task in done:
                task.result()


def _update(digest: Any, chunks: list[bytes | memoryview]) -> None:
    for chunk in chunks:
        digest.update(chunk)


def _as_file(body: ChunkedBody) -> IO[bytes]:
    """boto3 takes any object with read/seek/tell as a file body; its stubs want an IO."""
    return cast("IO[bytes]", body)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
