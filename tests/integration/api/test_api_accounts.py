"""Who may do what changes at once, in every API process: revoke, logout, disable, delete."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from service_fixtures import REDIS_TOPOLOGIES

from photostore.api.config import Settings
from photostore.api.credentials import CredentialCache
from photostore.api.object_sweeper import sweep_once
from photostore.api.redis_client import create_redis
from photostore.api.redis_keys import RedisKeys
from photostore.api.user_cli import run as user_command
from photostore.db.pool import create_pool

PASSWORD = "correct horse"

pytestmark = pytest.mark.parametrize("redis_topology", REDIS_TOPOLOGIES)


async def _account(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    email = f"acct-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD}
    assert (await client.post("/v1/auth/register", json=body)).status_code == 201
    return email, await _session(client, email)


async def _session(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return _bearer(response.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _key(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    response = await client.post("/v1/api-keys", headers=headers, json={"name": "k"})
    assert response.status_code == 201, response.text
    return response.json()["id"], _bearer(response.json()["key"])


async def _statuses(
    clients: list[httpx.AsyncClient], credentials: list[dict[str, str]]
) -> list[int]:
    """GET /v1/photos with each credential through each app (each also warms the cache)."""
    return [
        (await client.get("/v1/photos", headers=headers)).status_code
        for headers in credentials
        for client in clients
    ]


async def test_every_credential_change_takes_effect_on_the_next_request_in_every_process(
    settings: Settings, make_client, upload, database_url, s3, bucket
) -> None:
    # Two API instances, as two pods: separate processes' state, shared PostgreSQL and Redis.
    async with make_client(settings) as a, make_client(settings) as b:
        email, session1 = await _account(a)
        session2 = await _session(b, email)
        key1_id, key1 = await _key(a, session1)
        _, key2 = await _key(b, session2)
        assert await _statuses([a, b], [session1, session2, key1, key2]) == [200] * 8

        # A key revoked through one process is refused by the other on the next request.
        assert (await a.delete(f"/v1/api-keys/{key1_id}", headers=session1)).status_code == 204
        assert await _statuses([b, a], [key1]) == [401, 401]
        assert await _statuses([a, b], [session1, session2, key2]) == [200] * 6

        # Logging out through one process ends that session everywhere, only that one.
        assert (await b.post("/v1/auth/logout", headers=session1)).status_code == 204
        assert await _statuses([a, b], [session1]) == [401, 401]
        assert await _statuses([a, b], [session2, key2]) == [200] * 4

        # An administrator disables the account: every credential ends at once.
        disabled = await user_command(settings, "disable", email)
        assert disabled is not None
        assert await _statuses([a, b], [session2, key2]) == [401] * 4
        login = await a.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 403
        assert login.json()["error"]["code"] == "account_disabled"
        # Enabled again, the user logs in anew; the old credentials stay ended.
        assert await user_command(settings, "enable", email) is not None
        session3 = await _session(a, email)
        assert await _statuses([a, b], [session2, key2, session3]) == [401] * 4 + [200] * 2

        # The user deletes the account through one process: the other refuses it at once.
        _, key3 = await _key(b, session3)
        photo = (await upload(a, session3)).json()
        assert await _statuses([a, b], [session3, key3]) == [200] * 4
        assert (await a.delete("/v1/auth/me", headers=session3)).status_code == 204
        assert await _statuses([b, a], [session3, key3]) == [401] * 4
        login = await b.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 401

    # Its photos are gone, and the sweeper deletes their objects in the background.
    key = f"originals/{disabled.id}/{photo['id']}"
    s3.head_object(Bucket=bucket, Key=key)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM photos WHERE id = %s", (photo["id"],)
        ).fetchone() == (0,)
    pool = create_pool(database_url, min_size=1, max_size=2)
    await pool.open()
    try:
        while await sweep_once(pool, s3, bucket):
            pass
    finally:
        await pool.close()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"originals/{disabled.id}/")


async def test_a_write_for_an_account_deleted_meanwhile_is_401_not_500(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    """Even when the account goes without the API (its credential still cached)."""
    headers = await register(client)
    user = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (user,))
    for response in (
        await upload(client, headers),
        await client.post("/v1/api-keys", headers=headers, json={"name": "k"}),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env: dict[str, Any] = {
        **os.environ,
        "PHOTOSTORE_DATABASE_URL": settings.database_url.get_secret_value(),
        "PHOTOSTORE_REDIS_URL": settings.redis_url.get_secret_value(),
        "PHOTOSTORE_REDIS_PREFIX": settings.redis_prefix,
        "PHOTOSTORE_REDIS_CLUSTER_NODES": ",".join(settings.redis_cluster_nodes),
    }
    return subprocess.run(
        [sys.executable, "-m", "photostore", "user", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_user_command_disables_and_enables_an_account(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    email, session = await _account(client)
    assert (await client.get("/v1/photos", headers=session)).status_code == 200
    disabled = _cli(settings, "disable", email.upper())
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled account" in disabled.stdout
    assert (await client.get("/v1/photos", headers=session)).status_code == 401
    enabled = _cli(settings, "enable", email)
    assert enabled.returncode == 0, enabled.stderr
    await _session(client, email)
    unknown = _cli(settings, "disable", "nobody-at-all@example.com")
    assert unknown.returncode == 2
    assert "no account" in unknown.stderr


async def test_a_lookup_that_read_the_epoch_before_a_change_is_not_cached(
    settings: Settings,
) -> None:
    """A request that found the credential valid just before it was ended (an older
    epoch) is served, but what it read is not cached for the next request, in this process
    nor in another."""
    redis = create_redis(settings)
    keys = RedisKeys(settings.redis_prefix)
    cache, other_process = CredentialCache(redis, keys), CredentialCache(redis, keys)
    user, fresh, stale = uuid.uuid4(), b"fresh-credential", b"stale-credential"
    try:
        await cache.remember(fresh, user, 3, 60)
        assert (await cache.cached(fresh, 60)) is not None
        assert (await other_process.cached(fresh, 60)) is not None
        await cache.end_credentials(user, 4)
        assert await cache.cached(fresh, 60) is None
        assert await other_process.cached(fresh, 60) is None
        checked = await cache.remember(stale, user, 3, 60)  # read before the change
        assert checked.count == 4  # still counted against the user's limit
        assert await cache.cached(stale, 60) is None
        assert await other_process.cached(stale, 60) is None
        await cache.remember(fresh, user, 4, 60)
        hit = await other_process.cached(fresh, 60)
        assert hit is not None
        assert hit.user_id == user
    finally:
        await cache.aclose()
        await other_process.aclose()
        await redis.aclose()
