"""The trash: list, restore, purge (the row and every object of the photo)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated
from uuid import UUID

import psycopg.errors
from fastapi import APIRouter, Query, Response, status

from photostore.api import photos_db
from photostore.api.deps import CurrentUser, ServicesDep
from photostore.api.errors import ERROR_RESPONSES, ApiError, not_found
from photostore.api.models import Photo, PhotoPage
from photostore.api.object_sweeper import delete_objects
from photostore.api.photo_cache import invalidate_photo
from photostore.api.routes.photos import list_page
from photostore.api.views import photo_from_row
from photostore.storage import thumbnail_prefix

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/trash", tags=["trash"], responses=ERROR_RESPONSES)


@router.get("", response_model=PhotoPage)
async def list_trash(
    user: CurrentUser,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    """Photos in the trash, most recently deleted first."""
    return await list_page(services, user, "trash", photos_db.ListFilters(), cursor, limit)


@router.post("/{photo_id}/restore", responses={409: ERROR_RESPONSES[409]})
async def restore_photo(photo_id: UUID, user: CurrentUser, services: ServicesDep) -> Photo:
    try:
        async with services.pool.connection() as conn:
            restored = await photos_db.restore(conn, user.id, photo_id)
            row = await photos_db.get_photo(conn, user.id, photo_id) if restored else None
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(
            409, "duplicate", "a live photo with the same bytes exists; purge this one instead"
        ) from exc
    if row is None:
        raise not_found()
    await invalidate_photo(services, user.id, photo_id)
    return photo_from_row(row)


@router.delete("/{photo_id}", status_code=status.HTTP_204_NO_CONTENT)
async def purge_photo(photo_id: UUID, user: CurrentUser, services: ServicesDep) -> Response:
    """Delete the photo for good: its row, its original and its thumbnails.

    S3 must answer first (503 otherwise, nothing changed). The row's deletion and the
    record of its objects commit together; if deleting the objects then fails, the
    sweeper retries, so nothing is left behind unrecorded.
    """
    bucket = services.settings.s3_bucket
    await asyncio.to_thread(services.s3.head_bucket, Bucket=bucket)
    async with services.pool.connection() as conn, conn.transaction():
        row = await photos_db.delete_trashed(conn, user.id, photo_id)
        if row is None:
            raise not_found()
        keys = [str(row["s3_key"]), thumbnail_prefix(photo_id)]
        keys += [str(k) for k in (row["thumbnails"] or {}).values()]
        await photos_db.record_cleanup(conn, photo_id, keys)
    try:
        await invalidate_photo(services, user.id, photo_id)
        await asyncio.to_thread(delete_objects, services.s3, bucket, keys)
        async with services.pool.connection() as conn:
            await photos_db.forget_cleanup(conn, photo_id)
    except Exception as exc:
        log.warning("purge of %s left to the sweeper: %s", photo_id, type(exc).__name__)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
