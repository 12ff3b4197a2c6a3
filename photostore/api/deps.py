"""Typed FastAPI dependencies: the clients, the authenticated user, the rate limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from photostore.api.config import Settings
from photostore.api.errors import ApiError
from photostore.api.ratelimit import RateLimit
from photostore.api.security import API_KEY_PREFIX, SESSION_PREFIX, credential_hash
from photostore.api.services import Services
from photostore.db.pool import Pool

# A valid credential is remembered this long; revoking one deletes the cached entry.
AUTH_CACHE_SECONDS = 60


# The dependencies are `async def` although they never wait: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request for nothing.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_pool(services: ServicesDep) -> Pool:
    return services.pool


PoolDep = Annotated[Pool, Depends(get_pool)]


@dataclass(frozen=True)
class AuthUser:
    id: UUID
    credential_hash: bytes


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _limit(settings: Settings) -> RateLimit:
    return RateLimit(settings.rate_limit_requests, settings.rate_limit_window_seconds)


async def _lookup_credential(pool: Pool, token: str, digest: bytes) -> UUID | None:
    if token.startswith(SESSION_PREFIX):
        query = (
            "SELECT user_id FROM sessions WHERE token_hash = %s"
            " AND revoked_at IS NULL AND expires_at > now()"
        )
    elif token.startswith(API_KEY_PREFIX):
        # Runs at most once per cache period per key, so recording the use is cheap.
        query = (
            "UPDATE api_keys SET last_used_at = now()"
            " WHERE key_hash = %s AND revoked_at IS NULL RETURNING user_id"
        )
    else:
        return None
    async with pool.connection() as conn:
        row = await (await conn.execute(query, (digest,))).fetchone()
    return None if row is None else UUID(str(row["user_id"]))


async def get_current_user(request: Request, services: ServicesDep) -> AuthUser:
    """The user behind the bearer credential, after counting the request against its limit.

    One Redis round trip does both the rate-limit count and the credential cache lookup.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    digest = credential_hash(token)
    cache_key = services.key("auth", digest.hex())
    limit = _limit(services.settings)
    async with services.redis.pipeline(transaction=False) as pipe:
        limit.queue(pipe, services.key("rl", "cred", digest.hex()))
        pipe.get(cache_key)
        count, _, ttl, cached = await pipe.execute()
    limit.check(int(count), int(ttl))
    if cached is not None:
        return AuthUser(UUID(cached.decode()), digest)
    user_id = await _lookup_credential(services.pool, token, digest)
    if user_id is None:
        # Each made-up token would get a fresh budget: count failures per address too.
        await limit_by_address(request, services)
        raise _unauthorized("invalid, expired or revoked credential")
    await services.redis.set(cache_key, str(user_id), ex=AUTH_CACHE_SECONDS)
    return AuthUser(user_id, digest)


async def limit_by_address(request: Request, services: ServicesDep) -> None:
    """Rate limit for routes without credentials (register, login): per peer address."""
    address = request.client.host if request.client else "unknown"
    limit = _limit(services.settings)
    async with services.redis.pipeline(transaction=False) as pipe:
        limit.queue(pipe, services.key("rl", "addr", address))
        count, _, ttl = await pipe.execute()
    limit.check(int(count), int(ttl))


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]
AddressLimited = Depends(limit_by_address)
