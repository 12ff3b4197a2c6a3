"""Accounts, sessions and API keys against the real PostgreSQL and Redis (one Redis, and a
Redis Cluster)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from service_fixtures import REDIS_TOPOLOGIES

pytestmark = pytest.mark.parametrize("redis_topology", REDIS_TOPOLOGIES)


async def test_register_login_and_me(client: httpx.AsyncClient) -> None:
    email = f"Ann-{uuid.uuid4().hex[:8]}@Example.com"
    created = await client.post("/v1/auth/register", json={"email": email, "password": "s3cret-pw"})
    assert created.status_code == 201
    assert "password" not in created.text and "hash" not in created.text
    login = await client.post(
        "/v1/auth/login", json={"email": email.lower(), "password": "s3cret-pw"}
    )
    assert login.status_code == 200
    token = login.json()["access_token"]
    me = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == created.json()["id"]


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "password1"}
    assert (await client.post("/v1/auth/register", json=body)).status_code == 201
    again = await client.post("/v1/auth/register", json={**body, "email": email.upper()})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


async def test_wrong_password_and_unknown_email_are_401(client: httpx.AsyncClient) -> None:
    email = f"pw-{uuid.uuid4().hex[:8]}@example.com"
    await client.post("/v1/auth/register", json={"email": email, "password": "password1"})
    wrong = await client.post("/v1/auth/login", json={"email": email, "password": "password2"})
    unknown = await client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "password2"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_missing_or_bogus_token_is_401_json(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer pss_bogus"}, {"Authorization": "Basic x"}):
        response = await client.get("/v1/photos", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


async def test_logout_revokes_the_session(client: httpx.AsyncClient, register) -> None:
    headers = await register(client)
    assert (await client.get("/v1/photos", headers=headers)).status_code == 200
    assert (await client.post("/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/v1/photos", headers=headers)).status_code == 401


async def test_api_key_works_until_revoked(client: httpx.AsyncClient, register) -> None:
    headers = await register(client)
    created = await client.post("/v1/api-keys", json={"name": "backup script"}, headers=headers)
    assert created.status_code == 201
    key = created.json()["key"]
    key_headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/photos", headers=key_headers)).status_code == 200
    listed = (await client.get("/v1/api-keys", headers=headers)).json()
    assert [k["id"] for k in listed] == [created.json()["id"]]
    assert "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    revoked = await client.delete(f"/v1/api-keys/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    assert (await client.get("/v1/photos", headers=key_headers)).status_code == 401


async def test_a_user_cannot_revoke_another_users_key(client: httpx.AsyncClient, register) -> None:
    alice, bob = await register(client), await register(client)
    created = await client.post("/v1/api-keys", json={"name": "k"}, headers=alice)
    key_id = created.json()["id"]
    assert (await client.delete(f"/v1/api-keys/{key_id}", headers=bob)).status_code == 404
    assert (await client.get("/v1/api-keys", headers=bob)).json() == []
    key_headers = {"Authorization": f"Bearer {created.json()['key']}"}
    assert (await client.get("/v1/photos", headers=key_headers)).status_code == 200


async def test_bad_registration_input_is_422_json(client: httpx.AsyncClient) -> None:
    for body in (
        {"email": "not-an-email", "password": "password1"},
        {"email": "a@b.co", "password": "short"},
        {"email": "a@b.co"},
        {"email": 5, "password": ["x"]},
    ):
        response = await client.post("/v1/auth/register", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
    garbage = await client.post(
        "/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 422
