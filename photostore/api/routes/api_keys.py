"""Per-user API keys: create (shown once), list, revoke."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from photostore.api.accounts import raise_epoch
from photostore.api.deps import CurrentUser, ServicesDep
from photostore.api.errors import ERROR_RESPONSES, ApiError, not_found
from photostore.api.models import ApiKey, ApiKeyCreate, NewApiKey
from photostore.api.security import credential_hash, new_api_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=ERROR_RESPONSES)

_COLUMNS = "id, name, prefix, created_at, last_used_at, revoked_at"


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: ERROR_RESPONSES[409]})
async def create_api_key(body: ApiKeyCreate, user: CurrentUser, services: ServicesDep) -> NewApiKey:
    """A new key; at most `api_keys_max_per_user` live (unrevoked) keys per user (409)."""
    key = new_api_key()
    most = services.settings.api_keys_max_per_user
    async with services.pool.connection() as conn, conn.transaction():
        # The user's row lock makes concurrent creations count one after another.
        await conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user.id,))
        cur = await conn.execute(
            "SELECT count(*) AS live FROM api_keys WHERE user_id = %s AND revoked_at IS NULL",
            (user.id,),
        )
        live = await cur.fetchone()
        if live is not None and int(live["live"]) >= most:
            raise ApiError(
                409, "too_many_api_keys", f"at most {most} live API keys; revoke one first"
            )
        cur = await conn.execute(
            f"INSERT INTO api_keys (user_id, name, key_hash, prefix) VALUES (%s, %s, %s, %s)"  # noqa: S608
            f" RETURNING {_COLUMNS}".encode(),
            (user.id, body.name, credential_hash(key), key[:12]),
        )
        row = await cur.fetchone()
    assert row is not None
    return NewApiKey(key=key, **row)


@router.get("")
async def list_api_keys(user: CurrentUser, services: ServicesDep) -> list[ApiKey]:
    async with services.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE user_id = %s ORDER BY created_at DESC".encode(),  # noqa: S608
            (user.id,),
        )
        rows = await cur.fetchall()
    return [ApiKey.model_validate(row) for row in rows]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: UUID, user: CurrentUser, services: ServicesDep) -> Response:
    """Revoke a key: the next request with it is refused, by every API process."""
    async with services.pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
            " WHERE id = %s AND user_id = %s RETURNING key_hash",
            (key_id, user.id),
        )
        row = await cur.fetchone()
        if row is None:
            raise not_found("API key")
        account = await raise_epoch(conn, user.id)
    if account is not None:
        await services.credentials.end_credentials(account.id, account.credential_epoch)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
