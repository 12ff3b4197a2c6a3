"""Receive one photo: stream the multipart body to S3, then commit the row and its event.

Ordering guarantees that nothing is orphaned:
1. Before any byte goes to S3, the object's key is recorded in `object_cleanup` with a
   deadline. If PostgreSQL is down, the upload is refused before anything is written.
2. The body streams to S3 (hashed and size-checked on the way). Any failure here discards
   the object at once.
3. One statement inserts the photo and its outbox event and deletes the ledger entry.
   If that statement fails, the object is not deleted here (the commit may have landed);
   the sweeper deletes it after the deadline unless the photo row exists.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from psycopg.rows import DictRow
from pydantic import TypeAdapter, ValidationError

from photostore.api import photos_db
from photostore.api.config import Settings
from photostore.api.errors import ApiError
from photostore.api.image_type import SIZE_SCAN_BYTES, SNIFF_BYTES, image_size, sniff_image_type
from photostore.api.models import MAX_TAGS, Tag, normalize_tags
from photostore.api.multipart_stream import (
    FileChunk,
    FileEnd,
    FileStart,
    FormField,
    multipart_boundary,
    read_multipart,
)
from photostore.api.services import Services
from photostore.api.user_json import parse_json_object
from photostore.events import PhotoUploaded
from photostore.object_writer import ObjectWriter
from photostore.storage import original_key

log = logging.getLogger(__name__)

# Multipart framing and the small form fields, on top of the file itself.
FORM_OVERHEAD_BYTES = 256 * 1024
_TAGS = TypeAdapter(list[Tag])


@dataclass
class UploadResult:
    photo: DictRow
    created: bool


@dataclass
class _Form:
    filename: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    writer: ObjectWriter | None = None


def safe_filename(raw: str) -> str:
    """The name to show for an upload: last path segment, printable, at most 255 chars."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = name.strip().lstrip(".")[:255]
    return name or "upload"


def _parse_field(settings: Settings, form: _Form, item: FormField) -> None:
    if item.name == "tags":
        raw = [t for t in item.value.split(",") if t.strip()]
        try:
            form.tags = normalize_tags(form.tags + _TAGS.validate_python(raw))
        except ValidationError as exc:
            raise ApiError(422, "validation_error", "tags: 1-64 printable characters each") from exc
        if len(form.tags) > MAX_TAGS:
            raise ApiError(422, "validation_error", f"at most {MAX_TAGS} tags")
    elif item.name == "metadata":
        form.metadata = parse_json_object(
            item.value,
            what="metadata",
            max_depth=settings.metadata_max_depth,
            max_bytes=settings.metadata_max_bytes,
        )


async def _stream_file(
    services: Services, request: Request, form: _Form, key: str
) -> tuple[ObjectWriter, str, str, int]:
    """Read the body, writing the file to S3; return (writer, content type, sha256, size)."""
    settings = services.settings
    boundary = multipart_boundary(request.headers.get("content-type"))
    size = 0
    head = bytearray()
    content_type = ""
    next_look = SNIFF_BYTES
    in_file = done_file = False
    try:
        async for event in read_multipart(boundary, request.stream()):
            if isinstance(event, FormField):
                _parse_field(settings, form, event)
            elif isinstance(event, FileStart):
                if event.name != "file" or done_file or in_file:
                    raise ApiError(400, "bad_multipart", "send exactly one file, in field 'file'")
                in_file = True
                form.filename = safe_filename(event.filename)
            elif isinstance(event, FileChunk):
                size += len(event.data)
                if size > settings.max_upload_bytes:
                    raise ApiError(
                        413, "too_large", f"the file exceeds {settings.max_upload_bytes} bytes"
                    )
                if form.writer is not None:
                    await form.writer.write(event.data)
                    continue
                head += event.data
                if len(head) < next_look:
                    continue
                # Looked at again each time the head doubles: a body sent in tiny chunks
                # costs no more than one sent whole.
                next_look = 2 * len(head)
                content_type = content_type or _sniff(head)
                dimensions = image_size(content_type, bytes(head))
                if dimensions is None and len(head) < SIZE_SCAN_BYTES:
                    continue
                _check_pixels(settings, dimensions)
                form.writer = _writer(services, key, content_type)
                await form.writer.write(bytes(head))
            elif isinstance(event, FileEnd):
                in_file, done_file = False, True
        if not done_file:
            raise ApiError(400, "missing_file", "no file in field 'file'")
        if size == 0:
            raise ApiError(400, "empty_file", "the file is empty")
        if form.writer is None:
            content_type = _sniff(head)
            _check_pixels(settings, image_size(content_type, bytes(head)))
            form.writer = _writer(services, key, content_type)
            await form.writer.write(bytes(head))
        await form.writer.close()
    except BaseException:
        if form.writer is not None:
            await form.writer.discard()
        raise
    return form.writer, content_type, form.writer.sha256, size


def _writer(services: Services, key: str, content_type: str) -> ObjectWriter:
    settings = services.settings
    return ObjectWriter(
        services.s3,
        settings.s3_bucket,
        key,
        content_type,
        part_size=settings.upload_part_bytes,
        single_put_size=settings.upload_single_put_bytes,
    )


def _check_pixels(settings: Settings, dimensions: tuple[int, int] | None) -> None:
    """413 for an image whose header declares more pixels than allowed."""
    if dimensions is None:
        return
    width, height = dimensions
    if width * height > settings.max_image_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"the image is {width}x{height} pixels, over the limit of"
            f" {settings.max_image_pixels} pixels",
            details={"width": width, "height": height, "max_pixels": settings.max_image_pixels},
        )


def _sniff(head: bytearray) -> str:
    content_type = sniff_image_type(bytes(head[:SNIFF_BYTES]))
    if content_type is None:
        raise ApiError(415, "unsupported_image", "the file is not a JPEG, PNG, WebP or HEIC image")
    return content_type


async def _forget_ledger(services: Services, photo_id: UUID) -> None:
    try:
        async with services.pool.connection() as conn:
            await photos_db.forget_cleanup(conn, photo_id)
    except Exception as exc:
        log.warning("cleanup ledger entry kept for %s: %s", photo_id, type(exc).__name__)


async def receive_upload(services: Services, request: Request, user_id: UUID) -> UploadResult:
    settings = services.settings
    declared = request.headers.get("content-length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    ):
        raise ApiError(413, "too_large", f"the file exceeds {settings.max_upload_bytes} bytes")
    multipart_boundary(request.headers.get("content-type"))
    photo_id = uuid.uuid4()
    key = original_key(user_id, photo_id)
    async with services.pool.connection() as conn:
        await photos_db.record_cleanup(
            conn, photo_id, [key], delay_seconds=settings.upload_grace_seconds
        )
    form = _Form()
    try:
        writer, content_type, sha256, size = await _stream_file(services, request, form, key)
    except BaseException:
        # Keep the ledger entry if an object may remain: the sweeper deletes it later.
        if form.writer is None or form.writer.clean:
            await _forget_ledger(services, photo_id)
        raise
    row, created = await _commit(
        services, photo_id, user_id, key, form, content_type=content_type, sha256=sha256, size=size
    )
    if created:
        services.outbox_wakeup.set()
        return UploadResult(row, created=True)
    # The same bytes again: keep the first photo, drop the copy just stored.
    await writer.discard()
    if writer.clean:
        await _forget_ledger(services, photo_id)
    return UploadResult(row, created=False)


async def _commit(
    services: Services,
    photo_id: UUID,
    user_id: UUID,
    key: str,
    form: _Form,
    *,
    content_type: str,
    sha256: str,
    size: int,
) -> tuple[DictRow, bool]:
    """Insert the photo with its event: (the new photo, True), or (the existing one, False)."""
    uploaded_at = datetime.now(UTC)
    event = PhotoUploaded(
        photo_id=photo_id,
        user_id=user_id,
        object_key=key,
        content_type=content_type,
        sha256=sha256,
        size=size,
        uploaded_at=uploaded_at,
    )
    async with services.pool.connection() as conn:
        row = await photos_db.insert_photo(
            conn,
            photo_id=photo_id,
            user_id=user_id,
            filename=form.filename or "upload",
            s3_key=key,
            size=size,
            content_type=content_type,
            sha256=sha256,
            tags=form.tags,
            metadata=form.metadata,
            created_at=uploaded_at,
            event_topic=services.settings.kafka_topic,
            event=event.model_dump(mode="json"),
        )
        if row is not None:
            return row, True
        existing = await photos_db.find_by_sha256(conn, user_id, sha256)
    if existing is None:  # the duplicate went to the trash meanwhile
        raise ApiError(409, "conflict", "the photo changed during upload; try again")
    return existing, False
