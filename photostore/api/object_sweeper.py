"""Delete S3 objects recorded in `object_cleanup` once no photo row claims them.

Covers uploads abandoned mid-way (the API died, PostgreSQL went away before the commit)
and purged photos whose objects could not be deleted at once. A key ending in "/" is a
prefix (a photo's thumbnails).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from photostore.db.pool import Pool
from photostore.storage import abort_multipart_uploads, delete_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

BATCH = 100


def delete_objects(s3: S3Client, bucket: str, keys: list[str]) -> None:
    for key in keys:
        if key.endswith("/"):
            delete_prefix(s3, bucket, key)
        else:
            abort_multipart_uploads(s3, bucket, key)
            s3.delete_object(Bucket=bucket, Key=key)


async def sweep_once(pool: Pool, s3: S3Client, bucket: str) -> int:
    """Delete one batch of due, unclaimed objects; return how many ledger rows were done."""
    async with pool.connection() as conn, conn.transaction():
        # Entries whose photo exists are stale (the upload committed): drop them only.
        await conn.execute(
            "DELETE FROM object_cleanup c WHERE c.not_before < now()"
            " AND EXISTS (SELECT 1 FROM photos p WHERE p.id = c.photo_id)"
        )
        cur = await conn.execute(
            "SELECT id, s3_key FROM object_cleanup c WHERE c.not_before < now()"
            " AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.id = c.photo_id)"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (BATCH,),
        )
        rows = await cur.fetchall()
        if not rows:
            return 0
        await asyncio.to_thread(delete_objects, s3, bucket, [str(r["s3_key"]) for r in rows])
        await conn.execute(
            "DELETE FROM object_cleanup WHERE id = ANY(%s)", ([r["id"] for r in rows],)
        )
    return len(rows)


async def run_sweeper(pool: Pool, s3: S3Client, bucket: str, *, poll_seconds: float) -> None:
    while True:
        try:
            while await sweep_once(pool, s3, bucket) == BATCH:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("object sweeper failed: %s", type(exc).__name__)
        await asyncio.sleep(poll_seconds)
