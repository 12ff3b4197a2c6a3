"""`photostore backup`: pg_dump streamed to S3 as a checked multipart upload, manifest last.

The dump and the manifest's row counts come from one snapshot: this process opens a
REPEATABLE READ transaction, exports its snapshot, hands it to `pg_dump --snapshot` and
counts the rows in that same transaction while pg_dump runs. A pg_dump that fails (exit
status not 0) aborts the upload before it is completed, and no manifest is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import psycopg

from photostore.backup import database
from photostore.backup.config import Settings
from photostore.backup.errors import BackupError
from photostore.backup.manifest import Manifest, new_backup_id
from photostore.backup.pg_programs import check_client_fits_server, process_connection, program
from photostore.backup.report import Clock, Reporter, human_size, utc_now
from photostore.backup.retention import expired_backups, leftover_keys
from photostore.backup.store import BackupStore, split_key
from photostore.object_writer import ObjectWriter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
READ_CHUNK = 1 * MIB
DUMP_APPLICATION_NAME = "photostore-backup-dump"
CONTENT_TYPE = "application/vnd.postgresql.custom-dump"


@dataclass(frozen=True)
class DumpResult:
    size: int
    sha256: str
    stored_checksum: str
    seconds: float


def sweep_leftovers(
    store: BackupStore, settings: Settings, now: Clock, report: Reporter
) -> list[str]:
    """Delete dumps without a manifest and unfinished uploads older than the leftover age."""
    older_than = timedelta(hours=settings.backup_leftover_hours)
    objects = store.objects()
    id_of: dict[str, str] = {}
    backup_ids: set[str] = set()
    for key in objects:
        parsed = split_key(store.prefix, key)
        if parsed is None:
            continue
        if parsed[1] == "manifest":
            backup_ids.add(parsed[0])
        else:
            id_of[key] = parsed[0]
    at = now()
    last_modified = {key: obj.last_modified for key, obj in objects.items()}
    removed = leftover_keys(last_modified, backup_ids, id_of=id_of, now=at, older_than=older_than)
    for key in removed:
        store.delete_key(key)
        report("backup.leftover_deleted", message="no manifest", key=store.url(key))
    for key, upload_id, initiated in store.unfinished_uploads():
        if initiated < at - older_than:
            store.abort_upload(key, upload_id)
            removed.append(key)
            report("backup.upload_aborted", message="unfinished upload", key=store.url(key))
    return removed


def apply_retention(store: BackupStore, days: int, now: Clock, report: Reporter) -> list[str]:
    """Delete backups older than `days` by their manifests' times; never the newest."""
    expired = expired_backups((b.manifest for b in store.backups()), now(), days)
    for backup_id in expired:
        store.delete_backup(backup_id)
        report("backup.expired", message=f"older than {days} days", backup=backup_id)
    return expired


async def stream_dump(
    command: list[str], env: dict[str, str], writer: ObjectWriter, part_bytes: int, report: Reporter
) -> DumpResult:
    """Run pg_dump into `writer`; complete the upload only if pg_dump exited with 0."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=4 * READ_CHUNK,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr = asyncio.create_task(proc.stderr.read())
    size = 0
    next_report = part_bytes
    try:
        while chunk := await proc.stdout.read(READ_CHUNK):
            await writer.write(chunk)
            size += len(chunk)
            if size >= next_report:
                next_report += part_bytes
                elapsed = max(time.monotonic() - started, 1e-9)
                report("backup.progress", bytes=size, mib_per_s=round(size / MIB / elapsed, 1))
        status = await proc.wait()
        errors = (await stderr).decode(errors="replace").strip()
        if status != 0:
            raise BackupError(f"pg_dump failed (exit status {status}): {errors[-2000:]}")
        if size == 0:
            raise BackupError("pg_dump wrote nothing")
        await writer.close()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr.cancel()
        await writer.discard()
        raise
    return DumpResult(size, writer.sha256, writer.stored_checksum, time.monotonic() - started)


async def run_backup(
    settings: Settings,
    s3: S3Client,
    report: Reporter,
    clock: Clock = utc_now,
    retention_days: int | None = None,
) -> Manifest:
    """One backup: sweep leftovers, dump, manifest, then retention. Raises BackupError."""
    store = BackupStore(s3, settings.bucket(), settings.backup_prefix)
    sweep_leftovers(store, settings, clock, report)
    params = settings.database_params()
    pg_dump = program(settings, "pg_dump")
    with psycopg.connect(settings.conninfo(), application_name="photostore-backup") as conn:
        version, version_num = database.server_version(conn)
        pg_dump_version = check_client_fits_server(pg_dump, version_num // 10000)
        conn.commit()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        snapshot = str(row[0])
        schema = database.schema_version(conn)
        created_at = clock()
        backup_id = new_backup_id(created_at)
        key = store.key(backup_id, "dump")
        report(
            "backup.started",
            message=f"dumping {params['dbname']} to {store.url(key)}",
            backup=backup_id,
            server_version=version,
        )
        conninfo, env = process_connection(params, DUMP_APPLICATION_NAME)
        command = [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password"]
        writer = ObjectWriter(
            s3,
            store.bucket,
            key,
            CONTENT_TYPE,
            part_size=settings.backup_part_bytes,
            max_in_flight=settings.backup_parts_in_flight,
        )
        # Counted in the exported snapshot while pg_dump copies the same rows.
        counting = asyncio.create_task(asyncio.to_thread(database.row_counts, conn))
        try:
            dumped = await stream_dump(
                [*command, f"--dbname={conninfo}"], env, writer, settings.backup_part_bytes, report
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await counting
            raise
        tables = await counting
        conn.rollback()
    # S3 checked every part against its SHA-256; this checks that it assembled those parts.
    stored = s3.head_object(Bucket=store.bucket, Key=key, ChecksumMode="ENABLED")
    checksum = stored.get("ChecksumSHA256")
    if stored["ContentLength"] != dumped.size or checksum not in (None, dumped.stored_checksum):
        store.delete_key(key)
        raise BackupError(
            f"{store.url(key)} is not what pg_dump wrote: {stored['ContentLength']} bytes, "
            f"checksum {checksum}; expected {dumped.size} bytes, {dumped.stored_checksum}"
        )
    manifest = Manifest(
        id=backup_id,
        created_at=created_at,
        finished_at=clock(),
        database=params["dbname"],
        dump_key=key,
        size=dumped.size,
        sha256=dumped.sha256,
        server_version=version,
        server_version_num=version_num,
        pg_dump_version=pg_dump_version,
        schema_version=schema,
        tables=tables,
    )
    store.write_manifest(manifest)
    expired = apply_retention(
        store, retention_days or settings.backup_retention_days, clock, report
    )
    report(
        "backup.finished",
        message=(
            f"backup {backup_id}: {human_size(dumped.size)} in {dumped.seconds:.1f} s, "
            f"{sum(tables.values())} rows in {len(tables)} tables, {len(expired)} expired"
        ),
        backup=backup_id,
        size=dumped.size,
        sha256=dumped.sha256,
        seconds=round(dumped.seconds, 3),
        tables=len(tables),
        rows=sum(tables.values()),
        schema_version=schema,
        expired=expired,
    )
    return manifest
