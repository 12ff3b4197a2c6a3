"""Search: by filename (trigram), tags, metadata containment, place; near-duplicates.

Both are reads a replica may serve (read_router.py).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from photostore.api.deps import CurrentUser, ServicesDep
from photostore.api.errors import ERROR_RESPONSES, ApiError, bad_request, not_found
from photostore.api.models import (
    PRINTABLE,
    SearchHit,
    SearchResults,
    SimilarPhoto,
    SimilarResults,
    Tag,
)
from photostore.api.photos_db import SUMMARY_COLUMNS, Conn
from photostore.api.row_values import valid_rows
from photostore.api.user_json import parse_json_object

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@router.get("/search/photos")
async def search_photos(
    user: CurrentUser,
    services: ServicesDep,
    filename: Annotated[str | None, Query(min_length=1, max_length=255, pattern=PRINTABLE)] = None,
    tag: Annotated[list[Tag] | None, Query(max_length=20)] = None,
    metadata: Annotated[
        str | None,
        Query(max_length=4096, description='JSON object the metadata contains, e.g. {"album":"x"}'),
    ] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float, Query(gt=0, le=20_000_000)] = 1000.0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> SearchResults:
    """Live photos matching every criterion given (at least one is required).

    Ordered by filename similarity when `filename` is given, else by distance when a place
    is given, else newest first.
    """
    if (lat is None) != (lon is None):
        raise bad_request("give both lat and lon, or neither")
    if filename is None and not tag and metadata is None and lat is None:
        raise bad_request("give at least one of filename, tag, metadata, lat/lon")
    select = [SUMMARY_COLUMNS]
    where = ["user_id = %s", "deleted_at IS NULL"]
    select_params: list[Any] = []
    params: list[Any] = [user.id]
    order = "created_at DESC, id DESC"
    if lat is not None and lon is not None:
        point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
        select.append(f"ST_Distance(location, {point}) AS distance_m")
        select_params += [lon, lat]
        where.append(f"ST_DWithin(location, {point}, %s)")
        params += [lon, lat, radius_m]
        order = "distance_m, id"
    if filename is not None:
        select.append("similarity(filename, %s) AS score")
        select_params.append(filename)
        where.append("(filename %% %s OR filename ILIKE %s)")
        params += [filename, _like_pattern(filename)]
        order = "score DESC, id"
    if tag:
        where.append("tags @> %s::text[]")
        params.append(list(dict.fromkeys(tag)))
    if metadata is not None:
        where.append("metadata @> %s")
        settings = services.settings
        value = parse_json_object(
            metadata,
            what="metadata",
            max_depth=settings.metadata_max_depth,
            max_bytes=settings.metadata_max_bytes,
            status=400,
            code="bad_metadata",
        )
        params.append(Jsonb(value))
    query = (
        f"SELECT {', '.join(select)} FROM photos WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {order} LIMIT %s"
    )

    async def run(conn: Conn) -> list[DictRow]:
        cur = await conn.execute(query.encode(), [*select_params, *params, limit])
        return await cur.fetchall()

    rows = await services.reads.read(user.write_position, run)
    return SearchResults(items=valid_rows(SearchHit, rows))


@router.get("/photos/{photo_id}/similar", responses={409: ERROR_RESPONSES[409]})
async def similar_photos(
    photo_id: UUID,
    user: CurrentUser,
    services: ServicesDep,
    max_distance: Annotated[int, Query(ge=0, le=64)] = 10,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SimilarResults:
    """Near-duplicates: live photos whose perceptual hash differs in at most `max_distance` bits."""

    async def run(conn: Conn) -> list[DictRow]:
        cur = await conn.execute(
            "SELECT phash FROM photos WHERE id = %s AND user_id = %s AND deleted_at IS NULL",
            (photo_id, user.id),
        )
        target = await cur.fetchone()
        if target is None:
            raise not_found()
        if target["phash"] is None:
            raise ApiError(409, "not_processed", "the photo has no perceptual hash yet")
        cur = await conn.execute(
            f"SELECT {SUMMARY_COLUMNS}, distance FROM ("  # noqa: S608
            f"  SELECT {SUMMARY_COLUMNS}, bit_count((phash # %s)::bit(64))::int AS distance"
            "   FROM photos WHERE user_id = %s AND deleted_at IS NULL AND phash IS NOT NULL"
            "   AND id <> %s) AS candidates"
            " WHERE distance <= %s ORDER BY distance, created_at DESC LIMIT %s".encode(),
            (target["phash"], user.id, photo_id, max_distance, limit),
        )
        return await cur.fetchall()

    rows = await services.reads.read(user.write_position, run)
    return SimilarResults(items=valid_rows(SimilarPhoto, rows))
