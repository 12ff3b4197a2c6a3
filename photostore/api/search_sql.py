"""SQL of the searches: one builder per search shape, shared by the routes and the bench.

Every query names the user, and each shape has an index led by user_id (migration 0004).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from photostore.api.phash_bands import BAND_EXPRESSIONS, MAX_BANDED_DISTANCE, band_probes
from photostore.api.photos_db import SUMMARY_COLUMNS

TARGET_PHASH = "SELECT phash FROM photos WHERE id = %s AND user_id = %s AND deleted_at IS NULL"


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class SearchCriteria:
    """What /v1/search/photos matches; every criterion given must hold."""

    filename: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    place: Place | None = None


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE, with the wildcards and the escape character of `text` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_query(user_id: UUID, criteria: SearchCriteria, limit: int) -> tuple[bytes, list[Any]]:
    """Live photos matching every criterion.

    Ordered by filename similarity when a filename is given, else by distance when a place
    is given, else newest first.
    """
    select = [SUMMARY_COLUMNS]
    where = ["user_id = %s", "deleted_at IS NULL"]
    select_params: list[Any] = []
    params: list[Any] = [user_id]
    order = "created_at DESC, id DESC"
    if criteria.place is not None:
        place = criteria.place
        point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
        select.append(f"ST_Distance(location, {point}) AS distance_m")
        select_params += [place.lon, place.lat]
        where.append(f"ST_DWithin(location, {point}, %s)")
        params += [place.lon, place.lat, place.radius_m]
        order = "distance_m, id"
    if criteria.filename is not None:
        select.append("similarity(filename, %s) AS score")
        select_params.append(criteria.filename)
        where.append("(filename %% %s OR filename ILIKE %s)")
        params += [criteria.filename, like_pattern(criteria.filename)]
        order = "score DESC, id"
    if criteria.tags:
        where.append("tags @> %s::text[]")
        params.append(list(dict.fromkeys(criteria.tags)))
    if criteria.metadata is not None:
        where.append("metadata @> %s")
        params.append(Jsonb(criteria.metadata))
    query = (
        f"SELECT {', '.join(select)} FROM photos WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {order} LIMIT %s"
    )
    return query.encode(), [*select_params, *params, limit]


def similar_query(
    user_id: UUID, photo_id: UUID, phash: int, max_distance: int, limit: int
) -> tuple[bytes, list[Any]]:
    """The user's other live photos whose pHash is within `max_distance` bits of `phash`.

    Nearest first, then newest. Up to MAX_BANDED_DISTANCE the candidates come from the band
    indexes (phash_bands); a larger bound scans the user's photos. Either way the exact
    distance decides, so both give the same answers.
    """
    candidates = ["user_id = %s", "deleted_at IS NULL", "phash IS NOT NULL", "id <> %s"]
    params: list[Any] = [phash, user_id, photo_id]
    if max_distance <= MAX_BANDED_DISTANCE:
        probes = band_probes(phash, max_distance)
        candidates.append(
            "(" + " OR ".join(f"{band} = ANY(%s::bigint[])" for band in BAND_EXPRESSIONS) + ")"
        )
        params += probes
    query = (
        f"SELECT {SUMMARY_COLUMNS}, distance FROM ("  # noqa: S608
        f" SELECT {SUMMARY_COLUMNS}, bit_count((phash # %s)::bit(64))::int AS distance"
        f" FROM photos WHERE {' AND '.join(candidates)}) AS candidates"
        " WHERE distance <= %s ORDER BY distance, created_at DESC LIMIT %s"
    )
    return query.encode(), [*params, max_distance, limit]
