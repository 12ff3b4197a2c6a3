"""S3 access shared by the API and the processor: the client factory, bucket helpers and keys.

Object keys are part of the contract between components:
originals at ``originals/{user_id}/{photo_id}``, thumbnails (written by the processor) at
``thumbnails/{photo_id}/{name}.{ext}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Thumbnail names and formats the processor writes by default: name -> (extension, long edge px).
DEFAULT_THUMBNAILS: dict[str, tuple[str, int]] = {"grid": ("webp", 250), "preview": ("jpg", 1440)}


def original_key(user_id: UUID | str, photo_id: UUID | str) -> str:
    return f"originals/{user_id}/{photo_id}"


def thumbnail_key(photo_id: UUID | str, name: str, ext: str) -> str:
    return f"thumbnails/{photo_id}/{name}.{ext}"


def thumbnail_prefix(photo_id: UUID | str) -> str:
    return f"thumbnails/{photo_id}/"


def create_s3_client(
    *,
    region: str,
    endpoint: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    connect_timeout: float = 3.0,
    read_timeout: float = 30.0,
    max_attempts: int = 2,
    max_pool_connections: int = 32,
    caller_checksums: bool = False,
) -> S3Client:
    """A boto3 S3 client; without access keys boto3's default chain (env, IRSA, ...) applies.

    Path-style addressing works with every S3-compatible server and with AWS. Few retries
    and short connect timeouts make an unreachable S3 fail fast rather than hang a request.
    `caller_checksums=True` is for a caller that sends its own SHA-256 with every body (the
    API hashes uploads anyway): boto3 then neither hashes the body for the signature nor adds
    a CRC32 of its own, and S3 still refuses bytes that do not match.
    """
    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path", "payload_signing_enabled": False}
        if caller_checksums
        else {"addressing_style": "path"},
        request_checksum_calculation="when_required" if caller_checksums else "when_supported",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
    )
    session = boto3.session.Session(
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
    )
    return session.client("s3", endpoint_url=endpoint or None, config=config)


def bucket_exists(client: S3Client, bucket: str) -> bool:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise
    return True


def ensure_bucket(client: S3Client, bucket: str, region: str) -> None:
    """Create the bucket unless it exists (idempotent; safe when two processes race)."""
    if bucket_exists(client, bucket):
        return
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        }:
            raise


def delete_prefix(client: S3Client, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix`; return how many were deleted."""
    deleted = 0
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", []) if "Key" in obj]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})  # type: ignore[typeddict-item]
            deleted += len(keys)
    return deleted


def abort_multipart_uploads(client: S3Client, bucket: str, key: str) -> int:
    """Abort unfinished multipart uploads of exactly `key`; return how many."""
    aborted = 0
    listing = client.list_multipart_uploads(Bucket=bucket, Prefix=key)
    for upload in listing.get("Uploads", []):
        if upload.get("Key") == key and "UploadId" in upload:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
            aborted += 1
    return aborted
