"""Typed FastAPI dependencies: the clients, the authenticated user, the rate limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from photostore.api.accounts import lookup_credential
from photostore.api.client_address import client_address
from photostore.api.config import Settings
from photostore.api.errors import ApiError
from photostore.api.ratelimit import RateLimit
from photostore.api.security import credential_hash
from photostore.api.services import Services
from photostore.db.pool import Pool


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
    # WAL position of the user's last write (0: none known); replica reads wait for it.
    write_position: int = 0


# Where the authenticated user is kept in the request's state (write_marks.py reads it).
AUTH_USER_STATE = "auth_user"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _user_limit(settings: Settings) -> RateLimit:
    return RateLimit(settings.rate_limit_requests, settings.rate_limit_window_seconds)


def request_address(request: Request, settings: Settings) -> str:
    """The client's address: the peer, or the forwarded address when the peer is trusted."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        settings.trusted_proxies,
    )


async def get_current_user(request: Request, services: ServicesDep) -> AuthUser:
    """The user behind the bearer credential, after counting the request against its limit.

    The limit is the user's, whichever of their credentials the request carries. A cached
    credential costs one Redis round trip (credentials.py); an unknown one is looked up in
    PostgreSQL (the primary), and unknown tokens are limited per client address, so
    guessing stays slow.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    settings = services.settings
    digest = credential_hash(token)
    user_limit = _user_limit(settings)
    checked = await services.credentials.cached(digest, user_limit.window_seconds)
    if checked is None:
        guesses = RateLimit(settings.bad_tokens_per_address, settings.bad_token_window_seconds)
        guesses_key = services.keys.address(request_address(request, settings), "badtoken")
        await guesses.refuse_if_spent(services.redis, guesses_key)
        async with services.pool.connection() as conn:
            account = await lookup_credential(conn, token, digest)
        if account is None:
            await guesses.hit(services.redis, guesses_key)
            raise _unauthorized("invalid, expired or revoked credential")
        checked = await services.credentials.remember(
            digest, account.id, account.credential_epoch, user_limit.window_seconds
        )
    user_limit.check(checked.count, checked.ttl)
    user = AuthUser(checked.user_id, digest, checked.write_position)
    setattr(request.state, AUTH_USER_STATE, user)
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]
