"""Uploads against the real S3 and PostgreSQL: type sniffing, limits, dedupe, streaming."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import httpx
import psycopg
import pytest

from photostore.api.config import Settings


def _objects(s3: Any, bucket: str, prefix: str = "originals/") -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for obj in listing.get("Contents", [])]


def _count(database_url: str, sql: str, *params: Any) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.encode(), params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("HEIF", "image/heic")],
)
async def test_type_comes_from_the_bytes_not_the_name(
    client: httpx.AsyncClient, register, upload, make_image, s3, bucket, fmt, expected
) -> None:
    headers = await register(client)
    data = make_image(fmt)
    response = await upload(client, headers, data, filename="lies.txt")
    assert response.status_code == 201, response.text
    photo = response.json()
    assert photo["content_type"] == expected
    assert photo["size"] == len(data)
    assert photo["sha256"] == hashlib.sha256(data).hexdigest()
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    stored = s3.get_object(Bucket=bucket, Key=f"originals/{user_id}/{photo['id']}")
    assert stored["Body"].read() == data
    assert stored["ContentType"] == expected


async def test_upload_writes_a_pending_row_and_an_outbox_event(
    client: httpx.AsyncClient, register, upload, database_url, topic
) -> None:
    headers = await register(client)
    photo = (await upload(client, headers, fields={"tags": "Beach, sun ,beach"})).json()
    assert photo["processing_status"] == "pending"
    assert photo["tags"] == ["beach", "sun"]
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT topic, payload FROM outbox WHERE key = %s", (photo["id"],)
        ).fetchone()
    assert row is not None
    assert row[0] == topic
    assert row[1]["photo_id"] == photo["id"]
    assert row[1]["sha256"] == photo["sha256"]
    assert row[1]["object_key"].endswith(photo["id"])
    assert (
        _count(database_url, "SELECT count(*) FROM object_cleanup WHERE photo_id = %s", photo["id"])
        == 0
    )


async def test_same_bytes_twice_return_the_existing_photo(
    client: httpx.AsyncClient, register, upload, make_image, s3, bucket, database_url
) -> None:
    headers = await register(client)
    data = make_image()
    first = await upload(client, headers, data, filename="a.jpg")
    second = await upload(client, headers, data, filename="b.jpg")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    assert _objects(s3, bucket, f"originals/{user_id}/") == [
        f"originals/{user_id}/{first.json()['id']}"
    ]
    assert (
        _count(database_url, "SELECT count(*) FROM outbox WHERE key = %s", first.json()["id"]) == 1
    )
    # Another user uploading the same bytes gets their own photo.
    other = await upload(client, await register(client), data)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def test_large_file_is_streamed_in_parts(
    settings: Settings, make_client, register, upload, s3, bucket
) -> None:
    settings = settings.model_copy(
        update={
            "max_upload_bytes": 40 * 1024 * 1024,
            "upload_part_bytes": 5 * 1024 * 1024,
            "upload_single_put_bytes": 5 * 1024 * 1024,
        }
    )
    data = b"\xff\xd8\xff\xe0" + os.urandom(13 * 1024 * 1024)
    async with make_client(settings) as client:
        response = await upload(client, await register(client), data, "big.jpg")
    assert response.status_code == 201, response.text
    photo = response.json()
    assert photo["sha256"] == hashlib.sha256(data).hexdigest()
    head = s3.head_object(Bucket=bucket, Key=_original_key(photo, s3, bucket))
    assert head["ContentLength"] == len(data)
    # A multipart upload's ETag is "<md5 of part md5s>-<number of parts>".
    assert head["ETag"].strip('"').endswith("-3")


async def test_s3_keeps_the_sha256_it_checked(
    client: httpx.AsyncClient, register, upload, s3, bucket
) -> None:
    data = b"\xff\xd8\xff\xe0" + os.urandom(64 * 1024)
    response = await upload(client, await register(client), data, "small.jpg")
    assert response.status_code == 201, response.text
    photo = response.json()
    key = _original_key(photo, s3, bucket)
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == photo["sha256"]


def _original_key(photo: dict[str, Any], s3: Any, bucket: str) -> str:
    """The one object in the bucket stored for this photo: originals/<user>/<id>."""
    keys = [k for k in _objects(s3, bucket) if k.endswith(photo["id"])]
    assert len(keys) == 1
    assert keys[0].startswith("originals/")
    return keys[0]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"%PDF-1.7 definitely not an image" * 4, 415, "unsupported_image"),
        (b"\x89PNG", 415, "unsupported_image"),
        (b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024), 413, "too_large"),
    ],
    ids=["empty", "pdf", "truncated-png-signature", "too-large"],
)
async def test_bad_files_are_refused_and_leave_nothing_behind(
    client: httpx.AsyncClient, register, upload, s3, bucket, database_url, data, status, code
) -> None:
    headers = await register(client)
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    response = await upload(client, headers, data)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert _objects(s3, bucket, f"originals/{user_id}/") == []
    assert _count(database_url, "SELECT count(*) FROM photos WHERE user_id = %s", user_id) == 0
    assert (
        _count(
            database_url,
            "SELECT count(*) FROM object_cleanup WHERE s3_key LIKE %s",
            f"originals/{user_id}/%",
        )
        == 0
    )


async def test_too_large_declared_length_is_refused_before_reading(
    client: httpx.AsyncClient, register
) -> None:
    headers = await register(client)
    response = await client.post(
        "/v1/photos",
        headers={
            **headers,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(10**10),
        },
        content=b"",
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": {"tags": "x"}}, 400),  # no file part
        ({"content": b"raw bytes", "headers": {"Content-Type": "image/jpeg"}}, 415),
        (
            {
                "content": b"--x\r\nbroken",
                "headers": {"Content-Type": "multipart/form-data; boundary=x"},
            },
            400,
        ),
        ({"content": b"", "headers": {"Content-Type": "multipart/form-data"}}, 400),
    ],
    ids=["no-file", "not-multipart", "truncated-multipart", "no-boundary"],
)
async def test_malformed_requests_are_4xx_json(
    client: httpx.AsyncClient, register, kwargs, status
) -> None:
    headers = await register(client)
    extra = kwargs.pop("headers", {})
    if "data" in kwargs:
        kwargs["files"] = {"other": ("x", b"x")}
    response = await client.post("/v1/photos", headers={**headers, **extra}, **kwargs)
    assert response.status_code == status, response.text
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"metadata": "[1, 2]"}, "validation_error"),
        ({"metadata": "{bad"}, "validation_error"),
        ({"tags": "x" * 65}, "validation_error"),
        ({"metadata": '{"a": "\\u0000"}'}, "validation_error"),
    ],
)
async def test_bad_form_fields_are_422(
    client: httpx.AsyncClient, register, upload, fields, code
) -> None:
    response = await upload(client, await register(client), fields=fields)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\me\\IMG_1.JPG", "IMG_1.JPG"),
        ("...", "upload"),
        ("😀" * 300, "😀" * 255),
    ],
)
async def test_hostile_filenames_are_neutralised(
    client: httpx.AsyncClient, register, upload, raw, shown
) -> None:
    response = await upload(client, await register(client), filename=raw)
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == shown


async def test_control_characters_in_a_raw_filename_are_dropped(
    client: httpx.AsyncClient, register, make_image
) -> None:
    headers = await register(client)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="evil\x01na\x7fme.jpg"'
        b"\r\n\r\n" + make_image() + b"\r\n--b--\r\n"
    )
    response = await client.post(
        "/v1/photos",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
        content=body,
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "evilname.jpg"
