"""Which list requests the plain page route takes; everything else stays with FastAPI."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Match

from photostore.api.app import create_app
from photostore.api.config import Settings
from photostore.api.page_route import PageRoute, plain_page_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (50, None)),
        (b"limit=1", (1, None)),
        (b"limit=100", (100, None)),
        (b"limit=37&cursor=eyJrIjoicGhvdG9zIn0", (37, "eyJrIjoicGhvdG9zIn0")),
        (b"cursor=abc_-XYZ09&limit=5", (5, "abc_-XYZ09")),
    ],
)
def test_plain_queries_are_read(query: bytes, expected: tuple[int, str | None]) -> None:
    assert plain_page_query(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"limit=0",
        b"limit=101",
        b"limit=05",  # FastAPI reads 5: left to it, as every other spelling
        b"limit=+5",
        b"limit=5.0",
        b"limit=",
        b"limit",
        b"limit=5&limit=6",
        b"cursor=",
        b"cursor=abc%3D",
        b"cursor=a+b",
        b"cursor=" + b"a" * 513,
        b"cursor=abc&cursor=abd",
        b"tag=sea",
        b"limit=5&tag=sea",
        b"processing_status=done",
        b"unknown=1",
        b"&",
        b"limit=5&",
    ],
)
def test_anything_else_is_left_to_fastapi(query: bytes) -> None:
    assert plain_page_query(query) is None


def _scope(method: str, path: str, query: bytes, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "query_string": query, **extra}


def test_the_route_matches_plain_gets_of_its_path_only() -> None:
    route = PageRoute("/v1/photos", "photos")
    match, child = route.matches(_scope("GET", "/v1/photos", b"limit=3"))
    assert match is Match.FULL
    assert child == {"route": route}
    for scope in (
        _scope("POST", "/v1/photos", b""),
        _scope("HEAD", "/v1/photos", b""),
        _scope("GET", "/v1/photos/", b""),
        _scope("GET", "/v1/photos/lookup", b""),
        _scope("GET", "/v1/photos", b"tag=sea"),
        _scope("GET", "/v1/photos", b"", root_path="/api"),
        {"type": "websocket", "path": "/v1/photos", "query_string": b""},
    ):
        assert route.matches(scope)[0] is Match.NONE


def test_the_app_tries_the_page_routes_before_fastapi_routes() -> None:
    app = create_app(Settings(metrics_port=0, background_tasks=False))
    first = app.router.routes[:2]
    assert [(type(r), r.path, r.kind) for r in first] == [  # type: ignore[attr-defined]
        (PageRoute, "/v1/photos", "photos"),
        (PageRoute, "/v1/trash", "trash"),
    ]
    # The FastAPI routes stay, for every other request and for the OpenAPI document.
    paths = app.openapi()["paths"]
    assert {"get", "post"} <= set(paths["/v1/photos"])
    assert "limit" in {p["name"] for p in paths["/v1/photos"]["get"]["parameters"]}
    assert "get" in paths["/v1/trash"]
