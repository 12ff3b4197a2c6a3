"""Accounts: register, log in (a bearer session token), log out, delete the account."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg.errors
from fastapi import APIRouter, Request, Response, status

from photostore.api.accounts import delete_account, raise_epoch
from photostore.api.deps import CurrentUser, PoolDep, ServicesDep, request_address
from photostore.api.errors import ERROR_RESPONSES, ApiError
from photostore.api.models import Credentials, Token, User
from photostore.api.ratelimit import RateLimit
from photostore.api.security import (
    credential_hash,
    hash_password,
    new_session_token,
    verify_password,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post(
    "/register", status_code=status.HTTP_201_CREATED, responses={409: ERROR_RESPONSES[409]}
)
async def register(body: Credentials, request: Request, services: ServicesDep) -> User:
    settings = services.settings
    limit = RateLimit(settings.registrations_per_address, settings.registration_window_seconds)
    address = request_address(request, settings)
    await limit.hit(services.redis, services.keys.address(address, "register"))
    password_hash = await hash_password(body.password)
    try:
        async with services.pool.connection() as conn:
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


@router.post("/login", responses={403: ERROR_RESPONSES[403]})
async def login(body: Credentials, request: Request, services: ServicesDep) -> Token:
    """A session token. Attempts are limited per client address, failures per account."""
    settings = services.settings
    window = settings.login_window_seconds
    address = request_address(request, settings)
    await RateLimit(settings.login_attempts_per_address, window).hit(
        services.redis, services.keys.address(address, "login")
    )
    account_limit = RateLimit(settings.login_failures_per_account, window)
    account_key = services.keys.login_failures(
        hashlib.sha256(body.email.lower().encode()).hexdigest()
    )
    await account_limit.refuse_if_spent(services.redis, account_key)
    async with services.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, password_hash, disabled_at FROM users WHERE lower(email) = lower(%s)",
            (body.email,),
        )
        row = await cur.fetchone()
    if not await verify_password(row["password_hash"] if row else None, body.password):
        await account_limit.hit(services.redis, account_key)
        raise ApiError(401, "bad_credentials", "wrong email or password")
    assert row is not None
    if row["disabled_at"] is not None:
        raise ApiError(403, "account_disabled", "this account is disabled")
    await services.redis.delete(account_key)
    token = new_session_token()
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.session_ttl_seconds)
    async with services.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
            (credential_hash(token), row["id"], expires_at),
        )
    return Token(access_token=token, expires_at=expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, services: ServicesDep) -> Response:
    """Revoke the session token this request carries (API keys are revoked by id)."""
    async with services.pool.connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
            (user.credential_hash,),
        )
        account = await raise_epoch(conn, user.id)
    if account is not None:
        await services.credentials.end_credentials(account.id, account.credential_epoch)
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


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(user: CurrentUser, services: ServicesDep) -> Response:
    """Delete the account: every credential ends at once; photos and their objects go.

    The photos' rows go now; their S3 objects are deleted in the background by the
    object sweeper, from the cleanup ledger written in the same transaction.
    """
    async with services.pool.connection() as conn:
        account = await delete_account(conn, user.id)
    if account is not None:
        await services.credentials.end_credentials(account.id, account.credential_epoch)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
