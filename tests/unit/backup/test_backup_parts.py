"""Backup pieces that need no server: retention, leftovers, settings, the dump stream."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_s3 import FakeS3

from photostore.backup.config import Settings
from photostore.backup.database import client_major
from photostore.backup.dump import stream_dump
from photostore.backup.errors import BackupError
from photostore.backup.manifest import Manifest, compare_counts, new_backup_id
from photostore.backup.pg_programs import process_connection
from photostore.backup.report import JsonLinesReporter, TerminalReporter
from photostore.backup.restore import default_target
from photostore.backup.retention import expired_backups, leftover_keys
from photostore.backup.store import split_key
from photostore.object_writer import ObjectWriter

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def manifest(days_old: float, backup_id: str | None = None) -> Manifest:
    at = NOW - timedelta(days=days_old)
    return Manifest(
        id=backup_id or new_backup_id(at),
        created_at=at,
        finished_at=at,
        database="photostore",
        dump_key="k",
        size=1,
        sha256="0" * 64,
        server_version="15.8",
        server_version_num=150008,
        pg_dump_version="pg_dump (PostgreSQL) 15.8",
        schema_version=1,
        tables={},
    )


def test_expired_backups_are_those_older_than_the_retention_by_manifest_time() -> None:
    backups = [manifest(d, f"b{d}") for d in (40, 31, 30.5, 29.9, 2, 0)]
    assert expired_backups(backups, NOW, 30) == ["b40", "b31", "b30.5"]


def test_the_newest_backup_is_kept_however_old() -> None:
    backups = [manifest(d, f"b{d}") for d in (400, 90, 60)]
    assert expired_backups(backups, NOW, 30) == ["b400", "b90"]
    assert expired_backups([manifest(100, "only")], NOW, 1) == []
    assert expired_backups([], NOW, 1) == []


def test_leftovers_are_old_objects_of_no_manifest() -> None:
    old, young = NOW - timedelta(hours=25), NOW - timedelta(hours=23)
    objects = {
        "p/a.dump": old,  # a backup: kept
        "p/a.manifest.json": old,
        "p/b.dump": old,  # no manifest, old: leftover
        "p/b.verification.json": old,  # its verification record goes too
        "p/c.dump": young,  # maybe still being written: kept
    }
    id_of = {k: split_key("p/", k)[0] for k in objects if not k.endswith("manifest.json")}  # type: ignore[index]
    found = leftover_keys(objects, {"a"}, id_of=id_of, now=NOW, older_than=timedelta(days=1))
    assert found == ["p/b.dump", "p/b.verification.json"]


def test_split_key_knows_only_the_backup_objects_directly_under_the_prefix() -> None:
    assert split_key("backups/x/", "backups/x/20260101T000000Z-abc.dump") == (
        "20260101T000000Z-abc",
        "dump",
    )
    assert split_key("backups/x/", "backups/x/i.manifest.json") == ("i", "manifest")
    assert split_key("backups/x/", "backups/x/i.verification.json") == ("i", "verification")
    assert split_key("backups/x/", "backups/x/nested/i.dump") is None
    assert split_key("backups/x/", "backups/x/notes.txt") is None
    assert split_key("backups/x/", "backups/y/i.dump") is None


def test_compare_counts_names_changed_missing_and_extra_tables() -> None:
    differences = compare_counts(
        {"public.a": 1, "public.b": 2, "public.c": 3}, {"public.a": 1, "public.b": 5, "public.d": 0}
    )
    assert [(d.table, d.expected, d.actual) for d in differences] == [
        ("public.b", 2, 5),
        ("public.c", 3, None),
        ("public.d", None, 0),
    ]
    assert compare_counts({"public.a": 1}, {"public.a": 1}) == []


def test_database_parts_override_the_url_and_answer_to_libpq_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHOTOSTORE_DATABASE_URL", "postgresql://db.internal:5432/photos")
    monkeypatch.setenv("PGUSER", "backup")
    monkeypatch.setenv("PGPASSWORD", "s3cret-pw")
    monkeypatch.setenv("PHOTOSTORE_BACKUP_PREFIX", "backups/prod")
    settings = Settings()
    params = settings.database_params()
    assert params == {
        "host": "db.internal",
        "port": "5432",
        "dbname": "photos",
        "user": "backup",
        "password": "s3cret-pw",
    }
    assert settings.database_params(dbname="postgres")["dbname"] == "postgres"
    assert settings.backup_prefix == "backups/prod/"
    assert "s3cret-pw" not in repr(settings)
    monkeypatch.setenv("PGHOST", "standby.internal")
    assert Settings().database_params()["host"] == "standby.internal"


def test_a_database_name_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PHOTOSTORE_DATABASE_URL", "PGDATABASE", "PHOTOSTORE_DATABASE_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BackupError, match="no database named"):
        Settings(database_host="db").database_params()


def test_child_processes_get_the_password_in_their_environment_only() -> None:
    conninfo, env = process_connection(
        {"host": "db", "dbname": "photos", "user": "u", "password": "pw-123"}, "photostore-x"
    )
    assert "pw-123" not in conninfo
    assert "application_name=photostore-x" in conninfo
    assert env["PGPASSWORD"] == "pw-123"


def test_default_target_fits_a_postgres_identifier() -> None:
    name = default_target("p" * 60, "20260101T000000Z-a1b2c3")
    assert len(name) == 63
    assert name.endswith("_restore_20260101t000000z_a1b2c3")
    assert default_target("photostore", "20260101T000000Z-a1b2c3", "verify") == (
        "photostore_verify_20260101t000000z_a1b2c3"
    )


def test_client_major_reads_pg_dump_version_lines() -> None:
    assert client_major("pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)") == 15
    assert client_major("pg_restore (PostgreSQL) 17.2") == 17
    with pytest.raises(ValueError, match="no PostgreSQL version"):
        client_major("something else")


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def fake_dump(size: int, status: int) -> list[str]:
    """A stand-in for pg_dump: writes `size` bytes, then exits with `status`."""
    code = (
        f"import sys; sys.stdout.buffer.write(b'd' * {size}); sys.stdout.flush(); "
        f"sys.exit({status})"
    )
    return [sys.executable, "-c", code]


async def test_a_failing_dump_aborts_the_upload_and_never_completes_it() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "x", part_size=100)  # type: ignore[arg-type]
    with pytest.raises(BackupError, match="exit status 3"):
        await stream_dump(fake_dump(1000, 3), {}, writer, 100, lambda *_, **__: None)
    names = [name for name, _ in s3.calls]
    assert "upload_part" in names  # it was half way through
    assert "complete_multipart_upload" not in names
    assert names[-1] == "abort_multipart_upload"


async def test_a_dump_that_exits_0_completes_with_its_sha256_and_size() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "x", part_size=100)  # type: ignore[arg-type]
    events: list[tuple[str, dict[str, Any]]] = []
    result = await stream_dump(
        fake_dump(1000, 0), {}, writer, 300, lambda e, **f: events.append((e, f))
    )
    assert (result.size, result.sha256) == (1000, hashlib.sha256(b"d" * 1000).hexdigest())
    part = base64.b64decode(_b64_sha256(b"d" * 100))
    assert result.stored_checksum == f"{_b64_sha256(part * 10)}-10", "S3's composite checksum"
    assert [name for name, _ in s3.calls][-1] == "complete_multipart_upload"
    assert next(f["bytes"] for e, f in events if e == "backup.progress") >= 300


def test_json_lines_are_one_object_per_event() -> None:
    out = io.StringIO()
    report = JsonLinesReporter(out, clock=lambda: NOW)
    report("backup.started", message="dumping", backup="x")
    report("backup.progress", bytes=10, mib_per_s=1.5)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"time": NOW.isoformat(), "event": "backup.started", "message": "dumping", "backup": "x"},
        {"time": NOW.isoformat(), "event": "backup.progress", "bytes": 10, "mib_per_s": 1.5},
    ]


def test_terminal_progress_rewrites_one_line_then_messages_follow() -> None:
    out = io.StringIO()
    report = TerminalReporter(out)
    report("backup.progress", bytes=2 * 1024 * 1024, mib_per_s=3.0)
    report("backup.progress", bytes=4 * 1024 * 1024, mib_per_s=3.5)
    report("backup.finished", message="backup x: 4.0 MiB", backup="x")
    assert out.getvalue() == (
        "\r  2.0 MiB at 3.0 MiB/s   \r  4.0 MiB at 3.5 MiB/s   \nbackup x: 4.0 MiB\n"
    )
