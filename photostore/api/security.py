"""Passwords (argon2id) and bearer credentials.

Two kinds of bearer credential, told apart by prefix: login sessions (`pss_...`, expire)
and API keys (`psk_...`, live until revoked). Both are 256 random bits; the database keeps
only their SHA-256, which is enough for a secret of that entropy and cheap to look up.
"""

from __future__ import annotations

import hashlib
import secrets

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_PREFIX = "pss_"
API_KEY_PREFIX = "psk_"

_hasher = PasswordHasher()
# Verified when the email is unknown, so a login's timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def credential_hash(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()
