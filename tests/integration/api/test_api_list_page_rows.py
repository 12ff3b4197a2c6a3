"""photos_db.list_page against the real PostgreSQL: one parsed sort key per page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import dict_row
from service_fixtures import seed_photos

from photostore.api import photos_db
from photostore.api.row_values import register_tolerant_timestamps

TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


async def test_a_page_parses_the_sort_key_of_its_last_row_only(
    client: httpx.AsyncClient, register: Any, database_url: str
) -> None:
    headers = await register(client)
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    seed_photos(database_url, user_id, 7)
    async with await psycopg.AsyncConnection.connect(
        database_url, row_factory=dict_row, autocommit=True
    ) as conn:
        await register_tolerant_timestamps(conn)
        tolerant = conn.adapters.get_loader(TIMESTAMPTZ, psycopg.pq.Format.TEXT)
        assert tolerant is not None
        loads: list[Any] = []

        class Counting(tolerant):  # type: ignore[valid-type,misc]
            def load(self, data: Any) -> Any:
                loads.append(bytes(data))
                return super().load(data)

        conn.adapters.register_loader(TIMESTAMPTZ, Counting)
        page = await photos_db.list_page(
            conn, UUID(user_id), trash=False, filters=photos_db.ListFilters(), after=None, limit=3
        )
        rest = await photos_db.list_page(
            conn,
            UUID(user_id),
            trash=False,
            filters=photos_db.ListFilters(),
            after=page.next_after,
            limit=10,
        )
        parsed = len(loads)
        expected = await (
            await conn.execute(
                "SELECT id, created_at FROM photos WHERE user_id = %s ORDER BY created_at DESC",
                (user_id,),
            )
        ).fetchall()
    assert parsed == 1  # the last row of the first page; the second page has no next one
    assert len(page.items) == 3
    assert page.next_after == (expected[2]["created_at"], expected[2]["id"])
    assert page.next_after[0].tzinfo is not None
    assert len(rest.items) == 4
    assert rest.next_after is None
    listed = [httpx.Response(200, content=item).json()["id"] for item in page.items + rest.items]
    assert listed == [str(row["id"]) for row in expected]


async def test_a_page_is_ordered_by_time_not_by_the_text_it_reads(
    client: httpx.AsyncClient, register: Any, database_url: str
) -> None:
    # As text, "2026-..." sorts after "10000-...": a page sorted by the text it reads
    # would list the year-10000 photo last.
    headers = await register(client)
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    seed_photos(database_url, user_id, 2)
    with psycopg.connect(database_url) as conn:
        far = conn.execute(
            "UPDATE photos SET created_at = '10000-01-01 00:00:00+00' WHERE id = ("
            " SELECT id FROM photos WHERE user_id = %s ORDER BY created_at LIMIT 1) RETURNING id",
            (user_id,),
        ).fetchone()
    assert far is not None
    async with await psycopg.AsyncConnection.connect(
        database_url, row_factory=dict_row, autocommit=True
    ) as conn:
        await register_tolerant_timestamps(conn)
        page = await photos_db.list_page(
            conn, UUID(user_id), trash=False, filters=photos_db.ListFilters(), after=None, limit=5
        )
    listed = [httpx.Response(200, content=item).json()["id"] for item in page.items]
    assert len(listed) == 2
    assert listed[0] == str(far[0])
