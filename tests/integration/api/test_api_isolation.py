"""A user never sees, downloads, changes or deletes another user's photo: one test per route."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from photostore.api.app import create_app
from photostore.api.config import Settings

# (method, route, json body, whether the victim's photo should be in the trash first)
PHOTO_ROUTES: list[tuple[str, str, Any, bool]] = [
    ("GET", "/v1/photos/{photo_id}", None, False),
    ("GET", "/v1/photos/{photo_id}/download", None, False),
    ("PUT", "/v1/photos/{photo_id}/tags", {"tags": ["mine-now"]}, False),
    ("DELETE", "/v1/photos/{photo_id}", None, False),
    ("GET", "/v1/photos/{photo_id}/similar", None, False),
    ("POST", "/v1/trash/{photo_id}/restore", None, True),
    ("DELETE", "/v1/trash/{photo_id}", None, True),
]


def test_every_route_with_a_photo_id_is_covered() -> None:
    app = create_app(Settings(background_tasks=False))
    routes = {
        (method, path)
        for path, item in app.openapi()["paths"].items()
        if "{photo_id}" in path
        for method in (m.upper() for m in item)
    }
    assert routes == {(method, route) for method, route, _, _ in PHOTO_ROUTES}


@pytest.mark.parametrize(("method", "route", "body", "trashed"), PHOTO_ROUTES)
async def test_other_user_gets_404_and_changes_nothing(
    client: httpx.AsyncClient,
    register,
    upload,
    database_url,
    s3,
    bucket,
    method: str,
    route: str,
    body: Any,
    trashed: bool,
) -> None:
    alice, mallory = await register(client), await register(client)
    photo = (await upload(client, alice, fields={"tags": "private"})).json()
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET phash = 1 WHERE id = %s", (photo["id"],))
    if trashed:
        await client.delete(f"/v1/photos/{photo['id']}", headers=alice)

    response = await client.request(
        method, route.format(photo_id=photo["id"]), headers=mallory, json=body
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "amazonaws" not in response.text and "X-Amz" not in response.text

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT tags, deleted_at IS NOT NULL FROM photos WHERE id = %s", (photo["id"],)
        ).fetchone()
    assert row == (["private"], trashed)
    user = (await client.get("/v1/auth/me", headers=alice)).json()["id"]
    s3.head_object(Bucket=bucket, Key=f"originals/{user}/{photo['id']}")


async def test_lists_and_search_show_only_own_photos(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    alice, bob = await register(client), await register(client)
    live = (
        await upload(
            client,
            alice,
            filename="secret_plan.jpg",
            fields={"tags": "t", "metadata": '{"k": "v"}'},
        )
    ).json()
    trashed = (await upload(client, alice)).json()
    await client.delete(f"/v1/photos/{trashed['id']}", headers=alice)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE photos SET location = ST_SetSRID(ST_MakePoint(0, 0), 4326)::geography,"
            " phash = 1 WHERE id = %s",
            (live["id"],),
        )
    mine = (await upload(client, bob)).json()
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET phash = 1 WHERE id = %s", (mine["id"],))

    async def ids(path: str, **params: Any) -> list[str]:
        response = await client.get(path, headers=bob, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("/v1/photos") == [mine["id"]]
    assert await ids("/v1/trash") == []
    assert await ids("/v1/search/photos", filename="secret_plan") == []
    assert await ids("/v1/search/photos", tag="t") == []
    assert await ids("/v1/search/photos", metadata='{"k": "v"}') == []
    assert await ids("/v1/search/photos", lat=0, lon=0) == []
    assert await ids(f"/v1/photos/{mine['id']}/similar", max_distance=64) == []
