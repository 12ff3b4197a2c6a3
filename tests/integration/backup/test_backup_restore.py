"""Backup and restore through `python -m photostore`, against the real PostgreSQL and S3."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
from backup_harness import (
    Installation,
    all_rows,
    database_exists,
    drop_database,
    photostore,
    seed,
    url_of,
)

from photostore.db.migrate import load_migrations


def test_round_trip_restores_every_row_of_every_table(installation: Installation, s3: Any) -> None:
    seed(installation.url)
    before = all_rows(installation.url)
    assert before["public.photos"] and all(before.values()), "every table holds rows"

    backup = photostore(installation.env, "backup")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    finished = backup.last("backup.finished")

    # The manifest says what the dump holds, and the dump is what the manifest says.
    key = f"{installation.prefix}{finished['backup']}"
    manifest = json.loads(
        s3.get_object(Bucket=installation.bucket, Key=f"{key}.manifest.json")["Body"].read()
    )
    dump = s3.get_object(Bucket=installation.bucket, Key=f"{key}.dump")["Body"].read()
    assert manifest["size"] == len(dump) and dump.startswith(b"PGDMP")
    assert manifest["sha256"] == hashlib.sha256(dump).hexdigest()
    assert manifest["tables"] == {table: len(rows) for table, rows in before.items()}
    assert manifest["schema_version"] == max(m.version for m in load_migrations())
    assert manifest["server_version_num"] >= 150000
    assert manifest["database"] == installation.name

    drop_database(installation.admin_url, installation.name)
    restore = photostore(installation.env, "restore", "--from", "latest")
    assert restore.returncode == 0, restore.stdout + restore.stderr
    restored = restore.last("restore.finished")["database"]
    assert restored == f"{installation.name}_restore_{finished['backup'].lower().replace('-', '_')}"
    compared = {e["table"]: e["match"] for e in restore.events if e["event"] == "restore.table"}
    assert compared == {table: True for table in before}

    after = all_rows(url_of(installation.admin_url, restored))
    assert after.keys() == before.keys()
    for table, rows in before.items():
        assert after[table] == rows, f"{table} differs after the restore"
    with psycopg.connect(url_of(installation.admin_url, restored)) as conn:
        near = conn.execute(
            """SELECT count(*) FROM photos WHERE 'holiday' = ANY(tags)
               AND metadata @> '{"album": "a2"}'
               AND ST_DWithin(location, ST_MakePoint(2.35, 48.85)::geography, 5000)"""
        ).fetchone()
    assert near is not None and near[0] > 0, "tags, JSONB and PostGIS queries work on the restore"


def test_restore_into_an_existing_database_needs_in_place(installation: Installation) -> None:
    seed(installation.url, users=1, photos_per_user=3)
    assert photostore(installation.env, "backup").returncode == 0
    refused = photostore(
        installation.env, "restore", "--from", "latest", "--target-database", installation.name
    )
    assert refused.returncode == 1
    assert f"database {installation.name} exists" in refused.last("restore.failed")["error"]


def test_in_place_restore_asks_for_confirmation_then_puts_the_rows_back(
    installation: Installation,
) -> None:
    seed(installation.url, users=2, photos_per_user=5)
    before = all_rows(installation.url)
    assert photostore(installation.env, "backup").returncode == 0
    with psycopg.connect(installation.url) as conn:
        conn.execute("DELETE FROM photos WHERE processing_status = 'pending'")
        conn.execute("INSERT INTO users (email, password_hash) VALUES ('late@example.com', 'x')")
    changed = all_rows(installation.url)
    assert changed != before

    unconfirmed = photostore(installation.env, "restore", "--from", "latest", "--in-place")
    assert unconfirmed.returncode == 1
    assert "not confirmed" in unconfirmed.last("restore.failed")["error"]
    assert all_rows(installation.url) == changed, "nothing changed without confirmation"

    confirmed = photostore(installation.env, "restore", "--from", "latest", "--in-place", "--yes")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert confirmed.last("restore.finished")["database"] == installation.name
    assert all_rows(installation.url) == before


def test_restore_refuses_a_dump_corrupted_by_one_byte(installation: Installation, s3: Any) -> None:
    seed(installation.url, users=2, photos_per_user=10)
    backup = photostore(installation.env, "backup")
    assert backup.returncode == 0
    backup_id = backup.last("backup.finished")["backup"]
    key = f"{installation.prefix}{backup_id}.dump"
    dump = bytearray(s3.get_object(Bucket=installation.bucket, Key=key)["Body"].read())
    dump[len(dump) // 2] ^= 0x01
    s3.put_object(Bucket=installation.bucket, Key=key, Body=bytes(dump))

    restore = photostore(installation.env, "restore", "--from", backup_id)
    assert restore.returncode == 1
    error = restore.last("restore.failed")["error"]
    assert f"s3://{installation.bucket}/{key} is corrupt" in error
    target = f"{installation.name}_restore_{backup_id.lower().replace('-', '_')}"
    assert not database_exists(installation.admin_url, target), "nothing was restored"
