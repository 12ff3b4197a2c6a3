"""Input built to break the API: deep JSON, huge pixel counts, odd filenames, odd rows."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import httpx
import psycopg
import pytest


def _nested(depth: int) -> str:
    """A JSON object nested `depth` levels deep (arrays inside, to stay short)."""
    return '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def _objects(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest.mark.parametrize("depth", [1000, 900, 21])
async def test_deep_metadata_is_422_and_stores_nothing(
    client: httpx.AsyncClient, register, upload, s3, bucket, depth: int
) -> None:
    headers = await register(client)
    user = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    response = await upload(client, headers, fields={"metadata": _nested(depth)})
    assert response.status_code == 422, response.text
    assert "nested deeper than 20 levels" in response.json()["error"]["message"]
    search = await client.get(
        "/v1/search/photos", headers=headers, params={"metadata": _nested(depth)}
    )
    assert search.status_code == 422, search.text
    assert "nested deeper than 20 levels" in search.json()["error"]["message"]
    assert (await client.get("/v1/photos", headers=headers)).json()["items"] == []
    assert _objects(s3, bucket, f"originals/{user}/") == []


async def test_large_metadata_is_422_naming_the_limit(
    client: httpx.AsyncClient, register, upload
) -> None:
    response = await upload(
        client, await register(client), fields={"metadata": json.dumps({"k": "x" * 20_000})}
    )
    assert response.status_code == 422
    assert "larger than 16384 bytes" in response.json()["error"]["message"]


async def test_metadata_at_the_limit_reads_back_everywhere(
    client: httpx.AsyncClient, register, upload
) -> None:
    headers = await register(client)
    metadata = _nested(20)
    response = await upload(client, headers, fields={"metadata": metadata})
    assert response.status_code == 201, response.text
    photo_id = response.json()["id"]
    assert response.json()["metadata"] == json.loads(metadata)
    assert len(metadata) < 4096  # the search parameter's own limit
    assert (await client.get(f"/v1/photos/{photo_id}", headers=headers)).status_code == 200
    assert (await client.get("/v1/photos", headers=headers)).status_code == 200
    found = await client.get("/v1/search/photos", headers=headers, params={"metadata": metadata})
    assert [item["id"] for item in found.json()["items"]] == [photo_id]


async def test_search_and_reads_survive_rows_with_unreadable_dates(
    client: httpx.AsyncClient, register, upload, database_url
) -> None:
    """Dates PostgreSQL holds but Python cannot (year 10000, infinity) read as unknown."""
    headers = await register(client)
    fields = {"tags": "odd"}
    future, infinite, fine = [(await upload(client, headers, fields=fields)).json() for _ in "abc"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE photos SET taken_at = '10000-01-01' WHERE id = %s", (future["id"],))
        conn.execute("UPDATE photos SET taken_at = 'infinity' WHERE id = %s", (infinite["id"],))
        # Not one the processor writes, but no row may fail a whole search.
        conn.execute("UPDATE photos SET created_at = 'infinity' WHERE id = %s", (fine["id"],))
    found = await client.get("/v1/search/photos", headers=headers, params={"tag": "odd"})
    assert found.status_code == 200, found.text
    items = {item["id"]: item for item in found.json()["items"]}
    assert set(items) == {future["id"], infinite["id"]}
    assert all(item["taken_at"] is None for item in items.values())
    photo = await client.get(f"/v1/photos/{future['id']}", headers=headers)
    assert photo.status_code == 200
    assert photo.json()["taken_at"] is None
    listed = await client.get("/v1/photos", headers=headers)
    assert listed.status_code == 200
    taken = {item["id"]: item["taken_at"] for item in listed.json()["items"]}
    assert taken[future["id"]] is None
    assert taken[infinite["id"]] is None


def _png_header(width: int, height: int) -> bytes:
    """The start of a PNG that declares width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + bytes(4096)
    )


async def test_images_over_the_pixel_limit_are_413_before_reaching_s3(
    client: httpx.AsyncClient, register, upload, s3, bucket, database_url
) -> None:
    headers = await register(client)
    user = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    response = await upload(client, headers, _png_header(20_000, 20_000), filename="bomb.png")
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_pixels"
    assert "over the limit of 100000000 pixels" in error["message"]
    assert _objects(s3, bucket, f"originals/{user}/") == []
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM object_cleanup WHERE s3_key LIKE %s", (f"originals/{user}/%",)
        ).fetchone()
    assert left == (0,)


async def test_the_pixel_limit_is_a_setting(
    settings, make_client, register, upload, make_image
) -> None:
    async with make_client(settings.model_copy(update={"max_image_pixels": 64 * 48})) as client:
        headers = await register(client)
        assert (await upload(client, headers, make_image(size=(64, 48)))).status_code == 201
        refused = await upload(client, headers, make_image(fmt="WEBP", size=(65, 48)))
        assert refused.status_code == 413
        assert "65x48" in refused.json()["error"]["message"]


async def test_a_file_named_only_by_rfc5987_filename_star_is_accepted(
    client: httpx.AsyncClient, register, make_image
) -> None:
    headers = await register(client)
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.jpg"
        b"\r\n\r\n" + make_image() + b"\r\n--b--\r\n"
    )
    response = await client.post(
        "/v1/photos",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        content=body,
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "café.jpg"
