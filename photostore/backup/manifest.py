"""What a backup's manifest and verification record say, and how row counts are compared.

Pure data and pure functions: the JSON objects in S3 are these models serialized.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Manifest(BaseModel):
    """Written last, once the dump is stored whole: its presence makes the dump a backup."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal[1] = 1
    id: str
    # The moment of the snapshot the dump and the row counts were taken from.
    created_at: datetime
    finished_at: datetime
    database: str
    dump_key: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    server_version: str
    server_version_num: int
    pg_dump_version: str
    # Highest applied `photostore migrate` version; None when the database has none.
    schema_version: int | None
    # "schema.table" -> rows, counted in the snapshot the dump was taken from.
    tables: dict[str, int]


class RowCountDifference(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: str
    expected: int | None
    actual: int | None


class Verification(BaseModel):
    """The last restore check of one backup; it counts only for the manifest it checked."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    backup_id: str
    checked_at: datetime
    ok: bool
    manifest_sha256: str
    differences: list[RowCountDifference] = Field(default_factory=list)
    error: str | None = None
    restore_seconds: float | None = None


def new_backup_id(now: datetime) -> str:
    """Sorts by time; the random tail keeps two runs in one second apart."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def manifest_bytes(manifest: Manifest) -> bytes:
    return manifest.model_dump_json(indent=2).encode() + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compare_counts(expected: dict[str, int], actual: dict[str, int]) -> list[RowCountDifference]:
    """Every table whose row count differs, or that exists on one side only."""
    return [
        RowCountDifference(table=table, expected=expected.get(table), actual=actual.get(table))
        for table in sorted(expected.keys() | actual.keys())
        if expected.get(table) != actual.get(table)
    ]
