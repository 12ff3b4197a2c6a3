"""S3 objects of a photo: reading the original, writing its thumbnails at fixed keys."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from botocore.exceptions import ClientError

from photostore.processor.pipeline import Thumbnail
from photostore.storage import thumbnail_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Thumbnails never change under a key (a reprocessing writes the same bytes).
THUMBNAIL_CACHE_CONTROL = "public, max-age=31536000, immutable"


class MissingOriginalError(LookupError):
    """The original object does not exist: the photo cannot be processed."""


def read_original(client: S3Client, bucket: str, key: str) -> bytes:
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            raise MissingOriginalError(f"original object {key!r} does not exist") from exc
        raise
    return response["Body"].read()


def write_thumbnails(
    client: S3Client, bucket: str, photo_id: UUID, thumbnails: list[Thumbnail]
) -> dict[str, str]:
    """Upload each thumbnail (overwriting, so retries are idempotent); return name -> key."""
    keys: dict[str, str] = {}
    for thumbnail in thumbnails:
        key = thumbnail_key(photo_id, thumbnail.name, thumbnail.ext)
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=thumbnail.data,
            ContentType=thumbnail.content_type,
            CacheControl=THUMBNAIL_CACHE_CONTROL,
        )
        keys[thumbnail.name] = key
    return keys
