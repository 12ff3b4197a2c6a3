"""Each search shape reads an index led by user_id, on a table big enough for the planner.

The table holds 120,000 photos: a heavy user with 12,000 and 150 light users with 720 each,
interleaved as uploads over time would be. The queries are the API's own SQL. The photos are
written under the schema of 0003 (less the whole-table indexes 0004 drops), then the
remaining migrations build the per-user indexes on the filled table, as `photostore migrate`
does when upgrading a database in service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from photostore.api.photos_db import ListFilters, list_query
from photostore.api.search_sql import Place, SearchCriteria, search_query, similar_query
from photostore.db.migrate import apply_migrations, load_migrations

HEAVY = UUID(int=1)
LIGHT = UUID(int=3)
LIGHT_USERS = 150

PHOTOS = """
INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256, tags,
    metadata, created_at, processing_status, location, phash)
SELECT md5('p' || n)::uuid,
    CASE WHEN n %% 10 = 0 THEN %(heavy)s::uuid ELSE ('00000000-0000-0000-0000-'
        || lpad(to_hex(2 + n %% %(light_users)s), 12, '0'))::uuid END,
    (ARRAY['beach', 'sunset', 'harbor', 'party', 'forest', 'castle'])[1 + n %% 6]
        || '_' || (ARRAY['IMG', 'DSC', 'trip', 'kids', 'snow'])[1 + n / 7 %% 5] || '_' || n
        || '.jpg',
    'originals/' || n, 1000, 'image/jpeg', encode(sha256(int8send(n)), 'hex'),
    ARRAY['tag-' || n / 10 %% 200, 'common'],
    jsonb_build_object('album', 'album-' || n / 10 %% 400),
    timestamptz '2024-01-01' + n * interval '1 minute', 'done',
    ST_SetSRID(ST_MakePoint(-180 + (n * 7) %% 360, -80 + (n * 3) %% 160), 4326)::geography,
    hashint8extended(n, 1)
FROM generate_series(1, %(photos)s) AS n
"""

# Index names of each shape's per-user index (0004, 0005), and the pagination index.
SHAPE_INDEXES = {
    "list": {"photos_user_created_idx"},
    "filename": {"photos_user_filename_gist_idx"},
    "tags": {"photos_user_search_keys_idx"},
    "radius": {"photos_user_location_idx"},
    "similar": {f"photos_user_phash_band{band}_idx" for band in range(4)},
    "metadata": {"photos_user_search_keys_idx"},
}


@pytest.fixture(scope="module")
def big_db(admin_db_url: str) -> Iterator[str]:
    name = f"photostore_plans_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    url = make_conninfo(admin_db_url, dbname=name)
    try:
        apply_migrations(url, [m for m in load_migrations() if m.version <= 3])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO users (id, email, password_hash) SELECT ('00000000-0000-0000-"
                "0000-' || lpad(to_hex(u), 12, '0'))::uuid, 'u' || u || '@example.com', 'x'"
                " FROM generate_series(1, %s) AS u",
                (LIGHT_USERS + 1,),
            )
            # 0004 replaces them; without them the rows go in twice as fast.
            conn.execute(
                "DROP INDEX photos_tags_idx, photos_filename_trgm_idx, photos_metadata_idx,"
                " photos_location_idx"
            )
            conn.execute(
                PHOTOS.encode(),
                {"heavy": HEAVY, "light_users": LIGHT_USERS, "photos": 120_000},
            )
        assert apply_migrations(url) == [m.version for m in load_migrations() if m.version > 3]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE photos")
        yield url
    finally:
        with psycopg.connect(admin_db_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _queries(conn: psycopg.Connection[Any], user: UUID) -> dict[str, tuple[bytes, list[Any]]]:
    row = conn.execute(
        "SELECT id, created_at, phash FROM photos WHERE user_id = %s ORDER BY id LIMIT 1",
        (user,),
    ).fetchone()
    assert row is not None
    photo_id, created_at, phash = row
    return {
        "list": list_query(
            user, trash=False, filters=ListFilters(), after=(created_at, photo_id), limit=50
        ),
        "filename": search_query(user, SearchCriteria(filename="castle_snow"), 50),
        "tags": search_query(user, SearchCriteria(tags=["tag-7"]), 50),
        "radius": search_query(user, SearchCriteria(place=Place(10.0, 20.0, 50_000)), 50),
        "similar": similar_query(user, photo_id, phash, 10, 20),
        "metadata": search_query(user, SearchCriteria(metadata={"album": "album-3"}), 50),
    }


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _scans(conn: psycopg.Connection[Any], query: bytes, params: list[Any]) -> list[Any]:
    """(node type, index name or None) of every scan of photos in the plan."""
    row = conn.execute(b"EXPLAIN (FORMAT JSON) " + query, params).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in _plan_nodes(plan[0]["Plan"])
        if node.get("Relation Name") == "photos" or "Index Name" in node
    ]


def _user_led_indexes(conn: psycopg.Connection[Any]) -> set[str]:
    """Indexes whose first key is user_id, or keys made from the user (photo_search_keys)."""
    rows = conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid, 1, true) FROM pg_index"
        " WHERE indrelid = 'photos'::regclass"
    ).fetchall()
    return {
        name
        for name, first_key in rows
        if first_key == "user_id" or first_key.startswith("photo_search_keys(user_id,")
    }


@pytest.mark.parametrize("shape", sorted(SHAPE_INDEXES))
def test_the_heavy_user_search_reads_the_shapes_per_user_index(big_db: str, shape: str) -> None:
    with psycopg.connect(big_db) as conn:
        scans = _scans(conn, *_queries(conn, HEAVY)[shape])
    used = {index for _, index in scans if index is not None}
    assert SHAPE_INDEXES[shape] <= used, scans
    assert all(node != "Seq Scan" for node, _ in scans), scans


@pytest.mark.parametrize("shape", sorted(SHAPE_INDEXES))
def test_a_light_user_search_reads_only_indexes_led_by_user_id(big_db: str, shape: str) -> None:
    with psycopg.connect(big_db) as conn:
        scans = _scans(conn, *_queries(conn, LIGHT)[shape])
        user_led = _user_led_indexes(conn)
    assert scans, "no scan of photos in the plan"
    assert all(node != "Seq Scan" for node, _ in scans), scans
    assert all(index in user_led for _, index in scans if index is not None), scans


def test_every_search_index_of_photos_is_led_by_user_id_and_valid(big_db: str) -> None:
    with psycopg.connect(big_db) as conn:
        indexes = conn.execute(
            "SELECT indexrelid::regclass::text, indisvalid FROM pg_index"
            " WHERE indrelid = 'photos'::regclass"
        ).fetchall()
        user_led = _user_led_indexes(conn)
    assert all(valid for _, valid in indexes), indexes
    assert {name for name, _ in indexes} - user_led == {"photos_pkey", "photos_s3_key_key"}
