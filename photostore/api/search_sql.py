"""SQL of the searches: one builder per search shape, shared by the routes and the bench.

Every query names the user, and each shape has an index that reads only that user's rows
(migrations 0004 and 0005), so a search costs what the user's photos cost, not the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from photostore.api.phash_bands import BAND_EXPRESSIONS, MAX_BANDED_DISTANCE, band_probes
from photostore.api.photos_db import SUMMARY_COLUMNS

# The expression of the per-user tag and metadata key index (migration 0005): a search's
# keys, made by the same function, are contained in those of every photo it can match.
SEARCH_KEYS = "photo_search_keys(user_id, tags, metadata)"
# Up to this many matches, a tag or metadata search sorts what the key index found; past it,
# walking the user's photos newest first is cheaper (see _newest_by_keys).
KEYED_MATCHES_MAX = 1000
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


# A piece of SQL and the parameters of its placeholders, in order.
Fragment = tuple[str, list[Any]]


def _joined(fragments: list[Fragment], separator: str) -> Fragment:
    return separator.join(text for text, _ in fragments), [p for _, ps in fragments for p in ps]


def search_query(user_id: UUID, criteria: SearchCriteria, limit: int) -> tuple[bytes, list[Any]]:
    """Live photos matching every criterion.

    Ordered by filename similarity when a filename is given, else by distance when a place
    is given, else newest first.
    """
    columns: list[Fragment] = [(SUMMARY_COLUMNS, [])]
    where: list[Fragment] = [("user_id = %s", [user_id]), ("deleted_at IS NULL", [])]
    order = "created_at DESC, id DESC"
    if criteria.place is not None:
        place = criteria.place
        point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
        columns.append((f"ST_Distance(location, {point}) AS distance_m", [place.lon, place.lat]))
        where.append((f"ST_DWithin(location, {point}, %s)", [place.lon, place.lat, place.radius_m]))
        order = "distance_m, id"
    tags = list(dict.fromkeys(criteria.tags))
    keyed = bool(tags or criteria.metadata)
    if keyed and criteria.place is None and criteria.filename is None:
        return _newest_by_keys(user_id, tags, criteria.metadata, limit)
    if keyed:
        where.append(_keys_contained(user_id, tags, criteria.metadata))
    where += _containment(tags, criteria.metadata)
    if criteria.filename is not None:
        return _by_filename(columns, where, criteria.filename, limit)
    select, params = _joined(columns, ", ")
    condition, condition_params = _joined(where, " AND ")
    query = f"SELECT {select} FROM photos WHERE {condition} ORDER BY {order} LIMIT %s"  # noqa: S608
    return query.encode(), [*params, *condition_params, limit]


def _keys_contained(user_id: UUID, tags: list[str], metadata: dict[str, Any] | None) -> Fragment:
    return (
        f"{SEARCH_KEYS} @> photo_search_keys(%s, %s::text[], %s::jsonb)",
        [user_id, tags, Jsonb(metadata or {})],
    )


def _containment(tags: list[str], metadata: dict[str, Any] | None) -> list[Fragment]:
    """The exact tag and metadata conditions."""
    conditions: list[Fragment] = []
    if tags:
        conditions.append(("tags @> %s::text[]", [tags]))
    if metadata is not None:
        conditions.append(("metadata @> %s", [Jsonb(metadata)]))
    return conditions


def _newest_by_keys(
    user_id: UUID, tags: list[str], metadata: dict[str, Any] | None, limit: int
) -> tuple[bytes, list[Any]]:
    """Newest first among the photos with these tags and metadata, by whichever way is cheap.

    The key index finds the matches, which then have to be sorted: cheap while they are few.
    When a term is common among a large library, walking the user's photos newest first finds
    a page of matches sooner. PostgreSQL can't tell the two apart: it takes the key condition,
    the user condition and the containment as independent and multiplies their selectivities,
    although the keys already are the user's, and so it always underestimates. The query
    decides itself: it takes up to KEYED_MATCHES_MAX + 1 matches through the keys (the user
    check written so that it is not an index condition); if there were no more, they are the
    answer, else the newest-first walk is. Both give every match, so the answer is the same.
    """
    exact, exact_params = _joined(
        [("deleted_at IS NULL", []), *_containment(tags, metadata)], " AND "
    )
    keys, keys_params = _keys_contained(user_id, tags, metadata)
    order = "ORDER BY created_at DESC, id DESC"
    # The walk runs only when matches are many, but the planner would take them for few and
    # sort all the user's photos: inside CASE, it counts the containment as matching half.
    query = (
        f"WITH keyed AS MATERIALIZED (SELECT {SUMMARY_COLUMNS} FROM photos"  # noqa: S608
        f" WHERE {keys} AND (user_id = %s) IS TRUE AND {exact} LIMIT %s),"
        " many AS (SELECT count(*) > %s AS walk FROM keyed)"
        f" SELECT * FROM ((SELECT * FROM keyed WHERE NOT (SELECT walk FROM many) {order} LIMIT %s)"
        f" UNION ALL (SELECT {SUMMARY_COLUMNS} FROM photos WHERE user_id = %s"
        f" AND CASE WHEN {exact} THEN true ELSE false END"
        f" AND (SELECT walk FROM many) {order} LIMIT %s)) AS page {order}"
    )
    params = [
        *keys_params,
        user_id,
        *exact_params,
        KEYED_MATCHES_MAX + 1,
        KEYED_MATCHES_MAX,
        limit,
        user_id,
        *exact_params,
        limit,
    ]
    return query.encode(), params


def _by_filename(
    columns: list[Fragment], where: list[Fragment], filename: str, limit: int
) -> tuple[bytes, list[Any]]:
    """The photos whose name is like `filename` or holds it, most similar first.

    A name is a match when its trigram similarity reaches pg_trgm's threshold (`%`) or when it
    holds `filename` (ILIKE). The similar ones come nearest first from the user's GiST index,
    which stops after a page (with ties); every other match is less similar than all of them,
    so those are looked up only when the similar ones don't fill the page.
    """
    select, select_params = _joined(
        [*columns, ("similarity(filename, %s) AS score", [filename])], ", "
    )
    condition, condition_params = _joined(where, " AND ")
    order = "ORDER BY score DESC, id"
    query = (
        f"WITH alike AS MATERIALIZED (SELECT {select} FROM photos"  # noqa: S608
        f" WHERE {condition} AND filename %% %s"
        " ORDER BY filename <-> %s FETCH FIRST %s ROWS WITH TIES)"
        " SELECT * FROM (SELECT * FROM alike"
        f" UNION ALL (SELECT {select} FROM photos WHERE {condition}"
        " AND filename ILIKE %s AND NOT filename %% %s"
        f" AND (SELECT count(*) FROM alike) < %s {order} LIMIT %s)) AS found {order} LIMIT %s"
    )
    params = [
        *select_params,
        *condition_params,
        filename,
        filename,
        limit,
        *select_params,
        *condition_params,
        like_pattern(filename),
        filename,
        limit,
        limit,
        limit,
    ]
    return query.encode(), params


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
