"""POST /v1/photos/lookup: which of the caller's live photos have these SHA-256 digests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx


async def test_lookup_answers_the_ids_of_the_callers_photos_with_those_digests(
    client: httpx.AsyncClient, register: Any, upload: Any, make_image: Callable[..., bytes]
) -> None:
    headers = await register(client)
    first, second, never_sent = make_image(), make_image("PNG"), make_image()
    ids = {}
    for data in (first, second):
        response = await upload(client, headers, data)
        assert response.status_code == 201, response.text
        ids[hashlib.sha256(data).hexdigest()] = response.json()["id"]
    digests = [*ids, hashlib.sha256(never_sent).hexdigest()]

    response = await client.post("/v1/photos/lookup", headers=headers, json={"sha256": digests})

    assert response.status_code == 200, response.text
    assert response.json() == {"found": ids}


async def test_lookup_accepts_upper_case_and_repeated_digests(
    client: httpx.AsyncClient, register: Any, upload: Any
) -> None:
    headers = await register(client)
    stored = (await upload(client, headers)).json()
    photo_id, digest = stored["id"], stored["sha256"]

    response = await client.post(
        "/v1/photos/lookup", headers=headers, json={"sha256": [digest.upper(), digest]}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"found": {digest: photo_id}}


async def test_lookup_never_answers_another_users_photo(
    client: httpx.AsyncClient, register: Any, upload: Any, make_image: Callable[..., bytes]
) -> None:
    owner, stranger = await register(client), await register(client)
    data = make_image()
    assert (await upload(client, owner, data)).status_code == 201
    digest = hashlib.sha256(data).hexdigest()

    response = await client.post("/v1/photos/lookup", headers=stranger, json={"sha256": [digest]})

    assert response.status_code == 200, response.text
    assert response.json() == {"found": {}}


async def test_lookup_skips_photos_in_the_trash(
    client: httpx.AsyncClient, register: Any, upload: Any, make_image: Callable[..., bytes]
) -> None:
    headers = await register(client)
    data = make_image()
    photo_id = (await upload(client, headers, data)).json()["id"]
    assert (await client.delete(f"/v1/photos/{photo_id}", headers=headers)).status_code == 204

    response = await client.post(
        "/v1/photos/lookup",
        headers=headers,
        json={"sha256": [hashlib.sha256(data).hexdigest()]},
    )

    assert response.json() == {"found": {}}


async def test_lookup_refuses_bad_input_with_a_json_4xx(
    client: httpx.AsyncClient, register: Any
) -> None:
    headers = await register(client)
    good = "a" * 64
    for body in (
        {"sha256": ["not-hex" + "0" * 57]},
        {"sha256": [good[:63]]},
        {"sha256": [good + "0"]},
        {"sha256": [good] * 1001},
        {"sha256": []},
        {"sha256": good},
        {"digests": [good]},
        [good],
    ):
        response = await client.post("/v1/photos/lookup", headers=headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    response = await client.post(
        "/v1/photos/lookup",
        headers={**headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"]


async def test_lookup_takes_a_full_batch_of_digests(
    client: httpx.AsyncClient, register: Any
) -> None:
    headers = await register(client)
    batch = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1000)]

    response = await client.post("/v1/photos/lookup", headers=headers, json={"sha256": batch})

    assert response.status_code == 200, response.text
    assert response.json() == {"found": {}}


async def test_lookup_needs_a_credential(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/photos/lookup", json={"sha256": ["a" * 64]})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
