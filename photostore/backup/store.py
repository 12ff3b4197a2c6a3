"""The backups' objects in S3: names, listing, manifests, verification records, deletion.

Layout under the prefix: `<id>.dump` (pg_dump custom format), `<id>.manifest.json` (written
last), `<id>.verification.json` (the last restore check).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError
from pydantic import ValidationError

from photostore.backup.errors import BackupError
from photostore.backup.manifest import Manifest, Verification, manifest_bytes, sha256_hex

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Kind = Literal["dump", "manifest", "verification"]
SUFFIXES: dict[Kind, str] = {
    "dump": ".dump",
    "manifest": ".manifest.json",
    "verification": ".verification.json",
}
DOWNLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class StoredBackup:
    """A dump with its manifest, and the last verification of that manifest if any."""

    manifest: Manifest
    manifest_sha256: str
    verification: Verification | None

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def verified(self) -> bool:
        """Verified once a restore of this very manifest matched its row counts."""
        v = self.verification
        return v is not None and v.ok and v.manifest_sha256 == self.manifest_sha256


def split_key(prefix: str, key: str) -> tuple[str, Kind] | None:
    """(id, kind) of one of the backups' objects; None for anything else under the prefix."""
    if not key.startswith(prefix):
        return None
    name = key[len(prefix) :]
    if "/" in name:
        return None
    for kind, suffix in SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], kind
    return None


class BackupStore:
    def __init__(self, s3: S3Client, bucket: str, prefix: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix

    def key(self, backup_id: str, kind: Kind) -> str:
        return f"{self.prefix}{backup_id}{SUFFIXES[kind]}"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def objects(self) -> dict[str, StoredObject]:
        """Every backup object under the prefix, by key."""
        found: dict[str, StoredObject] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
            for obj in page.get("Contents", []):
                key = obj.get("Key", "")
                if split_key(self.prefix, key) is not None:
                    found[key] = StoredObject(key, obj.get("Size", 0), obj["LastModified"])
        return found

    def backups(self, objects: dict[str, StoredObject] | None = None) -> list[StoredBackup]:
        """Every backup (a manifest that parses), oldest first."""
        objects = self.objects() if objects is None else objects
        found: list[StoredBackup] = []
        for key in objects:
            parsed = split_key(self.prefix, key)
            if parsed is None or parsed[1] != "manifest":
                continue
            backup_id = parsed[0]
            manifest, digest = self.read_manifest(backup_id)
            verification_key = self.key(backup_id, "verification")
            verification = (
                self._read_verification(verification_key) if verification_key in objects else None
            )
            found.append(StoredBackup(manifest, digest, verification))
        found.sort(key=lambda b: (b.manifest.created_at, b.id))
        return found

    def resolve(self, which: str) -> StoredBackup:
        """`latest` (the newest backup) or a backup id."""
        if which == "latest":
            backups = self.backups()
            if not backups:
                raise BackupError(f"no backup under {self.url(self.prefix)}")
            return backups[-1]
        manifest_key = self.key(which, "manifest")
        if not self._exists(manifest_key):
            raise BackupError(f"no backup {which!r}: {self.url(manifest_key)} does not exist")
        manifest, digest = self.read_manifest(which)
        verification_key = self.key(which, "verification")
        verification = (
            self._read_verification(verification_key) if self._exists(verification_key) else None
        )
        return StoredBackup(manifest, digest, verification)

    def read_manifest(self, backup_id: str) -> tuple[Manifest, str]:
        key = self.key(backup_id, "manifest")
        body = self._get(key)
        try:
            manifest = Manifest.model_validate_json(body)
        except ValidationError as exc:
            raise BackupError(f"{self.url(key)} is not a valid manifest: {exc}") from exc
        if manifest.id != backup_id:
            raise BackupError(f"{self.url(key)} names backup {manifest.id!r}, not {backup_id!r}")
        return manifest, sha256_hex(body)

    def write_manifest(self, manifest: Manifest) -> None:
        self._put(self.key(manifest.id, "manifest"), manifest_bytes(manifest))

    def write_verification(self, verification: Verification) -> None:
        body = verification.model_dump_json(indent=2).encode() + b"\n"
        self._put(self.key(verification.backup_id, "verification"), body)

    def delete_backup(self, backup_id: str) -> None:
        """Manifest first: from then on the dump is a leftover, never a half-deleted backup."""
        for kind in ("manifest", "dump", "verification"):
            self.s3.delete_object(Bucket=self.bucket, Key=self.key(backup_id, kind))

    def delete_key(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def unfinished_uploads(self) -> Iterator[tuple[str, str, datetime]]:
        """(key, upload id, initiated) of multipart uploads of dumps never completed."""
        kwargs: dict[str, str] = {}
        while True:
            page = self.s3.list_multipart_uploads(
                Bucket=self.bucket,
                Prefix=self.prefix,
                **kwargs,  # type: ignore[arg-type]
            )
            for upload in page.get("Uploads", []):
                key, upload_id = upload.get("Key", ""), upload.get("UploadId", "")
                if split_key(self.prefix, key) is not None and upload_id:
                    yield key, upload_id, upload["Initiated"]
            if not page.get("IsTruncated"):
                return
            kwargs = {
                "KeyMarker": page.get("NextKeyMarker", ""),
                "UploadIdMarker": page.get("NextUploadIdMarker", ""),
            }

    def abort_upload(self, key: str, upload_id: str) -> None:
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def download(self, key: str, path: Path) -> tuple[int, str]:
        """Copy an object to `path`; return its size and SHA-256 (hex)."""
        digest = hashlib.sha256()
        size = 0
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            raise BackupError(f"cannot read {self.url(key)}: {_code(exc)}") from exc
        with path.open("wb") as out:
            for chunk in body.iter_chunks(DOWNLOAD_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def _get(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise BackupError(f"cannot read {self.url(key)}: {_code(exc)}") from exc

    def _read_verification(self, key: str) -> Verification | None:
        """A record that does not parse counts as no verification."""
        try:
            return Verification.model_validate_json(self._get(key))
        except (ValidationError, BackupError):
            return None

    def _put(self, key: str, body: bytes) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
        )

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "error"))
