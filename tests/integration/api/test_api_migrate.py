"""Migrations against a real PostgreSQL: concurrent runs, checksums, the schema contract."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from photostore.db.migrate import Migration, MigrationError, apply_migrations, load_migrations


@pytest.fixture
def empty_db(admin_db_url: str) -> Iterator[str]:
    name = f"photostore_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield make_conninfo(admin_db_url, dbname=name)
    finally:
        with psycopg.connect(admin_db_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def test_two_concurrent_runs_apply_each_migration_once(empty_db: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            results.append(apply_migrations(empty_db))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    expected = [m.version for m in load_migrations()]
    assert sorted(results, key=len) == [[], expected]
    with psycopg.connect(empty_db) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == expected


def test_a_changed_applied_migration_is_refused(empty_db: str) -> None:
    apply_migrations(empty_db)
    first = load_migrations()[0]
    tampered = Migration(first.version, first.name, first.sql + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after"):
        apply_migrations(empty_db, [tampered])


def test_cli_migrates_the_database_in_the_environment_variable(
    empty_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photostore.__main__ import main

    monkeypatch.setenv("PHOTOSTORE_DATABASE_URL", empty_db)
    main(["migrate"])
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (
            len(load_migrations()),
        )


def test_photos_table_has_the_columns_the_processor_writes(database_url: str) -> None:
    expected = {
        "processing_status": "text",
        "processing_error": "text",
        "processed_at": "timestamp with time zone",
        "width": "integer",
        "height": "integer",
        "taken_at": "timestamp with time zone",
        "camera_make": "text",
        "camera_model": "text",
        "location": "USER-DEFINED",
        "exif": "jsonb",
        "ahash": "bigint",
        "dhash": "bigint",
        "phash": "bigint",
        "blur_score": "double precision",
        "dominant_colors": "jsonb",
        "color_histogram": "jsonb",
        "thumbnails": "jsonb",
    }
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'photos'"
        ).fetchall()
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'photos'"
            ).fetchall()
        }
    columns = dict(rows)
    assert {name: columns.get(name) for name in expected} == expected
    assert any("(user_id, created_at DESC, id DESC)" in i for i in indexes)
    assert any("USING gist (user_id, filename gist_trgm_ops" in i for i in indexes)
    assert any("USING gin (photo_search_keys(user_id, tags, metadata))" in i for i in indexes)
    assert any("USING gist (user_id, location)" in i for i in indexes)
    assert not any("USING gin (tags)" in i or "(filename gin_trgm_ops)" in i for i in indexes)
    assert any("UNIQUE" in i and "(user_id, sha256)" in i for i in indexes)


def test_a_failed_concurrent_index_build_is_not_recorded_and_is_rebuilt_on_the_next_run(
    empty_db: str,
) -> None:
    """CREATE INDEX CONCURRENTLY that fails leaves an INVALID index; the next run replaces it."""
    shipped = load_migrations()
    unique = Migration(
        9001,
        "unique_a",
        "-- photostore: no-transaction\n"
        "CREATE TABLE IF NOT EXISTS t (a int);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_a_key ON t (a);\n",
    )
    apply_migrations(empty_db, shipped)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int)")
        conn.execute("INSERT INTO t VALUES (1), (1)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        apply_migrations(empty_db, [*shipped, unique])

    def state() -> tuple[Any, ...]:
        with psycopg.connect(empty_db) as conn:
            valid = conn.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_key'::regclass"
            ).fetchone()
            recorded = conn.execute(
                "SELECT count(*) FROM schema_migrations WHERE version = 9001"
            ).fetchone()
        assert valid is not None and recorded is not None
        return valid[0], recorded[0]

    assert state() == (False, 0)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")
    assert apply_migrations(empty_db, [*shipped, unique]) == [9001]
    assert state() == (True, 1)
    with psycopg.connect(empty_db) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO t VALUES (1)")


def test_the_search_index_migration_lets_uploads_and_searches_run_while_it_builds(
    empty_db: str,
) -> None:
    """0005 builds its indexes beside the live table: writes and reads go on meanwhile."""
    apply_migrations(empty_db, [m for m in load_migrations() if m.version <= 4])
    owner = uuid.uuid4()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, email, password_hash) VALUES (%s, 'o@example.com', 'x')",
            (owner,),
        )
        conn.execute(
            "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
            " tags, metadata, processing_status)"
            " SELECT md5('p' || n)::uuid, %s, 'IMG_' || n || '.jpg', 'originals/' || n, 1,"
            " 'image/jpeg', encode(sha256(int8send(n)), 'hex'), ARRAY['tag-' || n %% 50],"
            " jsonb_build_object('album', 'album-' || n %% 40), 'done'"
            " FROM generate_series(1, 150000) AS n",
            (owner,),
        )
    failures: list[BaseException] = []

    def migrate() -> None:
        try:
            apply_migrations(empty_db)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    runner = threading.Thread(target=migrate)
    runner.start()
    writes_during_builds = 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '2s'")
        n = 0
        while runner.is_alive():
            building = conn.execute(
                "SELECT count(*) FROM pg_stat_progress_create_index"
                " WHERE command = 'CREATE INDEX CONCURRENTLY'"
            ).fetchone()
            n += 1
            photo_id = uuid.uuid4()
            conn.execute(
                "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
                " tags, processing_status) VALUES (%s, %s, 'new.jpg', %s, 1, 'image/jpeg', %s,"
                " '{fresh}', 'done')",
                (photo_id, owner, f"originals/new-{photo_id}", f"{n:064x}"),
            )
            conn.execute("UPDATE photos SET tags = '{renamed}' WHERE id = %s", (photo_id,))
            assert conn.execute(
                "SELECT count(*) FROM photos WHERE user_id = %s AND filename ILIKE '%%new%%'",
                (owner,),
            ).fetchone() == (n,)
            writes_during_builds += bool(building and building[0])
    runner.join()
    assert not failures, failures
    assert writes_during_builds >= 3, "no write ran while an index was being built"
    with psycopg.connect(empty_db) as conn:
        indexes = conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index"
            " WHERE indrelid = 'photos'::regclass AND indisvalid"
        ).fetchall()
        found = conn.execute(
            "SELECT count(*) FROM photos"
            " WHERE photo_search_keys(user_id, tags, metadata)"
            " @> photo_search_keys(%s, '{renamed}', '{}')",
            (owner,),
        ).fetchone()
    assert {"photos_user_search_keys_idx", "photos_user_filename_gist_idx"} <= {
        name for (name,) in indexes
    }
    assert found == (n,), "every row written during the build is in the new index"
