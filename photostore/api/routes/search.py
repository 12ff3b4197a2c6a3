"""Search: by filename (trigram), tags, metadata containment, place; near-duplicates.

Both are reads a replica may serve (read_router.py).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from psycopg.rows import DictRow

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
from photostore.api.phash_bands import MAX_BANDED_DISTANCE
from photostore.api.photos_db import Conn
from photostore.api.row_values import valid_rows
from photostore.api.search_sql import (
    TARGET_PHASH,
    Place,
    SearchCriteria,
    search_query,
    similar_query,
)
from photostore.api.user_json import parse_json_object

router = APIRouter(prefix="/v1", tags=["search"], responses=ERROR_RESPONSES)


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
    value = None
    if metadata is not None:
        settings = services.settings
        value = parse_json_object(
            metadata,
            what="metadata",
            max_depth=settings.metadata_max_depth,
            max_bytes=settings.metadata_max_bytes,
            status=400,
            code="bad_metadata",
        )
    criteria = SearchCriteria(
        filename=filename,
        tags=tag or [],
        metadata=value,
        place=None if lat is None or lon is None else Place(lat, lon, radius_m),
    )
    query, params = search_query(user.id, criteria, limit)

    async def run(conn: Conn) -> list[DictRow]:
        cur = await conn.execute(query, params)
        return await cur.fetchall()

    rows = await services.reads.read(user.write_position, run)
    return SearchResults(items=valid_rows(SearchHit, rows))


@router.get("/photos/{photo_id}/similar", responses={409: ERROR_RESPONSES[409]})
async def similar_photos(
    photo_id: UUID,
    user: CurrentUser,
    services: ServicesDep,
    max_distance: Annotated[
        int,
        Query(
            ge=0,
            le=64,
            description=f"bits; up to {MAX_BANDED_DISTANCE} the search reads the pHash band"
            " indexes, above it scans all the user's photos",
        ),
    ] = 10,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SimilarResults:
    """Near-duplicates: live photos whose perceptual hash differs in at most `max_distance` bits."""

    async def run(conn: Conn) -> list[DictRow]:
        cur = await conn.execute(TARGET_PHASH, (photo_id, user.id))
        target = await cur.fetchone()
        if target is None:
            raise not_found()
        if target["phash"] is None:
            raise ApiError(409, "not_processed", "the photo has no perceptual hash yet")
        query, params = similar_query(user.id, photo_id, target["phash"], max_distance, limit)
        cur = await conn.execute(query, params)
        return await cur.fetchall()

    rows = await services.reads.read(user.write_position, run)
    return SimilarResults(items=valid_rows(SimilarPhoto, rows))
