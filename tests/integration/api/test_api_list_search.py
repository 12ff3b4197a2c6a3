"""Listing, filters, keyset pagination and search against the real PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest


def _set(database_url: str, photo_id: str, sql: str, *params: Any) -> None:
    """Write columns the processor owns, as the processor would."""
    with psycopg.connect(database_url) as conn:
        query = f"UPDATE photos SET {sql} WHERE id = %s"  # noqa: S608 - test-written SQL
        conn.execute(query.encode(), (*params, photo_id))


async def _uploads(client, headers, upload, n: int, **fields: str) -> list[dict[str, Any]]:
    return [(await upload(client, headers, fields=fields or None)).json() for _ in range(n)]


async def test_pages_walk_every_photo_once_newest_first(
    client: httpx.AsyncClient, register, upload
) -> None:
    headers = await register(client)
    uploaded = await _uploads(client, headers, upload, 7)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/photos", headers=headers, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in reversed(uploaded)]


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJrIjoieCJ9", "e30", "!!!", "eyJrIjoicGhvdG9zIiwidCI6IngiLCJpIjoieSJ9"]
)
async def test_bad_cursor_is_400(client: httpx.AsyncClient, register, cursor: str) -> None:
    response = await client.get(
        "/v1/photos", headers=await register(client), params={"cursor": cursor}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


async def test_a_trash_cursor_is_not_a_photos_cursor(
    client: httpx.AsyncClient, register, upload
) -> None:
    headers = await register(client)
    for photo in await _uploads(client, headers, upload, 2):
        await client.delete(f"/v1/photos/{photo['id']}", headers=headers)
    page = (await client.get("/v1/trash", headers=headers, params={"limit": 1})).json()
    assert page["next_cursor"]
    response = await client.get(
        "/v1/photos", headers=headers, params={"cursor": page["next_cursor"]}
    )
    assert response.status_code == 400


async def test_filters_by_tag_status_and_dates(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    headers = await register(client)
    beach = (await upload(client, headers, fields={"tags": "beach,sun"})).json()
    city = (await upload(client, headers, fields={"tags": "city"})).json()
    _set(
        database_url,
        city["id"],
        "processing_status = 'done', taken_at = %s",
        "2019-06-01T12:00:00Z",
    )
    _set(database_url, beach["id"], "created_at = %s", "2020-01-01T00:00:00Z")

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/photos", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(tag=["beach"]) == [beach["id"]]
    assert await ids(tag=["beach", "city"]) == []
    assert await ids(processing_status="done") == [city["id"]]
    assert await ids(processing_status="pending") == [beach["id"]]
    assert await ids(uploaded_before="2021-01-01T00:00:00Z") == [beach["id"]]
    assert await ids(uploaded_after="2021-01-01T00:00:00Z") == [city["id"]]
    assert await ids(taken_after="2019-01-01T00:00:00Z", taken_before="2020-01-01T00:00:00Z") == [
        city["id"]
    ]
    bad = await client.get("/v1/photos", headers=headers, params={"processing_status": "nope"})
    assert bad.status_code == 422


async def test_search_by_filename_tags_and_metadata(
    client: httpx.AsyncClient, register, upload
) -> None:
    headers = await register(client)
    sunset = (
        await upload(
            client,
            headers,
            filename="hawaii_sunset_2021.jpg",
            fields={"tags": "holiday", "metadata": '{"album": "hawaii", "n": 1}'},
        )
    ).json()
    other = (
        await upload(
            client,
            headers,
            filename="tax_receipt.png",
            fields={"metadata": '{"album": "paperwork"}'},
        )
    ).json()

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/search/photos", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(filename="sunset") == [sunset["id"]]
    assert await ids(filename="hawai_sunste") == [sunset["id"]]  # typos: trigram similarity
    assert await ids(filename="receipt") == [other["id"]]
    assert await ids(tag="holiday") == [sunset["id"]]
    assert await ids(metadata='{"album": "paperwork"}') == [other["id"]]
    assert await ids(metadata='{"album": "hawaii", "n": 1}') == [sunset["id"]]
    assert await ids(filename="%") == []  # LIKE wildcards are literal
    for params in ({}, {"metadata": "[1]"}, {"metadata": "{"}, {"lat": 1}):
        response = await client.get("/v1/search/photos", headers=headers, params=params)
        assert response.status_code == 400, params


async def test_search_near_a_place(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    headers = await register(client)
    paris, london = await _uploads(client, headers, upload, 2)
    point = "location = ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
    _set(database_url, paris["id"], point, 2.2945, 48.8584)
    _set(database_url, london["id"], point, -0.1246, 51.5007)
    response = await client.get(
        "/v1/search/photos", headers=headers, params={"lat": 48.86, "lon": 2.35, "radius_m": 10_000}
    )
    hits = response.json()["items"]
    assert [h["id"] for h in hits] == [paris["id"]]
    assert 3000 < hits[0]["distance_m"] < 6000
    wide = await client.get(
        "/v1/search/photos",
        headers=headers,
        params={"lat": 48.86, "lon": 2.35, "radius_m": 500_000},
    )
    assert [h["id"] for h in wide.json()["items"]] == [paris["id"], london["id"]]
    detail = (await client.get(f"/v1/photos/{paris['id']}", headers=headers)).json()
    assert detail["location"] == {"lat": pytest.approx(48.8584), "lon": pytest.approx(2.2945)}


async def test_near_duplicates_by_perceptual_hash(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    headers = await register(client)
    target, close, far, unprocessed = await _uploads(client, headers, upload, 4)
    base = 0x7A5F_0F0F_1234_ABCD
    _set(database_url, target["id"], "phash = %s", base)
    _set(database_url, close["id"], "phash = %s", base ^ 0b1011)  # 3 bits differ
    _set(database_url, far["id"], "phash = %s", base ^ 0xFFFF_FFFF)  # 32 bits differ
    response = await client.get(f"/v1/photos/{target['id']}/similar", headers=headers)
    assert response.status_code == 200
    assert [(i["id"], i["distance"]) for i in response.json()["items"]] == [(close["id"], 3)]
    wide = await client.get(
        f"/v1/photos/{target['id']}/similar", headers=headers, params={"max_distance": 64}
    )
    assert [i["id"] for i in wide.json()["items"]] == [close["id"], far["id"]]
    pending = await client.get(f"/v1/photos/{unprocessed['id']}/similar", headers=headers)
    assert pending.status_code == 409
