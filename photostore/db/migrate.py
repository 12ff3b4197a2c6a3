"""Versioned SQL migrations, applied under a PostgreSQL advisory lock.

Files are `photostore/db/migrations/NNNN_name.sql`, applied in order of NNNN, each in its
own transaction, and recorded in `schema_migrations` (version, name, SHA-256 of the file,
applied_at). An applied file whose checksum changed is an error: migrations are append-only.
Two `photostore migrate` runs at once are safe: the second waits on the advisory lock and
then finds nothing left to do. A read replica is refused with a clear error: migrations
run on the primary only.

Schema contract (other components code against these names; change them only by a new
migration, and tell the processor and the operator):

- ``users(id uuid, email text unique on lower(email), password_hash text, created_at,
  disabled_at, credential_epoch bigint)`` -- raised whenever a credential of the user ends
- ``sessions(token_hash bytea, user_id, expires_at, revoked_at)`` -- login bearer tokens
- ``api_keys(id, user_id, name, key_hash bytea, prefix, created_at, last_used_at, revoked_at)``
- ``photos``: written by the API at upload -- ``id uuid, user_id, filename, s3_key
  ('originals/{user_id}/{photo_id}'), size bigint, content_type, sha256 (64 hex chars),
  tags text[], metadata jsonb, created_at, updated_at, deleted_at`` (soft delete = trash);
  written by the processor -- ``processing_status`` ('pending' | 'processing' | 'done' |
  'failed', default 'pending'), ``processing_error, processed_at, width, height, taken_at,
  camera_make, camera_model, location geography(Point,4326), exif jsonb, ahash, dhash, phash
  (bigint: 64-bit hashes stored as signed), blur_score double precision, dominant_colors
  jsonb, color_histogram jsonb, thumbnails jsonb`` (name -> object key, e.g.
  ``{"grid": "thumbnails/{id}/grid.webp", "preview": "thumbnails/{id}/preview.jpg"}``),
  ``processing_attempts int`` (times processing started; 0002). ``exif`` may hold
  ``exif_warnings`` (EXIF fields the processor dropped as malformed).
  A writer of processor columns should also set ``updated_at = now()``.
- ``outbox(id bigserial, topic, key, payload jsonb, created_at, attempts, last_error,
  published_at)`` -- the transactional outbox the API relays to Kafka.
- ``object_cleanup(id, photo_id, s3_key, not_before)`` -- S3 objects that may exist without
  a photo row; swept once ``not_before`` has passed and no photo ``photo_id`` exists.

Indexes: (user_id, created_at DESC, id DESC) for keyset pagination; GIN on tags, trigram GIN
on filename, GIN jsonb_path_ops on metadata, GiST on location; unique (user_id, sha256) among
rows with deleted_at IS NULL.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

log = logging.getLogger(__name__)

# Any constant works; this one is "photostore" folded into 63 bits, so it will not
# collide with another application's lock by accident.
ADVISORY_LOCK_ID = int.from_bytes(hashlib.sha256(b"photostore.migrate").digest()[:8]) >> 1

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    """The database's recorded migrations disagree with the files shipped."""


def load_migrations() -> list[Migration]:
    """The migration files shipped in the package, ordered by version."""
    found: list[Migration] = []
    for entry in resources.files("photostore.db").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


def refuse_replica(conn: psycopg.Connection[Any]) -> None:
    """A read replica (a server in recovery) is never migrated: its schema is the primary's."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    if row is not None and row[0]:
        info = conn.info
        raise MigrationError(
            f"{info.host}:{info.port} is a read replica (in recovery); migrations run on the"
            " primary only: give its URL (PHOTOSTORE_DATABASE_URL), never a replica's"
        )


def apply_migrations(database_url: str, migrations: list[Migration] | None = None) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied by this call."""
    todo = load_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    with psycopg.connect(
        database_url, autocommit=True, application_name="photostore-migrate"
    ) as conn:
        refuse_replica(conn)
        # A session lock: released when this connection closes, even if we crash.
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    int PRIMARY KEY,
                   name       text NOT NULL,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        recorded = {int(version): str(checksum) for version, checksum in rows}
        for migration in todo:
            if migration.version in recorded:
                if recorded[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} changed after "
                        "it was applied; add a new migration instead"
                    )
                continue
            with conn.transaction():
                # bytes: run the file as one simple-protocol script (several statements).
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied_now.append(migration.version)
    return applied_now


def main(argv: list[str]) -> None:
    """`photostore migrate`: apply pending migrations to PHOTOSTORE_DATABASE_URL."""
    parser = argparse.ArgumentParser(prog="photostore migrate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PHOTOSTORE_DATABASE_URL", ""),
        help="libpq URL (default: $PHOTOSTORE_DATABASE_URL; PGUSER/PGPASSWORD also apply)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        applied = apply_migrations(args.database_url)
    except (psycopg.Error, MigrationError) as exc:
        log.error("migration failed: %s", exc)
        sys.exit(1)
    log.info("schema up to date (%d applied now)", len(applied))
