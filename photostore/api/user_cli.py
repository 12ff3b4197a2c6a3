"""`photostore user disable|enable EMAIL`: an administrator's switch for an account.

Disabling revokes every session and API key of the account and ends them in every API
process at once (the user's credential epoch, credentials.py); the account cannot log in
until it is enabled again. Enabling lets it log in; its old credentials stay revoked.
Reads the API's PHOTOSTORE_* settings (the primary database, and Redis or its cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from photostore.api.accounts import Account, disable_account, enable_account
from photostore.api.config import Settings
from photostore.api.credentials import CredentialCache
from photostore.api.redis_client import create_redis
from photostore.api.redis_keys import RedisKeys
from photostore.db.pool import create_pool


async def run(settings: Settings, action: str, email: str) -> Account | None:
    """Disable or enable the account with `email`; None when there is none."""
    pool = create_pool(
        settings.database_url.get_secret_value(),
        min_size=1,
        max_size=1,
        timeout=settings.dependency_timeout_seconds,
        name="user-cli",
        application_name="photostore-user",
        autocommit=True,
    )
    redis = create_redis(settings)
    await pool.open(wait=True, timeout=settings.dependency_timeout_seconds)
    try:
        if action == "enable":
            return await enable_account(pool, email)
        account = await disable_account(pool, email)
        if account is not None:
            cache = CredentialCache(redis, RedisKeys(settings.redis_prefix))
            await cache.end_credentials(account.id, account.credential_epoch)
        return account
    finally:
        await redis.aclose()
        await pool.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="photostore user", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["disable", "enable"])
    parser.add_argument("email")
    args = parser.parse_args(argv)
    try:
        account = asyncio.run(run(Settings(), args.action, args.email))
    except Exception as exc:
        print(f"photostore user {args.action}: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    if account is None:
        print(f"no account with email {args.email}", file=sys.stderr)
        sys.exit(2)
    print(f"{args.action}d account {account.id}")
