"""Accounts: register, log in (a bearer session token), log out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg.errors
from fastapi import APIRouter, Response, status

from photostore.api.deps import AddressLimited, CurrentUser, PoolDep, ServicesDep
from photostore.api.errors import ERROR_RESPONSES, ApiError
from photostore.api.models import Credentials, Token, User
from photostore.api.security import (
    credential_hash,
    hash_password,
    new_session_token,
    verify_password,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AddressLimited],
    responses={409: ERROR_RESPONSES[409]},
)
async def register(body: Credentials, pool: PoolDep) -> User:
    password_hash = await hash_password(body.password)
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO users (email, password_hash) VALUES (%s, %s)"
                " RETURNING id, email, created_at",
                (body.email, password_hash),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ApiError(409, "email_taken", "an account with this email exists") from exc
    assert row is not None
    return User.model_validate(row)


@router.post("/login", dependencies=[AddressLimited])
async def login(body: Credentials, services: ServicesDep) -> Token:
    async with services.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, password_hash FROM users WHERE lower(email) = lower(%s)", (body.email,)
        )
        row = await cur.fetchone()
    if not await verify_password(row["password_hash"] if row else None, body.password):
        raise ApiError(401, "bad_credentials", "wrong email or password")
    assert row is not None
    token = new_session_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=services.settings.session_ttl_seconds)
    async with services.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
            (credential_hash(token), row["id"], expires_at),
        )
    return Token(access_token=token, expires_at=expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, services: ServicesDep) -> Response:
    """Revoke the session token this request carries (API keys are revoked by id)."""
    async with services.pool.connection() as conn:
        await conn.execute(
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
            (user.credential_hash,),
        )
    await services.redis.delete(services.key("auth", user.credential_hash.hex()))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
async def me(user: CurrentUser, pool: PoolDep) -> User:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, email, created_at FROM users WHERE id = %s", (user.id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise ApiError(401, "unauthorized", "the account no longer exists")
    return User.model_validate(row)
