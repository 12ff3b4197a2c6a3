"""`photostore backup verify`: restore a backup into a scratch database, compare every
table's row count with the manifest, drop the scratch database, record the outcome in S3."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from photostore.backup import database
from photostore.backup.config import Settings
from photostore.backup.errors import BackupError
from photostore.backup.manifest import Verification
from photostore.backup.report import Clock, Reporter, utc_now
from photostore.backup.restore import admin_connection, default_target, restore_backup
from photostore.backup.store import BackupStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def verify_backup(
    settings: Settings,
    s3: S3Client,
    report: Reporter,
    *,
    which: str = "latest",
    clock: Clock = utc_now,
) -> Verification:
    """Verify one backup and record the outcome next to its manifest, success or not."""
    store = BackupStore(s3, settings.bucket(), settings.backup_prefix)
    backup = store.resolve(which)
    scratch = default_target(settings.database_name_resolved, backup.id, "verify")
    with admin_connection(settings) as admin:
        # A scratch database of an earlier verify that was killed part way.
        database.drop_database(admin, scratch)
    try:
        result = restore_backup(
            settings, s3, report, which=backup.id, target=scratch, purpose="verify"
        )
        verification = Verification(
            backup_id=backup.id,
            checked_at=clock(),
            ok=result.ok,
            manifest_sha256=backup.manifest_sha256,
            differences=result.differences,
            restore_seconds=round(result.seconds, 3),
        )
    except (BackupError, psycopg.Error) as exc:
        verification = Verification(
            backup_id=backup.id,
            checked_at=clock(),
            ok=False,
            manifest_sha256=backup.manifest_sha256,
            error=str(exc),
        )
    finally:
        with admin_connection(settings) as admin:
            database.drop_database(admin, scratch)
    store.write_verification(verification)
    report(
        "verify.finished",
        message=f"backup {backup.id} "
        + ("verified" if verification.ok else "FAILED verification")
        + f" (recorded in {store.url(store.key(backup.id, 'verification'))})",
        backup=backup.id,
        ok=verification.ok,
        error=verification.error,
    )
    return verification
