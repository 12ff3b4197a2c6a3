"""Write one S3 object from a stream of chunks, holding at most two parts in memory.

Small objects (under one part) go up in a single PUT; larger ones as a multipart upload
whose next part is received while the previous one is being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from photostore.storage import abort_multipart_uploads

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


class ObjectWriter:
    def __init__(
        self, s3: S3Client, bucket: str, key: str, content_type: str, part_size: int
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: asyncio.Task[None] | None = None
        self._stored = False

    async def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= self._part_size:
            await self._send_part()

    async def close(self) -> None:
        """Finish the object: one PUT, or the last part and the multipart completion."""
        if self._upload_id is None:
            body = bytes(self._buffer)
            self._buffer.clear()
            await asyncio.to_thread(
                self._s3.put_object,
                Bucket=self._bucket,
                Key=self._key,
                Body=body,
                ContentType=self._content_type,
            )
        else:
            if self._buffer:
                await self._send_part()
            await self._wait_in_flight()
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
        if self._in_flight is not None:
            with contextlib.suppress(Exception):
                await self._in_flight
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
        except Exception as exc:
            log.warning("could not discard s3 object %s: %s", self._key, type(exc).__name__)

    async def _send_part(self) -> None:
        if self._upload_id is None:
            created = await asyncio.to_thread(
                self._s3.create_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                ContentType=self._content_type,
            )
            self._upload_id = created["UploadId"]
        body = bytes(self._buffer)
        self._buffer.clear()
        await self._wait_in_flight()
        number = len(self._parts) + 1
        self._parts.append({"PartNumber": number})
        self._in_flight = asyncio.create_task(self._upload_part(number, body))

    async def _upload_part(self, number: int, body: bytes) -> None:
        assert self._upload_id is not None
        result = await asyncio.to_thread(
            self._s3.upload_part,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        part = self._parts[number - 1]
        part["ETag"] = result["ETag"]
        # Newer boto3 checksums every part; the completion must then list them too.
        for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256"):
            if name in result:
                part[name] = result[name]

    async def _wait_in_flight(self) -> None:
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            await task


def discard_key(s3: S3Client, bucket: str, key: str) -> None:
    """Delete an object and any unfinished multipart upload of it (idempotent)."""
    abort_multipart_uploads(s3, bucket, key)
    s3.delete_object(Bucket=bucket, Key=key)
