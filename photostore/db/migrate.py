"""Versioned SQL migrations, applied under a PostgreSQL advisory lock.

Files are `photostore/db/migrations/NNNN_name.sql`, applied in order of NNNN, each in its
own transaction, and recorded in `schema_migrations` (version, name, SHA-256 of the file,
applied_at). An applied file whose checksum changed is an error: migrations are append-only.
Two `photostore migrate` runs at once are safe: the second waits for the advisory lock and
then finds nothing left to do. A read replica is refused with a clear error: migrations
run on the primary only.

A file whose first line is ``-- photostore: no-transaction`` runs statement by statement,
each on its own outside a transaction, as ``CREATE INDEX CONCURRENTLY`` needs; it is
recorded once every statement succeeded. Its statements are split at semicolons that end a
line, so a function body there has no semicolon ending a line, and each statement must be
safe to run again (IF NOT EXISTS, IF EXISTS, OR REPLACE): a run that failed half-way is
simply run again. A concurrent index build that failed leaves an INVALID index behind,
which IF NOT EXISTS would keep; before running such a file, the runner drops (concurrently)
every INVALID index the file creates.

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

Indexes: (user_id, created_at DESC, id DESC) for keyset pagination; unique (user_id, sha256)
among rows with deleted_at IS NULL; and, each reading one user's rows: GiST on (user_id,
location) and btree on (user_id, each 16-bit band of phash: ``(phash >> 16*i) & 65535``,
i = 0..3) (0004); GiST on (user_id, filename trigrams) and GIN on
``photo_search_keys(user_id, tags, metadata)``, hashes of (user, tag) and (user, metadata
field and value) (0005).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# Any constant works; this one is "photostore" folded into 63 bits, so it will not
# collide with another application's lock by accident.
ADVISORY_LOCK_ID = int.from_bytes(hashlib.sha256(b"photostore.migrate").digest()[:8]) >> 1

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
NO_TRANSACTION_MARKER = "-- photostore: no-transaction"
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")
_CONCURRENT_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE
)
# How often a second runner tries the advisory lock while the first one works.
LOCK_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION_MARKER)

    def statements(self) -> list[str]:
        """A no-transaction file's statements (comments kept, empty parts left out)."""
        parts = (part.strip() for part in _STATEMENT_END.split(self.sql))
        return [part for part in parts if _without_comments(part)]

    def concurrent_indexes(self) -> list[str]:
        """Names of the indexes the file builds with CREATE INDEX CONCURRENTLY IF NOT EXISTS."""
        return _CONCURRENT_INDEX.findall(self.sql)


def _without_comments(statement: str) -> str:
    lines = (line.split("--", 1)[0] for line in statement.splitlines())
    return "".join(lines).strip()


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
        _lock(conn)
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
            if migration.transactional:
                with conn.transaction():
                    # bytes: run the file as one simple-protocol script (several statements).
                    conn.execute(migration.sql.encode())
                    _record(conn, migration)
            else:
                _run_without_transaction(conn, migration)
                _record(conn, migration)
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied_now.append(migration.version)
    return applied_now


def _lock(conn: psycopg.Connection[Any]) -> None:
    """Take the session advisory lock (released when the connection closes, even on a crash).

    Polled rather than waited for: a statement waiting for the lock holds a snapshot, and
    CREATE INDEX CONCURRENTLY in the runner that holds the lock waits for every older snapshot
    to end, which would be a deadlock.
    """
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_ID,)).fetchone()
        if row is not None and row[0]:
            return
        time.sleep(LOCK_POLL_SECONDS)


def _record(conn: psycopg.Connection[Any], migration: Migration) -> None:
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
        (migration.version, migration.name, migration.checksum),
    )


def _run_without_transaction(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """Run a no-transaction file statement by statement, after dropping its INVALID indexes."""
    invalid = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE NOT i.indisvalid AND c.relname = ANY(%s)"
        " AND pg_table_is_visible(c.oid)",
        (migration.concurrent_indexes(),),
    ).fetchall()
    for (name,) in invalid:
        log.warning("dropping index %s left INVALID by an earlier failed build", name)
        conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(str(name)))
        )
    for statement in migration.statements():
        conn.execute(statement.encode())


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
