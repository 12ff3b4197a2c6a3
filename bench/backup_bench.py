"""Backup benchmark against the local PostgreSQL and S3: `make bench-backup`.

Works on a database of --photos photo rows (default 500,000) with tags, JSONB metadata,
EXIF, hashes and PostGIS points, built once with generate_series and kept between runs
(`photostore_bench_backup`; --rebuild makes it again). Each run uses a bucket of its own.
Prints `RESULT name value unit` lines:
  backup_mb_s / pg_dump_devnull_mb_s / backup_ratio
      `photostore backup` (pg_dump -Fc streamed to S3 in checked parts, row counts, manifest)
      against `pg_dump -Fc > /dev/null` of the same database; goal: ratio >= 0.8
  restore_s / pg_restore_s / restore_ratio
      `photostore restore` (download, SHA-256 check, new database, pg_restore, row counts)
      against a bare pg_restore of the same file with the same options into a new
      database; ratio = pg_restore_s / restore_s; goal: >= 0.8
  verify_s / verify_extra_s / verify_over_restore
      `photostore backup verify` (restore into a scratch database, compare, drop, record)
      and what it costs beyond `photostore restore`
Each figure is the best of --repeat runs, the sides interleaved (each goes first in turn).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from photostore.backup.cli import s3_for
from photostore.backup.config import Settings
from photostore.backup.dump import run_backup
from photostore.backup.pg_programs import process_connection, program
from photostore.backup.restore import RESTORE_OPTIONS, restore_backup
from photostore.backup.verify import verify_backup
from photostore.db.migrate import apply_migrations
from photostore.local_env import read_env_file
from photostore.storage import delete_prefix, ensure_bucket

T = TypeVar("T")
DB_NAME = "photostore_bench_backup"
# Photos spread over the users, with every kind of column the API and processor write.
PHOTOS = sql.SQL(
    """WITH owners AS (SELECT array_agg(id ORDER BY email) AS ids FROM users)
    INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256, tags,
        metadata, created_at, processing_status, processed_at, width, height, taken_at,
        camera_make, camera_model, location, exif, ahash, dhash, phash, blur_score,
        dominant_colors, thumbnails)
    SELECT p.id, owners.ids[1 + n % 1000], 'IMG_' || n || '.jpg',
        'originals/' || owners.ids[1 + n % 1000] || '/' || p.id, 100000 + n % 9000000,
        'image/jpeg', encode(sha256(p.id::text::bytea), 'hex'),
        ARRAY['tag' || n % 50, 'album' || n % 200],
        jsonb_build_object('album', 'album' || n % 200, 'rating', n % 5,
                           'note', md5(n::text), 'people', jsonb_build_array(n % 97)),
        now() - n * interval '1 minute', 'done', now(), 4032, 3024,
        now() - n * interval '1 minute', 'Canon', 'EOS ' || n % 10,
        ST_SetSRID(ST_MakePoint(-180 + (n * 7) % 360, -80 + (n * 3) % 160), 4326)::geography,
        jsonb_build_object('ISO', 100 * (1 + n % 32), 'FNumber', 1.8 + n % 10,
                           'ExposureTime', '1/' || (60 + n % 1000)),
        hashtextextended(p.id::text, 1), hashtextextended(p.id::text, 2),
        hashtextextended(p.id::text, 3), (n % 1000) / 10.0,
        jsonb_build_array(jsonb_build_array(n % 256, n * 7 % 256, n * 13 % 256)),
        jsonb_build_object('grid', 'thumbnails/' || p.id || '/grid.webp',
                           'preview', 'thumbnails/' || p.id || '/preview.jpg')
    FROM owners, generate_series(1, {photos}) n
    CROSS JOIN LATERAL (SELECT md5('photostore-bench' || n)::uuid AS id) p"""
)
MB = 1_000_000


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name} {value:.3f} {unit}", flush=True)


def quiet(*_: Any, **__: Any) -> None:
    """Reporter that drops events: the benchmark prints only its figures."""


def execute(url: str, statement: str | sql.Composed, autocommit: bool = True) -> None:
    with psycopg.connect(url, autocommit=autocommit) as conn:
        conn.execute(statement)


def create(name: str) -> sql.Composed:
    return sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))


def drop(name: str) -> sql.Composed:
    return sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))


def photo_count(url: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM photos").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return -1


def build_database(admin_url: str, url: str, photos: int) -> None:
    """The schema with `photos` rows in 1,000 users' libraries."""
    execute(admin_url, drop(DB_NAME))
    execute(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    apply_migrations(url)
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO users (id, email, password_hash)
               SELECT gen_random_uuid(), 'bench' || i || '@example.com', md5(i::text)
               FROM generate_series(1, 1000) i"""
        )
        conn.execute(PHOTOS.format(photos=sql.Literal(photos)))
    execute(url, "VACUUM ANALYZE")
    print(f"# built {DB_NAME}: {photos} photos in {time.monotonic() - started:.0f} s", flush=True)


def timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    env = read_env_file()
    admin_url = env["PHOTOSTORE_DATABASE_URL"]
    url = make_conninfo(admin_url, dbname=DB_NAME)
    if args.rebuild or photo_count(url) < args.photos:
        build_database(admin_url, url, args.photos)
    print(f"# {DB_NAME}: {photo_count(url)} photos", flush=True)

    run = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=url,
        backup_bucket=f"bench-backup-{run}",
        backup_prefix="backups/bench/",
        s3_endpoint=env["PHOTOSTORE_S3_ENDPOINT"],
        s3_region=env["PHOTOSTORE_S3_REGION"],
        s3_access_key=env["PHOTOSTORE_S3_ACCESS_KEY"],
        s3_secret_key=env["PHOTOSTORE_S3_SECRET_KEY"],
        backup_retention_days=3650,
    )
    s3 = s3_for(settings)
    ensure_bucket(s3, settings.bucket(), settings.s3_region)
    dump_conninfo, dump_env = process_connection(settings.database_params(), "bench-pg-dump")
    pg_dump, pg_restore = program(settings, "pg_dump"), program(settings, "pg_restore")
    scratch = f"{DB_NAME}_bare_{run}"
    restored: list[str] = []
    try:
        bare_dump: list[float] = []
        ours: list[float] = []
        size = 0
        for i in range(args.repeat):
            # Each side goes first every other time, so neither gets the warmer caches.
            for side in ("bare", "ours") if i % 2 == 0 else ("ours", "bare"):
                if side == "bare":
                    seconds, _ = timed(
                        lambda: subprocess.run(
                            [pg_dump, "-Fc", f"--dbname={dump_conninfo}"],
                            env=dump_env,
                            stdout=subprocess.DEVNULL,
                            check=True,
                        )
                    )
                    bare_dump.append(seconds)
                else:
                    seconds, manifest = timed(lambda: asyncio.run(run_backup(settings, s3, quiet)))
                    ours.append(seconds)
                    size = manifest.size
        result("dump_size", size / MB, "MB")
        result("backup_mb_s", size / MB / min(ours), "MB/s")
        result("pg_dump_devnull_mb_s", size / MB / min(bare_dump), "MB/s")
        result("backup_ratio", min(bare_dump) / min(ours), "x")

        with tempfile.TemporaryDirectory() as tmp:
            dump_file = Path(tmp) / "bench.dump"
            key = f"{settings.backup_prefix}{manifest.id}.dump"
            s3.download_file(settings.bucket(), key, str(dump_file))
            restore_conninfo, restore_env = process_connection(
                settings.database_params(dbname=scratch), "bench-pg-restore"
            )
            bare_restore: list[float] = []
            our_restore: list[float] = []
            verify: list[float] = []

            def restore_bare() -> None:
                execute(admin_url, create(scratch))
                seconds, _ = timed(
                    lambda: subprocess.run(
                        [
                            pg_restore,
                            *RESTORE_OPTIONS,
                            f"--dbname={restore_conninfo}",
                            str(dump_file),
                        ],
                        env=restore_env,
                        check=True,
                    )
                )
                bare_restore.append(seconds)
                execute(admin_url, drop(scratch))

            def restore_ours() -> None:
                target = f"{DB_NAME}_restore_{run}_{len(our_restore)}"
                restored.append(target)
                seconds, outcome = timed(
                    functools.partial(
                        restore_backup, settings, s3, quiet, which="latest", target=target
                    )
                )
                assert outcome.ok
                our_restore.append(seconds)
                execute(admin_url, drop(target))

            def verify_ours() -> None:
                seconds, verification = timed(lambda: verify_backup(settings, s3, quiet))
                assert verification.ok
                verify.append(seconds)

            for i in range(args.repeat):
                steps = [restore_bare, restore_ours, verify_ours]
                for step in steps[i % 3 :] + steps[: i % 3]:
                    step()
        result("pg_restore_s", min(bare_restore), "s")
        result("restore_s", min(our_restore), "s")
        result("restore_ratio", min(bare_restore) / min(our_restore), "x")
        result("verify_s", min(verify), "s")
        result("verify_extra_s", min(verify) - min(our_restore), "s")
        result("verify_over_restore", min(verify) / min(our_restore), "x")
    finally:
        for name in [scratch, *restored]:
            execute(admin_url, drop(name))
        delete_prefix(s3, settings.bucket(), "")
        s3.delete_bucket(Bucket=settings.bucket())


if __name__ == "__main__":
    main()
