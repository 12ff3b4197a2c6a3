"""SQL for photos. Every query is scoped by user_id: another user's photo is simply absent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import Format
from psycopg.rows import DictRow, tuple_row
from psycopg.types.json import Jsonb

SUMMARY_COLUMNS = (
    "id, filename, content_type, size, tags, created_at, taken_at, deleted_at,"
    " processing_status, width, height"
)
DETAIL_COLUMNS = (
    SUMMARY_COLUMNS + ", user_id, s3_key, sha256, metadata, updated_at, processing_error,"
    " processed_at, camera_make, camera_model, exif, blur_score, dominant_colors, thumbnails,"
    " ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon"
)

# The processor's taken_at comes from EXIF: a year PostgreSQL holds but clients cannot
# parse (10000, infinity) is shown as unknown, as psycopg reads it (row_values).
READABLE_TAKEN_AT = "CASE WHEN taken_at BETWEEN '0001-01-02' AND '9999-12-30' THEN taken_at END"

# One list item as JSON, built by PostgreSQL: a page then needs no per-row Python work.
# The keys are PhotoSummary's (a test checks they stay in step).
SUMMARY_JSON = (
    "json_build_object('id', id, 'filename', filename, 'content_type', content_type,"
    f" 'size', size, 'tags', tags, 'created_at', created_at, 'taken_at', {READABLE_TAKEN_AT},"
    " 'deleted_at', deleted_at, 'processing_status', processing_status, 'width', width,"
    " 'height', height)::text"
)

Conn = AsyncConnection[DictRow]


@dataclass(frozen=True)
class ListFilters:
    tags: list[str] = field(default_factory=list)
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    status: str | None = None


def filter_clauses(filters: ListFilters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.tags:
        clauses.append("tags @> %s::text[]")
        params.append(filters.tags)
    for column, op, value in (
        ("created_at", ">=", filters.uploaded_after),
        ("created_at", "<", filters.uploaded_before),
        ("taken_at", ">=", filters.taken_after),
        ("taken_at", "<", filters.taken_before),
    ):
        if value is not None:
            clauses.append(f"{column} {op} %s")
            params.append(value)
    if filters.status is not None:
        clauses.append("processing_status = %s")
        params.append(filters.status)
    return clauses, params


def list_query(
    user_id: UUID,
    *,
    trash: bool,
    filters: ListFilters,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> tuple[bytes, list[Any]]:
    """One page, newest first: by created_at for live photos, by deleted_at for the trash.

    Rows are (item JSON, sort timestamp, id), all three as text: the connection's text loader
    reads them with no per-cursor loaders, and only the one row a cursor is made from is
    parsed (`list_page`). The outer ORDER BY names `page.` columns, so it sorts by the
    timestamp, not by its text.
    """
    sort = "deleted_at" if trash else "created_at"
    clauses = ["user_id = %s", "deleted_at IS NOT NULL" if trash else "deleted_at IS NULL"]
    params: list[Any] = [user_id]
    more, more_params = filter_clauses(filters)
    clauses += more
    params += more_params
    if after is not None:
        clauses.append(f"({sort}, id) < (%s, %s)")
        params += [after[0], after[1]]
    params.append(limit)
    # JSON is built in the outer query, so only for the rows of the page whatever the plan.
    query = (
        f"SELECT {SUMMARY_JSON}, page.{sort}::text, page.id::text FROM ("  # noqa: S608
        f" SELECT {SUMMARY_COLUMNS} FROM photos WHERE {' AND '.join(clauses)}"
        f" ORDER BY {sort} DESC, id DESC LIMIT %s) AS page"
        f" ORDER BY page.{sort} DESC, page.id DESC"
    )
    return query.encode(), params


@dataclass(frozen=True)
class ListPage:
    """A page of the list: each item's JSON, and the sort key a next page starts after."""

    items: list[str]
    next_after: tuple[datetime, UUID] | None


_TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid


async def list_page(
    conn: Conn,
    user_id: UUID,
    *,
    trash: bool,
    filters: ListFilters,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> ListPage:
    """Up to `limit` items, and where the next page starts when there are more."""
    query, params = list_query(user_id, trash=trash, filters=filters, after=after, limit=limit + 1)
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(query, params)
        rows: list[tuple[str, str, str]] = await cur.fetchall()
    if len(rows) <= limit:
        return ListPage([row[0] for row in rows], None)
    _, sort_key, last_id = rows[limit - 1]
    # The connection's own timestamptz loader: its time zone, and row_values' tolerance.
    loader = conn.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
    assert loader is not None
    at = loader(_TIMESTAMPTZ_OID, conn).load(sort_key.encode())
    return ListPage([row[0] for row in rows[:limit]], (at, UUID(last_id)))


async def get_photo(
    conn: Conn, user_id: UUID, photo_id: UUID, *, trashed: bool | None = False
) -> DictRow | None:
    """The photo, if it is the user's; `trashed` None means live or trashed."""
    state = {False: " AND deleted_at IS NULL", True: " AND deleted_at IS NOT NULL", None: ""}
    query = f"SELECT {DETAIL_COLUMNS} FROM photos WHERE id = %s AND user_id = %s{state[trashed]}"  # noqa: S608
    cur = await conn.execute(query.encode(), (photo_id, user_id))
    return await cur.fetchone()


async def insert_photo(
    conn: Conn,
    *,
    photo_id: UUID,
    user_id: UUID,
    filename: str,
    s3_key: str,
    size: int,
    content_type: str,
    sha256: str,
    tags: list[str],
    metadata: dict[str, Any],
    created_at: datetime,
    event_topic: str,
    event: dict[str, Any],
) -> DictRow | None:
    """Insert a photo, its outbox event, and drop its cleanup entry, in one statement.

    One statement is one atomic round trip. Returns the new photo, or None (and changes
    nothing) when the user already has a live photo with these bytes.
    """
    cur = await conn.execute(
        "WITH inserted AS ("  # noqa: S608 - DETAIL_COLUMNS is a constant
        "  INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256, tags,"
        "   metadata, created_at, updated_at)"
        "  VALUES (%(id)s, %(user_id)s, %(filename)s, %(s3_key)s, %(size)s, %(content_type)s,"
        "   %(sha256)s, %(tags)s, %(metadata)s, %(created_at)s, %(created_at)s)"
        "  ON CONFLICT (user_id, sha256) WHERE deleted_at IS NULL DO NOTHING"
        "  RETURNING *),"
        " event AS (INSERT INTO outbox (topic, key, payload)"
        "  SELECT %(topic)s, id::text, %(event)s FROM inserted),"
        " ledger AS (DELETE FROM object_cleanup"
        "  WHERE photo_id = %(id)s AND EXISTS (SELECT 1 FROM inserted))"
        f" SELECT {DETAIL_COLUMNS} FROM inserted".encode(),
        {
            "id": photo_id,
            "user_id": user_id,
            "filename": filename,
            "s3_key": s3_key,
            "size": size,
            "content_type": content_type,
            "sha256": sha256,
            "tags": tags,
            "metadata": Jsonb(metadata),
            "created_at": created_at,
            "topic": event_topic,
            "event": Jsonb(event),
        },
    )
    return await cur.fetchone()


async def find_by_sha256(conn: Conn, user_id: UUID, sha256: str) -> DictRow | None:
    cur = await conn.execute(
        f"SELECT {DETAIL_COLUMNS} FROM photos"  # noqa: S608
        " WHERE user_id = %s AND sha256 = %s AND deleted_at IS NULL".encode(),
        (user_id, sha256),
    )
    return await cur.fetchone()


async def set_tags(conn: Conn, user_id: UUID, photo_id: UUID, tags: list[str]) -> bool:
    cur = await conn.execute(
        "UPDATE photos SET tags = %s, updated_at = now()"
        " WHERE id = %s AND user_id = %s AND deleted_at IS NULL",
        (tags, photo_id, user_id),
    )
    return cur.rowcount == 1


async def move_to_trash(conn: Conn, user_id: UUID, photo_id: UUID) -> bool:
    cur = await conn.execute(
        "UPDATE photos SET deleted_at = now(), updated_at = now()"
        " WHERE id = %s AND user_id = %s AND deleted_at IS NULL",
        (photo_id, user_id),
    )
    return cur.rowcount == 1


async def restore(conn: Conn, user_id: UUID, photo_id: UUID) -> bool:
    cur = await conn.execute(
        "UPDATE photos SET deleted_at = NULL, updated_at = now()"
        " WHERE id = %s AND user_id = %s AND deleted_at IS NOT NULL",
        (photo_id, user_id),
    )
    return cur.rowcount == 1


async def delete_trashed(conn: Conn, user_id: UUID, photo_id: UUID) -> DictRow | None:
    cur = await conn.execute(
        "DELETE FROM photos WHERE id = %s AND user_id = %s AND deleted_at IS NOT NULL"
        " RETURNING s3_key, thumbnails",
        (photo_id, user_id),
    )
    return await cur.fetchone()


async def record_cleanup(
    conn: Conn, photo_id: UUID, keys: list[str], *, delay_seconds: float = 0
) -> None:
    """Record objects that must go unless a photo `photo_id` exists after the delay."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO object_cleanup (photo_id, s3_key, not_before)"
            " VALUES (%s, %s, now() + make_interval(secs => %s))",
            [(photo_id, key, delay_seconds) for key in keys],
        )


async def forget_cleanup(conn: Conn, photo_id: UUID) -> None:
    await conn.execute("DELETE FROM object_cleanup WHERE photo_id = %s", (photo_id,))
