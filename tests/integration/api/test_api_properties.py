"""Property tests: whatever JSON, multipart shape or value a client sends, never a 5xx.

schemathesis (test_api_schemathesis.py) generates what the OpenAPI document describes;
these generate what it does not: raw multipart bodies (parts in any order, missing or
repeated, RFC 5987 names, broken framing), JSON of any shape and depth inside form fields
and query strings, and odd numbers and strings in every search parameter.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import psycopg
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from service_fixtures import api_settings

from photostore.api.app import create_app
from photostore.api.security import credential_hash, new_session_token


def _image(fmt: str, pixels: bytes) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (8, 8), pixels).save(out, format=fmt)
    return out.getvalue()


EXAMPLES = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def _deep_json(draw: st.DrawFn) -> str:
    # Shallow, near the old recursion limits (about 900 and 1000 levels), and beyond.
    depth = draw(st.integers(1, 30) | st.integers(850, 1100) | st.integers(1100, 3000))
    opener = draw(st.sampled_from(["[", '{"a":', '{"a":[']))
    closer = {'{"a":': "}", "[": "]", '{"a":[': "]}"}[opener]
    return opener * depth + draw(st.sampled_from(["1", "", '"x"'])) + closer * depth


RAW_JSON = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value, allow_nan=True)),
    _deep_json(),
    st.text(max_size=200),
    st.just('{"a": "\\u0000"}'),
    st.just('{"a": "\\ud800"}'),
)

ODD_TEXT = st.one_of(
    st.text(max_size=100),
    st.sampled_from(["", " ", "NaN", "inf", "-inf", "1e999", "-0", "0x10", "%00", "\x00"]),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
)


@st.composite
def _disposition(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from([b"file", b"tags", b"metadata", b"other", b""]))
    parts = [b"form-data", b'name="' + name + b'"'] if draw(st.booleans()) else [b"attachment"]
    plain = draw(st.sampled_from([None, b"a.jpg", b"", b"../x.jpg", "é.jpg".encode()]))
    if plain is not None:
        parts.append(b'filename="' + plain + b'"')
    extended = draw(
        st.sampled_from([None, b"UTF-8''caf%C3%A9.jpg", b"bogus''x", b"UTF-8''%FF", b"x"])
    )
    if extended is not None:
        parts.append(b"filename*=" + extended)
    return b"; ".join(parts)


@st.composite
def _multipart(draw: st.DrawFn) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart upload of any shape, sometimes a broken one."""
    boundary = draw(st.sampled_from([b"b", b"XyZ-123", b"a" * 70]))
    chunks = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(st.sampled_from(["image", "junk", "tags", "metadata", "any"]))
        if kind == "image":
            disposition = b'form-data; name="file"; filename="p.jpg"'
            # Drawn pixels, not random ones: hypothesis replays examples byte for byte.
            pixels = draw(st.binary(min_size=8 * 8 * 3, max_size=8 * 8 * 3))
            content = _image(draw(st.sampled_from(["JPEG", "PNG", "WEBP"])), pixels)
        elif kind == "tags":
            disposition = b'form-data; name="tags"'
            content = draw(ODD_TEXT).encode("utf-8", "surrogatepass")
        elif kind == "metadata":
            disposition = b'form-data; name="metadata"'
            content = draw(RAW_JSON).encode("utf-8", "surrogatepass")
        else:
            disposition = draw(_disposition())
            content = draw(st.binary(max_size=300))
        chunks.append(
            b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + content
        )
    body = b"".join(chunk + b"\r\n" for chunk in chunks) + b"--" + boundary + b"--\r\n"
    if draw(st.booleans()):
        body = body[: draw(st.integers(min_value=0, max_value=len(body)))]
    return f"multipart/form-data; boundary={boundary.decode()}", body


@pytest.fixture(scope="module")
def served(env: dict[str, str], database_url: str, bucket: str, topic: str) -> Iterator[Any]:
    """One app for every example, and a session for a user written straight to the database."""
    token = new_session_token()
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id",
            (f"prop-{uuid.uuid4().hex[:8]}@example.com",),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at)"
            " VALUES (%s, %s, now() + interval '1 hour')",
            (credential_hash(token), row[0]),
        )
    app = create_app(
        api_settings(
            env,
            database_url=database_url,
            bucket=bucket,
            topic=topic,
            redis_prefix=f"photostore-prop:{uuid.uuid4().hex[:8]}:",
            rate_limit_requests=1_000_000,
            max_upload_bytes=1024 * 1024,
            background_tasks=False,
        )
    )

    @asynccontextmanager
    async def serve() -> AsyncIterator[httpx.AsyncClient]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://api",
                headers={"Authorization": f"Bearer {token}"},
            ) as client:
                yield client

    # hypothesis drives plain functions; the app runs in an event loop of its own thread.
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serve()) as client:

        class Caller:
            def get(self, url: str, **kw: Any) -> httpx.Response:
                return portal.call(partial(client.get, url, **kw))

            def post(self, url: str, **kw: Any) -> httpx.Response:
                return portal.call(partial(client.post, url, **kw))

        yield Caller()


def _no_server_error(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert response.status_code < 400 or "error" in body


def test_any_multipart_upload_is_answered_without_a_server_error(served: Any) -> None:
    @given(form=_multipart())
    @EXAMPLES
    def check(form: tuple[str, bytes]) -> None:
        content_type, body = form
        response = served.post("/v1/photos", content=body, headers={"Content-Type": content_type})
        _no_server_error(response)
        if response.status_code in (200, 201):
            # Whatever was stored reads back.
            photo_id = response.json()["id"]
            _no_server_error(served.get(f"/v1/photos/{photo_id}"))

    check()
    _no_server_error(served.get("/v1/photos"))


def test_any_search_is_answered_without_a_server_error(served: Any) -> None:
    def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # Valid values most of the time, so that the request gets past validation to the
        # code behind it; odd ones otherwise.
        return st.one_of(valid, valid, valid, ODD_TEXT)

    params = st.fixed_dictionaries(
        {"metadata": RAW_JSON},
        optional={
            "filename": ODD_TEXT,
            "tag": st.lists(ODD_TEXT, max_size=3),
            "lat": mostly(st.floats(-90, 90)),
            "lon": mostly(st.floats(-180, 180)),
            "radius_m": mostly(st.floats(0.001, 20_000_000)),
            "limit": mostly(st.integers(1, 100)),
        },
    )

    @given(query=params)
    @EXAMPLES
    def check(query: dict[str, Any]) -> None:
        assume(len(query["metadata"]) < 16_000)  # httpx refuses query strings over 64 KiB
        _no_server_error(served.get("/v1/search/photos", params=query))

    check()


def test_json_of_any_depth_is_answered_without_a_server_error(served: Any) -> None:
    """Deep nesting, drawn on purpose: among random JSON it is too rare to be found."""

    @given(raw=_deep_json(), where=st.sampled_from(["upload", "search"]))
    @EXAMPLES
    def check(raw: str, where: str) -> None:
        if where == "search":
            assume(len(raw) < 16_000)  # httpx refuses query strings over 64 KiB encoded
            _no_server_error(served.get("/v1/search/photos", params={"metadata": raw}))
            return
        response = served.post(
            "/v1/photos",
            files={"file": ("p.png", _image("PNG", bytes(8 * 8 * 3)), "image/png")},
            data={"metadata": raw},
        )
        _no_server_error(response)
        if response.status_code in (200, 201):
            _no_server_error(served.get(f"/v1/photos/{response.json()['id']}"))

    check()
