"""The lists' plain requests (page_route.py) answer exactly as the FastAPI route does."""

from __future__ import annotations

from typing import Any

import httpx
from service_fixtures import seed_photos


async def _both(
    client: httpx.AsyncClient, path: str, plain: str, spelled: str, headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    """The answer to a plain query, and to the same query spelled for FastAPI's route."""
    return (
        await client.get(f"{path}?{plain}", headers=headers),
        await client.get(f"{path}?{spelled}", headers=headers),
    )


def _same(fast: httpx.Response, slow: httpx.Response) -> Any:
    assert fast.status_code == slow.status_code
    assert fast.headers.get("content-type") == slow.headers.get("content-type")
    assert fast.headers.get("www-authenticate") == slow.headers.get("www-authenticate")
    assert fast.json() == slow.json()
    return fast.json()


async def test_plain_list_requests_answer_as_the_fastapi_route(
    client: httpx.AsyncClient, register: Any, database_url: str
) -> None:
    headers = await register(client)
    user_id = (await client.get("/v1/auth/me", headers=headers)).json()["id"]
    seed_photos(database_url, user_id, 12, mixed=True)
    for path in ("/v1/photos", "/v1/trash"):
        first = _same(*await _both(client, path, "limit=3", "limit=03", headers))
        assert len(first["items"]) == 3
        cursor = first["next_cursor"]
        assert cursor
        second = _same(
            *await _both(
                client, path, f"cursor={cursor}&limit=3", f"cursor={cursor}&limit=3&x=1", headers
            )
        )
        assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in first["items"]})
        everything = _same(*await _both(client, path, "", "limit=050", headers))
        assert everything["next_cursor"] is None
        assert len(everything["items"]) == (8 if path == "/v1/photos" else 4)
        # Errors: the same status, JSON body and headers.
        bad = _same(*await _both(client, path, "cursor=abc", "cursor=abc&x=1", headers))
        assert bad["error"]["code"] == "bad_cursor"
        _same(*await _both(client, path, "limit=3", "limit=03", {}))
        wrong = {"Authorization": "Bearer not-a-token"}
        unauthorized = _same(*await _both(client, path, "", "x=1", wrong))
        assert unauthorized["error"]["code"] == "unauthorized"
