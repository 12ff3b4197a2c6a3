"""Photos: upload, list, read, download links, tags, move to the trash."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from photostore.api import photos_db
from photostore.api.cursor import decode_cursor, encode_cursor
from photostore.api.deps import AuthUser, CurrentUser, ServicesDep
from photostore.api.errors import ERROR_RESPONSES, not_found
from photostore.api.models import (
    DownloadLink,
    Downloads,
    Photo,
    PhotoPage,
    ProcessingStatus,
    Tag,
    TagsUpdate,
)
from photostore.api.photo_cache import cache_photo, cached_photo, invalidate_photo
from photostore.api.services import Services
from photostore.api.uploads import receive_upload
from photostore.api.views import photo_from_row

router = APIRouter(prefix="/v1/photos", tags=["photos"], responses=ERROR_RESPONSES)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "tags": {"type": "string", "description": "Comma-separated tags."},
                        "metadata": {"type": "string", "description": "A JSON object."},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"model": Photo, "description": "The same bytes were uploaded before"},
        409: ERROR_RESPONSES[409],
        413: {"model": ERROR_RESPONSES[400]["model"], "description": "File too large"},
        415: {"model": ERROR_RESPONSES[400]["model"], "description": "Not a supported image"},
    },
)
async def upload_photo(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """Upload one JPEG, PNG, WebP or HEIC image as multipart field `file`."""
    result = await receive_upload(services, request, user.id)
    photo = photo_from_row(result.photo)
    # Serialised by pydantic-core straight to JSON, as FastAPI does for a returned model.
    return Response(
        photo.model_dump_json(),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        headers={"Location": f"/v1/photos/{photo.id}"},
        media_type="application/json",
    )


@router.get("", response_model=PhotoPage)
async def list_photos(
    user: CurrentUser,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    tag: Annotated[list[Tag] | None, Query(max_length=20, description="All of these tags.")] = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
    taken_after: datetime | None = None,
    taken_before: datetime | None = None,
    processing_status: ProcessingStatus | None = None,
) -> Response:
    """The user's photos, newest upload first, one page at a time."""
    filters = photos_db.ListFilters(
        tags=list(dict.fromkeys(tag or [])),
        uploaded_after=uploaded_after,
        uploaded_before=uploaded_before,
        taken_after=taken_after,
        taken_before=taken_before,
        status=processing_status,
    )
    return await list_page(services, user, "photos", filters, cursor, limit)


async def list_page(
    services: Services,
    user: AuthUser,
    kind: str,
    filters: photos_db.ListFilters,
    cursor: str | None,
    limit: int,
) -> Response:
    """A PhotoPage, serialised by hand from the JSON PostgreSQL built for each item.

    The list is the hottest route; skipping per-row validation and re-serialisation keeps
    its cost close to the query's own. A read replica may serve it.
    """
    trash = kind == "trash"
    after = decode_cursor(kind, cursor) if cursor else None
    page = await services.reads.read(
        user.write_position,
        lambda conn: photos_db.list_page(
            conn, user.id, trash=trash, filters=filters, after=after, limit=limit
        ),
    )
    next_cursor = encode_cursor(kind, *page.next_after) if page.next_after else None
    items = ",".join(page.items)
    body = f'{{"items":[{items}],"next_cursor":{json.dumps(next_cursor)}}}'
    return Response(body, media_type="application/json")


async def _load(services: Services, user_id: UUID, photo_id: UUID) -> Photo:
    photo = await cached_photo(services, user_id, photo_id)
    if photo is not None:
        return photo
    async with services.pool.connection() as conn:
        row = await photos_db.get_photo(conn, user_id, photo_id)
    if row is None:
        raise not_found()
    photo = photo_from_row(row)
    await cache_photo(services, user_id, photo)
    return photo


@router.get("/{photo_id}")
async def get_photo(photo_id: UUID, user: CurrentUser, services: ServicesDep) -> Photo:
    return await _load(services, user.id, photo_id)


@router.get("/{photo_id}/download")
async def download_links(photo_id: UUID, user: CurrentUser, services: ServicesDep) -> Downloads:
    """Presigned GET URLs for the original and each thumbnail the processor made."""
    row = await services.reads.read(
        user.write_position, lambda conn: photos_db.get_photo(conn, user.id, photo_id)
    )
    if row is None:
        raise not_found()
    settings = services.settings
    ttl = settings.presign_ttl_seconds
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)

    def presign(key: str) -> DownloadLink:
        url = services.s3.generate_presigned_url(
            "get_object", Params={"Bucket": settings.s3_bucket, "Key": key}, ExpiresIn=ttl
        )
        return DownloadLink(url=url, expires_at=expires_at)

    thumbnails: dict[str, str] = row["thumbnails"] or {}
    return await asyncio.to_thread(
        lambda: Downloads(
            original=presign(row["s3_key"]),
            thumbnails={name: presign(str(key)) for name, key in sorted(thumbnails.items())},
        )
    )


@router.put("/{photo_id}/tags")
async def replace_tags(
    photo_id: UUID, body: TagsUpdate, user: CurrentUser, services: ServicesDep
) -> Photo:
    async with services.pool.connection() as conn:
        changed = await photos_db.set_tags(conn, user.id, photo_id, body.tags)
    if not changed:
        raise not_found()
    await invalidate_photo(services, user.id, photo_id)
    return await _load(services, user.id, photo_id)


@router.delete("/{photo_id}", status_code=status.HTTP_204_NO_CONTENT)
async def move_to_trash(photo_id: UUID, user: CurrentUser, services: ServicesDep) -> Response:
    """Soft delete: the photo goes to the trash, from where it can be restored or purged."""
    async with services.pool.connection() as conn:
        moved = await photos_db.move_to_trash(conn, user.id, photo_id)
    if not moved:
        raise not_found()
    await invalidate_photo(services, user.id, photo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
