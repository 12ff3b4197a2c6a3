"""`photostore restore` and the restore half of `photostore backup verify`.

The dump is downloaded and its SHA-256 checked against the manifest before pg_restore sees
a byte of it, so a corrupt dump never touches a database. pg_restore runs in one
transaction: a restore that fails part way leaves the target as it was.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from photostore.backup import database
from photostore.backup.config import Settings
from photostore.backup.errors import BackupError
from photostore.backup.manifest import RowCountDifference, compare_counts
from photostore.backup.pg_programs import process_connection, program
from photostore.backup.report import Reporter, human_size
from photostore.backup.store import BackupStore, StoredBackup

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_IDENTIFIER = 63
RESTORE_OPTIONS = [
    "--clean",
    "--if-exists",
    "--no-owner",
    "--no-privileges",
    "--single-transaction",
]


@dataclass(frozen=True)
class RestoreResult:
    backup: StoredBackup
    database: str
    expected: dict[str, int]
    actual: dict[str, int]
    differences: list[RowCountDifference] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences


def default_target(source: str, backup_id: str, purpose: str = "restore") -> str:
    """`<source>_<purpose>_<id>`, lower case, cut to PostgreSQL's 63-byte identifier limit."""
    suffix = f"_{purpose}_{backup_id.lower().replace('-', '_')}"
    return source[: MAX_IDENTIFIER - len(suffix)] + suffix


def fetch_dump(store: BackupStore, backup: StoredBackup, folder: Path, report: Reporter) -> Path:
    """Download the dump and refuse it unless its size and SHA-256 match the manifest."""
    manifest = backup.manifest
    path = folder / f"{backup.id}.dump"
    report(
        "restore.download",
        message=f"fetching {store.url(manifest.dump_key)} ({human_size(manifest.size)})",
        backup=backup.id,
    )
    size, digest = store.download(manifest.dump_key, path)
    if size != manifest.size or digest != manifest.sha256:
        path.unlink(missing_ok=True)
        raise BackupError(
            f"{store.url(manifest.dump_key)} is corrupt: {size} bytes with SHA-256 {digest}, "
            f"but its manifest says {manifest.size} bytes with SHA-256 {manifest.sha256}; "
            "not restoring it"
        )
    return path


def run_pg_restore(settings: Settings, dump: Path, target: str) -> None:
    conninfo, env = process_connection(
        settings.database_params(dbname=target), "photostore-restore"
    )
    command = [
        program(settings, "pg_restore"),
        *RESTORE_OPTIONS,
        "--no-password",
        f"--dbname={conninfo}",
        str(dump),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            f"pg_restore into {target} failed (exit status {done.returncode}); nothing of it "
            f"was kept: {done.stderr.strip()[-2000:]}"
        )


def count_rows(settings: Settings, dbname: str) -> dict[str, int]:
    with psycopg.connect(settings.conninfo(dbname)) as conn:
        return database.row_counts(conn)


def admin_connection(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the server's `postgres` database, for CREATE and DROP DATABASE: the
    configured database may be the one that is gone."""
    return psycopg.connect(settings.conninfo("postgres"), autocommit=True)


def restore_backup(
    settings: Settings,
    s3: S3Client,
    report: Reporter,
    *,
    which: str = "latest",
    target: str | None = None,
    in_place: bool = False,
    confirm: Callable[[str], bool] = lambda _: False,
    purpose: str = "restore",
) -> RestoreResult:
    """Restore one backup and compare every table's row count with its manifest.

    Without `in_place` the target is a new database (created here; one that exists is
    refused). With `in_place` the configured database is restored over, once `confirm`
    (asked with the database's name) says yes.
    """
    store = BackupStore(s3, settings.bucket(), settings.backup_prefix)
    backup = store.resolve(which)
    source = settings.database_name_resolved
    name = source if in_place else target or default_target(source, backup.id, purpose)
    if in_place and target not in (None, source):
        raise BackupError("--in-place restores the configured database; drop --target-database")
    with admin_connection(settings) as admin:
        exists = database.database_exists(admin, name)
    if exists and not in_place:
        raise BackupError(f"database {name} exists: name a new one, or restore --in-place")
    if in_place and not confirm(name):
        raise BackupError(f"not confirmed: {name} was left as it was")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(
        prefix="photostore-restore-", dir=settings.backup_work_dir
    ) as tmp:
        dump = fetch_dump(store, backup, Path(tmp), report)
        created = False
        if not exists:
            with admin_connection(settings) as admin:
                database.create_database(admin, name)
            created = True
        report(
            "restore.started",
            message=f"restoring backup {backup.id} into {name}",
            backup=backup.id,
            database=name,
            in_place=in_place,
        )
        try:
            run_pg_restore(settings, dump, name)
        except BaseException:
            if created:
                with admin_connection(settings) as admin:
                    database.drop_database(admin, name)
            raise
    actual = count_rows(settings, name)
    expected = backup.manifest.tables
    result = RestoreResult(
        backup=backup,
        database=name,
        expected=expected,
        actual=actual,
        differences=compare_counts(expected, actual),
        seconds=time.monotonic() - started,
    )
    for table in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(table), actual.get(table)
        report(
            "restore.table",
            message=f"  {table:<40} manifest {want!s:>12}  restored {got!s:>12}  "
            + ("ok" if want == got else "DIFFERENT"),
            table=table,
            manifest=want,
            restored=got,
            match=want == got,
        )
    report(
        "restore.finished",
        message=(
            f"backup {backup.id} restored into {name} in {result.seconds:.1f} s: "
            + (
                "every table's row count matches the manifest"
                if result.ok
                else f"{len(result.differences)} tables differ from the manifest"
            )
        ),
        backup=backup.id,
        database=name,
        ok=result.ok,
        seconds=round(result.seconds, 3),
        differences=[d.model_dump() for d in result.differences],
    )
    return result
