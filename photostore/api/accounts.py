"""Accounts in PostgreSQL: credential lookup, disabling, enabling, deletion.

Each change that ends credentials raises the user's `credential_epoch` in the same
transaction; the caller then publishes the new epoch to Redis (credentials.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from photostore.api.photos_db import Conn
from photostore.api.security import API_KEY_PREFIX, SESSION_PREFIX
from photostore.db.pool import Pool
from photostore.storage import original_key, thumbnail_prefix


@dataclass(frozen=True)
class Account:
    id: UUID
    credential_epoch: int


def _account(row: dict[str, object] | None) -> Account | None:
    if row is None:
        return None
    return Account(UUID(str(row["id"])), int(str(row["credential_epoch"])))


async def lookup_credential(conn: Conn, token: str, digest: bytes) -> Account | None:
    """The enabled account a live session token or API key belongs to."""
    if token.startswith(SESSION_PREFIX):
        query = (
            "SELECT u.id, u.credential_epoch FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now()"
            " AND u.disabled_at IS NULL"
        )
    elif token.startswith(API_KEY_PREFIX):
        # Runs at most once per cache period per key, so recording the use is cheap.
        query = (
            "UPDATE api_keys k SET last_used_at = now() FROM users u"
            " WHERE k.key_hash = %s AND k.revoked_at IS NULL AND u.id = k.user_id"
            " AND u.disabled_at IS NULL RETURNING u.id, u.credential_epoch"
        )
    else:
        return None
    row = await (await conn.execute(query, (digest,))).fetchone()
    return _account(row)


async def raise_epoch(conn: Conn, user_id: UUID) -> Account | None:
    """Count one more ended credential of the user; run it in the ending transaction."""
    cur = await conn.execute(
        "UPDATE users SET credential_epoch = credential_epoch + 1 WHERE id = %s"
        " RETURNING id, credential_epoch",
        (user_id,),
    )
    return _account(await cur.fetchone())


async def disable_account(pool: Pool, email: str) -> Account | None:
    """Disable the account and revoke all of its sessions and API keys; None if unknown."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE users SET disabled_at = coalesce(disabled_at, now()),"
            " credential_epoch = credential_epoch + 1 WHERE lower(email) = lower(%s)"
            " RETURNING id, credential_epoch",
            (email,),
        )
        account = _account(await cur.fetchone())
        if account is not None:
            for table in ("sessions", "api_keys"):
                await conn.execute(
                    f"UPDATE {table} SET revoked_at = now()"  # noqa: S608 - a constant
                    " WHERE user_id = %s AND revoked_at IS NULL".encode(),
                    (account.id,),
                )
    return account


async def enable_account(pool: Pool, email: str) -> Account | None:
    """Let a disabled account log in again (its old credentials stay revoked)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE users SET disabled_at = NULL WHERE lower(email) = lower(%s)"
            " RETURNING id, credential_epoch",
            (email,),
        )
        return _account(await cur.fetchone())


async def delete_account(conn: Conn, user_id: UUID) -> Account | None:
    """Delete the user with everything theirs; their S3 objects go to the cleanup ledger.

    The sweeper then deletes the objects in the background: every original under the
    user's prefix (uploads in flight included) and each photo's thumbnails. Events of
    photos not yet relayed to Kafka are dropped. Returns the account with the epoch to
    publish, or None when it was already gone.
    """
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO object_cleanup (photo_id, s3_key, not_before)"
            " SELECT %(user)s, %(originals)s, now()"
            " UNION ALL SELECT id, format(%(thumbs)s, id), now() FROM photos"
            "  WHERE user_id = %(user)s"
            " UNION ALL SELECT p.id, t.value, now()"
            "  FROM photos p, jsonb_each_text(p.thumbnails) t WHERE p.user_id = %(user)s",
            {
                "user": user_id,
                # No photo has the user's id, so the sweeper takes this prefix at once.
                "originals": original_key(user_id, ""),
                "thumbs": thumbnail_prefix("%s"),
            },
        )
        await conn.execute(
            "DELETE FROM outbox WHERE published_at IS NULL"
            " AND key IN (SELECT id::text FROM photos WHERE user_id = %s)",
            (user_id,),
        )
        cur = await conn.execute(
            "DELETE FROM users WHERE id = %s"
            " RETURNING id, credential_epoch + 1 AS credential_epoch",
            (user_id,),
        )
        return _account(await cur.fetchone())
