"""Tags, trash, restore, purge (objects too) and the Redis cache, against the real services
(one Redis and a Redis Cluster)."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from service_fixtures import REDIS_TOPOLOGIES

from photostore.api.config import Settings
from photostore.api.redis_keys import RedisKeys

pytestmark = pytest.mark.parametrize("redis_topology", REDIS_TOPOLOGIES)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


async def _user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/v1/auth/me", headers=headers)).json()["id"])


async def test_trash_restore_and_purge_with_objects(
    client: httpx.AsyncClient, register, upload, s3, bucket, database_url
) -> None:
    headers = await register(client)
    photo = (await upload(client, headers)).json()
    pid = photo["id"]
    # Thumbnails as the processor writes them.
    thumbs = {"grid": f"thumbnails/{pid}/grid.webp", "preview": f"thumbnails/{pid}/preview.jpg"}
    for key in thumbs.values():
        s3.put_object(Bucket=bucket, Key=key, Body=b"thumb")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE photos SET thumbnails = %s WHERE id = %s",
            (psycopg.types.json.Jsonb(thumbs), pid),
        )

    links = (await client.get(f"/v1/photos/{pid}/download", headers=headers)).json()
    assert sorted(links["thumbnails"]) == ["grid", "preview"]
    async with httpx.AsyncClient() as raw:
        assert (await raw.get(links["thumbnails"]["grid"]["url"])).content == b"thumb"
        assert (await raw.get(links["original"]["url"])).headers["content-type"] == "image/jpeg"

    assert (await client.delete(f"/v1/photos/{pid}", headers=headers)).status_code == 204
    assert (await client.get(f"/v1/photos/{pid}", headers=headers)).status_code == 404
    assert (await client.get("/v1/photos", headers=headers)).json()["items"] == []
    trash = (await client.get("/v1/trash", headers=headers)).json()["items"]
    assert [t["id"] for t in trash] == [pid] and trash[0]["deleted_at"]

    restored = await client.post(f"/v1/trash/{pid}/restore", headers=headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert (await client.get(f"/v1/photos/{pid}", headers=headers)).status_code == 200

    # Only trashed photos can be purged.
    assert (await client.delete(f"/v1/trash/{pid}", headers=headers)).status_code == 404
    await client.delete(f"/v1/photos/{pid}", headers=headers)
    assert (await client.delete(f"/v1/trash/{pid}", headers=headers)).status_code == 204
    user = await _user_id(client, headers)
    assert _keys(s3, bucket, f"originals/{user}/") == []
    assert _keys(s3, bucket, f"thumbnails/{pid}/") == []
    assert (await client.get("/v1/trash", headers=headers)).json()["items"] == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM object_cleanup WHERE photo_id = %s", (pid,)
        ).fetchone() == (0,)


async def test_restore_conflicts_with_a_live_copy_of_the_same_bytes(
    client: httpx.AsyncClient, register, upload, make_image
) -> None:
    headers = await register(client)
    data = make_image()
    first = (await upload(client, headers, data)).json()
    await client.delete(f"/v1/photos/{first['id']}", headers=headers)
    second = await upload(client, headers, data)
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    conflict = await client.post(f"/v1/trash/{first['id']}/restore", headers=headers)
    assert conflict.status_code == 409


async def _photo_key(settings: Settings, client: httpx.AsyncClient, headers, pid: str) -> str:
    user_id = await _user_id(client, headers)
    return RedisKeys(settings.redis_prefix).user(user_id, f"photo:{pid}")


async def test_edit_tags_validates_and_invalidates_the_cache(
    settings: Settings, client: httpx.AsyncClient, register, upload, database_url, redis_sync
) -> None:
    headers = await register(client)
    pid = (await upload(client, headers, fields={"tags": "old"})).json()["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET processing_status = 'done' WHERE id = %s", (pid,))
    assert (await client.get(f"/v1/photos/{pid}", headers=headers)).json()["tags"] == ["old"]
    cache = redis_sync
    key = await _photo_key(settings, client, headers, pid)
    assert cache.exists(key) == 1  # a finished photo is cached

    # A change behind the API's back is not seen while cached ...
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET camera_make = 'Canon' WHERE id = %s", (pid,))
    assert (await client.get(f"/v1/photos/{pid}", headers=headers)).json()["camera_make"] is None
    # ... and a change through the API invalidates the entry.
    response = await client.put(
        f"/v1/photos/{pid}/tags", headers=headers, json={"tags": [" New ", "new", "x"]}
    )
    assert response.status_code == 200
    assert response.json()["tags"] == ["new", "x"]
    fresh = (await client.get(f"/v1/photos/{pid}", headers=headers)).json()
    assert fresh["tags"] == ["new", "x"] and fresh["camera_make"] == "Canon"
    await client.delete(f"/v1/photos/{pid}", headers=headers)
    assert cache.exists(key) == 0

    for body in ({"tags": "x"}, {"tags": [""]}, {"tags": ["a" * 65]}, {"tags": ["x"] * 51}, {}):
        bad = await client.put(f"/v1/photos/{pid}/tags", headers=headers, json=body)
        assert bad.status_code == 422, body


@pytest.mark.parametrize("status", ["pending", "processing", "failed"])
async def test_photos_the_processor_may_still_write_are_not_cached(
    settings: Settings,
    client: httpx.AsyncClient,
    register,
    upload,
    database_url,
    redis_sync,
    status: str,
) -> None:
    headers = await register(client)
    pid = (await upload(client, headers)).json()["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET processing_status = %s WHERE id = %s", (status, pid))
    assert (await client.get(f"/v1/photos/{pid}", headers=headers)).json()[
        "processing_status"
    ] == status
    assert redis_sync.exists(await _photo_key(settings, client, headers, pid)) == 0
