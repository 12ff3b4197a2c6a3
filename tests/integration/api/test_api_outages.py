"""A dependency down means 503 with a clear body, and nothing orphaned."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from photostore.api.config import Settings
from photostore.api.object_sweeper import sweep_once
from photostore.db.pool import create_pool

DEAD = {
    "postgres": {"database_url": SecretStr("postgresql://nobody@127.0.0.1:1/none")},
    "redis": {"redis_url": SecretStr("redis://127.0.0.1:1/0")},
    "s3": {"s3_endpoint": "http://127.0.0.1:1"},
    "kafka": {"kafka_brokers": "127.0.0.1:1"},
}
NAMES = {"postgres": "PostgreSQL", "redis": "Redis", "s3": "S3"}


@pytest.mark.parametrize(
    ("dependency", "ready"),
    [("postgres", False), ("redis", False), ("kafka", True), ("s3", True)],
)
async def test_ready_depends_on_postgres_and_redis_and_names_what_is_down(
    settings: Settings, make_client, dependency: str, ready: bool
) -> None:
    """Kafka (the outbox holds events) and S3 (only uploads need it) do not fail readiness:
    all pods share them, and failing would take every pod out of the Service."""
    down = settings.model_copy(update={**DEAD[dependency], "dependency_timeout_seconds": 1.0})
    async with make_client(down) as client:
        assert (await client.get("/health")).status_code == 200
        response = await client.get("/ready")
    assert response.status_code == (200 if ready else 503)
    assert response.json()["status"] == ("degraded" if ready else "unavailable")
    checks = response.json()["checks"]
    assert checks[dependency].startswith("unavailable")
    assert {name for name, state in checks.items() if state == "ok"} == set(DEAD) - {dependency}


@pytest.mark.parametrize("dependency", ["postgres", "redis"])
async def test_requests_get_503_when_postgres_or_redis_is_down(
    settings: Settings, make_client, dependency: str
) -> None:
    down = settings.model_copy(update={**DEAD[dependency], "dependency_timeout_seconds": 1.0})
    async with make_client(down) as client:
        body = {"email": f"x{uuid.uuid4().hex[:6]}@example.com", "password": "password1"}
        for response in (
            await client.post("/v1/auth/register", json=body),
            await client.get("/v1/photos", headers={"Authorization": "Bearer pss_x"}),
        ):
            assert response.status_code == 503
            error = response.json()["error"]
            assert error["code"] == "dependency_unavailable"
            assert error["details"]["dependency"] == NAMES[dependency]
            assert response.headers["retry-after"]


async def test_upload_with_s3_down_is_503_and_leaves_no_row(
    settings: Settings, client: httpx.AsyncClient, make_client, register, upload, database_url
) -> None:
    headers = await register(client)  # the account is made while S3 is up
    down = settings.model_copy(update=DEAD["s3"])
    async with make_client(down) as broken:
        response = await upload(broken, headers)
        assert response.status_code == 503
        assert response.json()["error"]["details"]["dependency"] == "S3"
        assert (await broken.get("/v1/photos", headers=headers)).json()["items"] == []
    user = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM photos WHERE user_id = %s", (user,)
        ).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM outbox o WHERE o.payload->>'user_id' = %s", (user,)
        ).fetchone() == (0,)


async def test_purge_with_s3_down_is_503_and_changes_nothing(
    settings: Settings, client: httpx.AsyncClient, make_client, register, upload
) -> None:
    headers = await register(client)
    pid = (await upload(client, headers)).json()["id"]
    await client.delete(f"/v1/photos/{pid}", headers=headers)
    async with make_client(settings.model_copy(update=DEAD["s3"])) as broken:
        response = await broken.delete(f"/v1/trash/{pid}", headers=headers)
    assert response.status_code == 503
    assert [p["id"] for p in (await client.get("/v1/trash", headers=headers)).json()["items"]] == [
        pid
    ]


async def test_sweeper_deletes_objects_no_photo_claims(
    client: httpx.AsyncClient, register, upload, database_url, s3, bucket
) -> None:
    """What an upload leaves when PostgreSQL dies before its commit is swept later."""
    orphan_id = uuid.uuid4()
    orphan_key = f"originals/{uuid.uuid4()}/{orphan_id}"
    s3.put_object(Bucket=bucket, Key=orphan_key, Body=b"half an upload")
    headers = await register(client)
    kept = (await upload(client, headers)).json()
    user = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    kept_key = f"originals/{user}/{kept['id']}"
    future_id, future_key = uuid.uuid4(), f"originals/x/{uuid.uuid4()}"
    s3.put_object(Bucket=bucket, Key=future_key, Body=b"in flight")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO object_cleanup (photo_id, s3_key, not_before) VALUES"
            " (%s, %s, now() - interval '1 s'), (%s, %s, now() - interval '1 s'),"
            " (%s, %s, now() + interval '1 h')",
            (orphan_id, orphan_key, kept["id"], kept_key, future_id, future_key),
        )
    pool = create_pool(database_url, min_size=1, max_size=2)
    await pool.open()
    try:
        while await sweep_once(pool, s3, bucket):
            pass
    finally:
        await pool.close()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=orphan_key)
    s3.head_object(Bucket=bucket, Key=kept_key)  # claimed by a photo: kept
    s3.head_object(Bucket=bucket, Key=future_key)  # upload still in flight: kept
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT photo_id FROM object_cleanup WHERE photo_id = ANY(%s::uuid[])",
            ([str(orphan_id), kept["id"], str(future_id)],),
        ).fetchall()
    assert [str(r[0]) for r in left] == [str(future_id)]
