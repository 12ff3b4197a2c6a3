"""Data and commands for the backup tests: seeding the real schema, reading every row,
running `python -m photostore backup|restore` as a Job would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from photostore.backup.config import Settings
from photostore.backup.database import TABLES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def seed(url: str, users: int = 5, photos_per_user: int = 40) -> None:
    """Users and photos with tags, JSONB, PostGIS points and processor columns, plus a row
    in every other table of the schema."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO users (email, password_hash)
               SELECT 'user' || i || '@example.com', 'argon2$' || md5(i::text)
               FROM generate_series(1, %s) i""",
            (users,),
        )
        conn.execute(
            """INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,
                   tags, metadata, processing_status, width, height, taken_at, camera_make,
                   location, exif, ahash, dhash, phash, blur_score, dominant_colors,
                   thumbnails, deleted_at)
               SELECT gen_random_uuid(), u.id, 'IMG_' || n || '.jpg',
                   'originals/' || u.id || '/' || n, 1000 + n, 'image/jpeg',
                   encode(sha256((u.id::text || n)::bytea), 'hex'),
                   ARRAY['holiday', 'tag' || (n %% 7), 'ünïcode ' || (n %% 3)],
                   jsonb_build_object('album', 'a' || (n %% 4), 'n', n, 'nested',
                                      jsonb_build_object('x', n * 1.5, 'l', '[1,2]'::jsonb)),
                   CASE WHEN n %% 3 = 0 THEN 'done' ELSE 'pending' END,
                   4000, 3000, now() - n * interval '1 hour', 'Canon',
                   CASE WHEN n %% 2 = 0 THEN ST_SetSRID(
                       ST_MakePoint(2.35 + n / 1000.0, 48.85 - n / 1000.0), 4326)::geography
                   END,
                   jsonb_build_object('ISO', 100 + n),
                   (n * 7919)::bigint - 4611686018427387904, -n::bigint, n::bigint * 31,
                   n / 7.0, '[[255, 0, 0]]'::jsonb,
                   jsonb_build_object('grid', 'thumbnails/' || n || '/grid.webp'),
                   CASE WHEN n %% 10 = 0 THEN now() END
               FROM users u, generate_series(1, %s) n""",
            (photos_per_user,),
        )
        conn.execute(
            """INSERT INTO sessions (token_hash, user_id, expires_at)
               SELECT sha256(id::text::bytea), id, now() + interval '1 day' FROM users"""
        )
        conn.execute(
            """INSERT INTO api_keys (user_id, name, key_hash, prefix)
               SELECT id, 'ci', sha256(('k' || id)::bytea), 'pk_' || left(id::text, 6) FROM users"""
        )
        conn.execute(
            """INSERT INTO outbox (topic, key, payload)
               SELECT 'photoUpload', id::text, jsonb_build_object('photo_id', id) FROM photos
               LIMIT 10"""
        )
        conn.execute(
            """INSERT INTO object_cleanup (photo_id, s3_key, not_before)
               VALUES (gen_random_uuid(), 'originals/x/y', now() + interval '1 hour')"""
        )


def seed_bulk(url: str, rows: int) -> None:
    """Photos whose metadata does not compress well, to make a dump of several MiB."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO users (email, password_hash) VALUES ('bulk@example.com', 'x') "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(
            """INSERT INTO photos
                   (id, user_id, filename, s3_key, size, content_type, sha256, metadata)
               SELECT gen_random_uuid(), u.id, 'bulk' || n, 'originals/bulk/' || n, n,
                      'image/jpeg', encode(sha256(n::text::bytea), 'hex'),
                      jsonb_build_object('noise', (SELECT string_agg(md5(random()::text), '')
                                                   FROM generate_series(1, 24 + n %% 2)))
               FROM users u, generate_series(1, %s) n WHERE u.email = 'bulk@example.com'""",
            (rows,),
        )


def all_rows(url: str) -> dict[str, list[str]]:
    """Every row of every application table, as text, in a stable order."""
    with psycopg.connect(url) as conn:
        tables = [(str(s), str(t)) for s, t in conn.execute(TABLES).fetchall()]
        return {
            f"{schema}.{table}": [
                str(row[0])
                for row in conn.execute(
                    sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(
                        sql.Identifier(schema, table)
                    )
                ).fetchall()
            ]
            for schema, table in tables
        }


def database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return found is not None


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def url_of(admin_url: str, name: str) -> str:
    return make_conninfo(admin_url, dbname=name)


@dataclass
class Installation:
    """One database and one backup prefix: what a PhotoStorage's backup Job sees."""

    # URLs and env hold credentials: out of the repr, so a failing assertion never shows them.
    admin_url: str = field(repr=False)
    name: str
    url: str = field(repr=False)
    bucket: str
    prefix: str
    settings: Settings = field(repr=False)
    env: dict[str, str] = field(repr=False)


@dataclass
class CommandRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON line events (stdout is not a terminal here)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def last(self, event: str) -> dict[str, Any]:
        matching = [e for e in self.events if e["event"] == event]
        assert matching, f"no {event} event in {self.stdout}\n{self.stderr}"
        return matching[-1]


def photostore(env: dict[str, str], *args: str, timeout: float = 240) -> CommandRun:
    """`python -m photostore ARGS` with only `env` as its settings (plus PATH)."""
    done = subprocess.run(
        [sys.executable, "-m", "photostore", *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return CommandRun(done.returncode, done.stdout, done.stderr)
