"""The command lines: `photostore backup [list|verify]` and `photostore restore`.

Exit status: 0 done, 1 the backup, restore or verification did not succeed (the last
event says why), 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from photostore.backup.config import Settings
from photostore.backup.errors import BackupError
from photostore.backup.report import Reporter, human_age, human_size, reporter_for
from photostore.backup.store import BackupStore
from photostore.storage import create_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")
# What ends a command with exit status 1 and its message, rather than a traceback.
FAILURES = (BackupError, psycopg.Error, ClientError, BotoCoreError, OSError)


def s3_for(settings: Settings) -> S3Client:
    return create_s3_client(
        region=settings.s3_region,
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key.get_secret_value() if settings.s3_access_key else None,
        secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
        read_timeout=120.0,
        max_attempts=3,
        max_pool_connections=settings.backup_parts_in_flight + 4,
        caller_checksums=True,
    )


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        print(f"bad backup settings: {exc}", file=sys.stderr)
        sys.exit(2)


def _fail(report: Reporter, event: str, exc: BaseException) -> NoReturn:
    report(event, message=f"error: {exc}", error=str(exc))
    if sys.stdout.isatty():
        sys.stdout.flush()
    sys.exit(1)


async def _cancel_on_sigterm(work: Coroutine[Any, Any, T]) -> T:
    """A Job's SIGTERM cancels the backup, which aborts the upload on its way out."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def backup_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="photostore backup",
        description="Dump the database to S3 (manifest last), then apply retention.",
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        default=None,
        help="delete backups older than this (default $PHOTOSTORE_BACKUP_RETENTION_DAYS or 30)",
    )
    actions = parser.add_subparsers(dest="action", metavar="{list,verify}")
    actions.add_parser("list", help="backups, sizes, ages and whether each was verified")
    verify = actions.add_parser(
        "verify", help="restore a backup into a scratch database and check its row counts"
    )
    verify.add_argument("--backup", default="latest", help="backup id (default: the newest)")
    args = parser.parse_args(argv)
    if args.retention_days is not None and args.retention_days < 1:
        parser.error("--retention-days must be at least 1")
    settings = _settings()
    report = reporter_for(sys.stdout)
    s3 = s3_for(settings)
    if args.action == "list":
        try:
            list_backups(settings, s3, report)
        except FAILURES as exc:
            _fail(report, "backup.failed", exc)
        return
    if args.action == "verify":
        from photostore.backup.verify import verify_backup

        try:
            verification = verify_backup(settings, s3, report, which=args.backup)
        except FAILURES as exc:
            _fail(report, "verify.failed", exc)
        sys.exit(0 if verification.ok else 1)
    from photostore.backup.dump import run_backup

    try:
        asyncio.run(
            _cancel_on_sigterm(run_backup(settings, s3, report, retention_days=args.retention_days))
        )
    except FAILURES as exc:
        _fail(report, "backup.failed", exc)
    except asyncio.CancelledError:
        report("backup.failed", message="stopped by SIGTERM; upload aborted", error="SIGTERM")
        sys.exit(143)


def list_backups(settings: Settings, s3: S3Client, report: Reporter) -> None:
    store = BackupStore(s3, settings.bucket(), settings.backup_prefix)
    backups = store.backups()
    now = datetime.now(UTC)
    if not sys.stdout.isatty():
        for b in backups:
            report(
                "backup.listed",
                backup=b.id,
                created_at=b.manifest.created_at.isoformat(),
                age_seconds=round((now - b.manifest.created_at).total_seconds()),
                size=b.manifest.size,
                schema_version=b.manifest.schema_version,
                rows=sum(b.manifest.tables.values()),
                verified=b.verified,
                verified_at=b.verification.checked_at.isoformat() if b.verification else None,
            )
        return
    print(f"backups in {store.url(store.prefix)}")
    print(f"{'ID':<24} {'CREATED (UTC)':<20} {'AGE':>7} {'SIZE':>10} {'SCHEMA':>6}  VERIFIED")
    for b in backups:
        m = b.manifest
        if b.verified:
            verified = f"yes ({b.verification.checked_at:%Y-%m-%d %H:%M})"  # type: ignore[union-attr]
        elif b.verification is not None and b.verification.manifest_sha256 == b.manifest_sha256:
            verified = "FAILED"
        else:
            verified = "no"
        print(
            f"{b.id:<24} {m.created_at:%Y-%m-%d %H:%M:%S} "
            f"{human_age((now - m.created_at).total_seconds()):>7} {human_size(m.size):>10} "
            f"{m.schema_version!s:>6}  {verified}"
        )
    print(f"{len(backups)} backups")


def _confirm(yes: bool) -> Callable[[str], bool]:
    def confirm(name: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            print("--in-place replaces the database: add --yes to confirm", file=sys.stderr)
            return False
        answer = input(f"This replaces everything in database {name}. Type its name to go on: ")
        return answer.strip() == name

    return confirm


def restore_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="photostore restore",
        description="Restore a backup into a new database (or in place) and check row counts.",
    )
    parser.add_argument(
        "--from", dest="which", required=True, help="`latest` or a backup id (backup list)"
    )
    parser.add_argument(
        "--target-database", help="name of the new database (default <db>_restore_<id>)"
    )
    parser.add_argument(
        "--in-place", action="store_true", help="restore over the configured database"
    )
    parser.add_argument("--yes", action="store_true", help="confirm --in-place without asking")
    args = parser.parse_args(argv)
    if args.in_place and args.target_database:
        parser.error("--in-place and --target-database exclude each other")
    settings = _settings()
    report = reporter_for(sys.stdout)
    from photostore.backup.restore import restore_backup

    try:
        result = restore_backup(
            settings,
            s3_for(settings),
            report,
            which=args.which,
            target=args.target_database,
            in_place=args.in_place,
            confirm=_confirm(args.yes),
        )
    except FAILURES as exc:
        _fail(report, "restore.failed", exc)
    sys.exit(0 if result.ok else 1)
