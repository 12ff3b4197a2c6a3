"""Retention by the manifests' times, and verification recorded next to the manifest."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from backup_harness import Installation, database_exists, photostore, seed

from photostore.backup.cli import s3_for
from photostore.backup.dump import apply_retention, run_backup
from photostore.backup.store import BackupStore


def backup_at(inst: Installation, at: datetime, retention_days: int = 30) -> str:
    """One backup whose clock says `at`; returns its id."""
    manifest = asyncio.run(
        run_backup(
            inst.settings,
            s3_for(inst.settings),
            lambda *_, **__: None,
            clock=lambda: at,
            retention_days=retention_days,
        )
    )
    return manifest.id


def stored_ids(s3: Any, inst: Installation) -> dict[str, set[str]]:
    """Backup id -> the kinds of object stored for it."""
    listing = s3.list_objects_v2(Bucket=inst.bucket, Prefix=inst.prefix).get("Contents", [])
    found: dict[str, set[str]] = {}
    for obj in listing:
        name = obj["Key"][len(inst.prefix) :]
        backup_id, _, kind = name.partition(".")
        found.setdefault(backup_id, set()).add(kind)
    return found


def test_retention_deletes_exactly_the_backups_older_than_the_limit(
    installation: Installation, s3: Any
) -> None:
    seed(installation.url, users=1, photos_per_user=2)
    now = datetime.now(UTC)
    ages = (40, 31, 30.9, 29, 2)
    # Made with a long retention, so that none of these runs deletes another yet.
    made = {age: backup_at(installation, now - timedelta(days=age), 3650) for age in ages}
    # An old backup that was verified: its record goes with it.
    verify = photostore(installation.env, "backup", "verify", "--backup", made[40])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert stored_ids(s3, installation)[made[40]] == {"dump", "manifest.json", "verification.json"}

    newest = backup_at(installation, now, retention_days=30)
    kept = stored_ids(s3, installation)
    assert set(kept) == {made[29], made[2], newest}
    assert all(kinds == {"dump", "manifest.json"} for kinds in kept.values())


def test_retention_never_deletes_the_newest_backup(installation: Installation, s3: Any) -> None:
    seed(installation.url, users=1, photos_per_user=2)
    now = datetime.now(UTC)
    older = backup_at(installation, now - timedelta(days=3), 3650)
    newest = backup_at(installation, now - timedelta(days=2), 3650)
    store = BackupStore(s3_for(installation.settings), installation.bucket, installation.prefix)
    expired = apply_retention(store, 1, lambda: now + timedelta(days=365), lambda *_, **__: None)
    assert expired == [older]
    assert set(stored_ids(s3, installation)) == {newest}


def test_verify_records_the_verification_and_list_shows_it(installation: Installation) -> None:
    seed(installation.url, users=2, photos_per_user=10)
    backup = photostore(installation.env, "backup")
    assert backup.returncode == 0
    backup_id = backup.last("backup.finished")["backup"]
    before = photostore(installation.env, "backup", "list")
    assert [(e["backup"], e["verified"]) for e in before.events] == [(backup_id, False)]

    verify = photostore(installation.env, "backup", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.last("verify.finished")["ok"] is True
    scratch = verify.last("restore.finished")["database"]
    assert not database_exists(installation.admin_url, scratch), "scratch database dropped"

    after = photostore(installation.env, "backup", "list")
    [entry] = after.events
    assert (entry["backup"], entry["verified"]) == (backup_id, True)
    assert entry["verified_at"] is not None


def test_verify_fails_when_a_manifest_row_count_was_tampered_with(
    installation: Installation, s3: Any
) -> None:
    seed(installation.url, users=2, photos_per_user=10)
    backup = photostore(installation.env, "backup")
    backup_id = backup.last("backup.finished")["backup"]
    assert photostore(installation.env, "backup", "verify").returncode == 0

    key = f"{installation.prefix}{backup_id}.manifest.json"
    manifest = json.loads(s3.get_object(Bucket=installation.bucket, Key=key)["Body"].read())
    manifest["tables"]["public.photos"] += 1
    s3.put_object(Bucket=installation.bucket, Key=key, Body=json.dumps(manifest).encode())
    [entry] = photostore(installation.env, "backup", "list").events
    assert entry["verified"] is False, "the earlier verification was of another manifest"

    verify = photostore(installation.env, "backup", "verify")
    assert verify.returncode == 1
    tables = {e["table"]: e for e in verify.events if e["event"] == "restore.table"}
    assert tables["public.photos"]["manifest"] == 21
    assert tables["public.photos"]["restored"] == 20
    assert not tables["public.photos"]["match"]
    assert not database_exists(installation.admin_url, verify.last("restore.finished")["database"])
    record = json.loads(
        s3.get_object(
            Bucket=installation.bucket, Key=f"{installation.prefix}{backup_id}.verification.json"
        )["Body"].read()
    )
    assert record["ok"] is False
    assert record["differences"] == [{"table": "public.photos", "expected": 21, "actual": 20}]
    [entry] = photostore(installation.env, "backup", "list").events
    assert entry["verified"] is False
