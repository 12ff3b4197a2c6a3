"""A dump that fails, a backup process that dies: nothing passes for a backup, and what is
left behind goes once it is more than a day old."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from backup_harness import REPO_ROOT, Installation, photostore, seed, seed_bulk
from psycopg.conninfo import make_conninfo

from photostore.backup.cli import s3_for
from photostore.backup.config import Settings
from photostore.backup.dump import DUMP_APPLICATION_NAME, run_backup
from photostore.backup.errors import BackupError

MIB = 1024 * 1024
# Enough photos for a dump of tens of MiB: several 5 MiB parts, pg_dump busy for a while.
BULK_ROWS = 80_000


def keys(s3: Any, inst: Installation) -> list[str]:
    listing = s3.list_objects_v2(Bucket=inst.bucket, Prefix=inst.prefix)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def unfinished(s3: Any, inst: Installation) -> list[str]:
    listing = s3.list_multipart_uploads(Bucket=inst.bucket, Prefix=inst.prefix)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


def signal_mid_upload(inst: Installation, s3: Any, signum: int) -> int:
    """Start `photostore backup`, send it `signum` once its upload has begun; its exit status."""
    env = {"PATH": os.environ["PATH"], **inst.env, "PHOTOSTORE_BACKUP_PART_BYTES": str(5 * MIB)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photostore", "backup"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not unfinished(s3, inst):
        assert proc.poll() is None, "the backup finished before the signal"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signum)
    return proc.wait(timeout=60)


def backup_at(settings: Settings, events: list[tuple[str, dict[str, Any]]], at: datetime) -> None:
    """One in-process backup whose clock says `at`; its events land in `events`."""
    asyncio.run(
        run_backup(
            settings, s3_for(settings), lambda e, **f: events.append((e, f)), clock=lambda: at
        )
    )


def listed(inst: Installation) -> list[str]:
    run = photostore(inst.env, "backup", "list")
    assert run.returncode == 0, run.stdout + run.stderr
    return [e["backup"] for e in run.events if e["event"] == "backup.listed"]


async def test_pg_dump_killed_half_way_aborts_the_upload_and_writes_no_manifest(
    installation: Installation, s3: Any
) -> None:
    seed_bulk(installation.url, BULK_ROWS)
    settings = installation.settings.model_copy(update={"backup_part_bytes": 5 * MIB})
    terminated: list[int] = []

    def report(event: str, **fields: Any) -> None:
        """Once the first part is on its way, end pg_dump's server connection."""
        if event == "backup.progress" and not terminated:
            with psycopg.connect(installation.admin_url, autocommit=True) as conn:
                ended = conn.execute(
                    """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                       WHERE application_name = %s AND datname = %s""",
                    (DUMP_APPLICATION_NAME, installation.name),
                ).fetchall()
            terminated.append(len(ended))

    with pytest.raises(BackupError, match="pg_dump failed"):
        await run_backup(settings, s3_for(settings), report)
    assert terminated == [1], "pg_dump was still dumping when its connection ended"
    assert keys(s3, installation) == [], "no dump object, no manifest"
    assert unfinished(s3, installation) == [], "the multipart upload was aborted"
    assert listed(installation) == []


def test_sigterm_half_way_aborts_the_upload(installation: Installation, s3: Any) -> None:
    """What a Job's deadline or a node drain sends: the run cleans up before it exits."""
    seed_bulk(installation.url, BULK_ROWS)
    assert signal_mid_upload(installation, s3, signal.SIGTERM) == 143
    assert keys(s3, installation) == []
    assert unfinished(s3, installation) == []


def test_a_failing_backup_exits_non_zero_and_says_why(installation: Installation) -> None:
    gone = make_conninfo(installation.url, dbname=installation.name + "_gone")
    env = {**installation.env, "PHOTOSTORE_DATABASE_URL": gone}
    run = photostore(env, "backup")
    assert run.returncode == 1
    failed = run.last("backup.failed")
    assert "_gone" in failed["error"] and "does not exist" in failed["error"]


def test_leftovers_of_a_dead_backup_are_not_listed_and_go_after_a_day(
    installation: Installation, s3: Any
) -> None:
    seed(installation.url, users=2, photos_per_user=5)
    # A backup that died between storing its dump and writing its manifest.
    first = photostore(installation.env, "backup")
    assert first.returncode == 0
    orphan_id = first.last("backup.finished")["backup"]
    s3.delete_object(
        Bucket=installation.bucket, Key=f"{installation.prefix}{orphan_id}.manifest.json"
    )
    orphan_dump = f"{installation.prefix}{orphan_id}.dump"

    # A backup killed (SIGKILL: no chance to clean up) in the middle of its upload.
    seed_bulk(installation.url, BULK_ROWS)
    assert signal_mid_upload(installation, s3, signal.SIGKILL) == -signal.SIGKILL
    [killed_upload] = unfinished(s3, installation)

    assert listed(installation) == [], "neither is a backup"

    settings = installation.settings
    events: list[tuple[str, dict[str, Any]]] = []
    backup_at(settings, events, datetime.now(UTC))
    assert orphan_dump in keys(s3, installation), "younger than a day: may still be written"
    assert unfinished(s3, installation) == [killed_upload]

    later = datetime.now(UTC) + timedelta(hours=25)
    events.clear()
    backup_at(settings, events, later)
    deleted = [f["key"] for e, f in events if e == "backup.leftover_deleted"]
    aborted = [f["key"] for e, f in events if e == "backup.upload_aborted"]
    assert deleted == [f"s3://{installation.bucket}/{orphan_dump}"]
    assert aborted == [f"s3://{installation.bucket}/{killed_upload}"]
    assert orphan_dump not in keys(s3, installation)
    assert unfinished(s3, installation) == []
    assert len(listed(installation)) == 2, "the two good backups stay"
