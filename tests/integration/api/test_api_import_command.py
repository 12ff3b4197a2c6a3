"""`photostore import DIR` against a real API server (uvicorn on a loopback port, backed by
the environment's PostgreSQL, Redis, Kafka and S3), run as its own process.

The server's app is wrapped in a recorder that counts each request by route and the most
uploads in flight at once (each upload is held 0.3 s, so a missing bound shows).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from photostore.api.app import create_app
from photostore.api.config import Settings

UPLOAD = ("POST", "/v1/photos")
LOOKUP = ("POST", "/v1/photos/lookup")
UPLOAD_HOLD_SECONDS = 0.3


class RequestRecorder:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: Counter[tuple[str, str]] = Counter()
        self.uploads_in_flight = 0
        self.most_uploads_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = (scope["method"], scope["path"].rstrip("/") or "/")
        self.requests[route] += 1
        if route != UPLOAD:
            await self.app(scope, receive, send)
            return
        self.uploads_in_flight += 1
        self.most_uploads_in_flight = max(self.most_uploads_in_flight, self.uploads_in_flight)
        try:
            await asyncio.sleep(UPLOAD_HOLD_SECONDS)
            await self.app(scope, receive, send)
        finally:
            self.uploads_in_flight -= 1

    def reset(self) -> None:
        self.requests.clear()
        self.most_uploads_in_flight = 0


@dataclass
class RunningApi:
    url: str
    recorder: RequestRecorder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api_server(settings: Settings) -> Iterator[RunningApi]:
    recorder = RequestRecorder(create_app(settings))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield RunningApi(f"http://127.0.0.1:{port}", recorder)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _api_key(url: str) -> tuple[str, str]:
    """A new user's (id, API key)."""
    email = f"importer-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=url, timeout=30) as client:
        credentials = {"email": email, "password": "correct horse"}
        user = client.post("/v1/auth/register", json=credentials)
        assert user.status_code == 201, user.text
        token = client.post("/v1/auth/login", json=credentials).json()["access_token"]
        key = client.post(
            "/v1/api-keys", json={"name": "importer"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert key.status_code == 201, key.text
        return user.json()["id"], key.json()["key"]


def _run_import(folder: Path, url: str, key: str, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    """Run the command with stdout a pipe (not a terminal); its exit code and JSON events."""
    done = subprocess.run(
        [sys.executable, "-m", "photostore", "import", str(folder), "--api", url, *extra],
        env={**os.environ, "PHOTOSTORE_API_KEY": key},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.stderr == b"", done.stderr.decode()
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return done.returncode, events


def _by_outcome(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    outcomes: dict[str, list[str]] = {}
    for event in events:
        if event["event"] not in ("found", "summary"):
            outcomes.setdefault(event["event"], []).append(event["path"])
    return {name: sorted(paths) for name, paths in outcomes.items()}


def _live_photos(database_url: str, user_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM photos WHERE user_id = %s AND deleted_at IS NULL", (user_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def photo_folder(tmp_path: Path, make_image: Callable[..., bytes]) -> Path:
    """Six distinct real images (JPEG and PNG, extensions in mixed case, nested), a text file
    that is not an image, and one that is no image despite its name."""
    names = ["a.jpg", "b.JPEG", "c.png", "trip/d.PNG", "trip/day2/e.jpg", "trip/day2/f.Jpg"]
    for name in names:
        path = tmp_path / "photos" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_image("PNG" if name.lower().endswith("png") else "JPEG"))
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    (tmp_path / "photos" / "trip" / "broken.jpg").write_text("this is text, not a JPEG")
    return tmp_path / "photos"


def test_import_uploads_a_folder_then_a_second_run_sends_nothing(
    api_server: RunningApi, settings: Settings, photo_folder: Path
) -> None:
    user_id, key = _api_key(api_server.url)
    database_url = settings.database_url.get_secret_value()

    code, events = _run_import(photo_folder, api_server.url, key, "--concurrency", "2")

    assert code == 1, events
    assert events[0] == {"event": "found", "files": 7}
    assert _by_outcome(events) == {
        "uploaded": [
            "a.jpg",
            "b.JPEG",
            "c.png",
            "trip/d.PNG",
            "trip/day2/e.jpg",
            "trip/day2/f.Jpg",
        ],
        "rejected": ["trip/broken.jpg"],
    }
    summary = events[-1]
    assert (summary["event"], summary["uploaded"], summary["rejected"]) == ("summary", 6, 1)
    reason = summary["problems"][0]["reason"]
    assert reason == "415 unsupported_image: the file is not a JPEG, PNG, WebP or HEIC image"
    assert api_server.recorder.requests[UPLOAD] == 7
    assert api_server.recorder.most_uploads_in_flight == 2
    assert _live_photos(database_url, user_id) == 6

    (photo_folder / "trip" / "broken.jpg").unlink()
    api_server.recorder.reset()

    code, events = _run_import(photo_folder, api_server.url, key)

    assert code == 0, events
    assert _by_outcome(events) == {
        "already_stored": [
            "a.jpg",
            "b.JPEG",
            "c.png",
            "trip/d.PNG",
            "trip/day2/e.jpg",
            "trip/day2/f.Jpg",
        ]
    }
    assert events[-1]["already_stored"] == 6
    assert api_server.recorder.requests[UPLOAD] == 0
    assert api_server.recorder.requests[LOOKUP] == 1
    assert _live_photos(database_url, user_id) == 6


def test_import_reports_a_file_over_the_apis_limit_as_rejected(
    api_server: RunningApi, settings: Settings, tmp_path: Path, make_image: Callable[..., bytes]
) -> None:
    _, key = _api_key(api_server.url)
    (tmp_path / "small.jpg").write_bytes(make_image())
    (tmp_path / "huge.png").write_bytes(os.urandom(settings.max_upload_bytes * 2))

    code, events = _run_import(tmp_path, api_server.url, key)

    assert code == 1
    assert _by_outcome(events) == {"uploaded": ["small.jpg"], "rejected": ["huge.png"]}
    reason = events[-1]["problems"][0]["reason"]
    assert reason == f"413 too_large: the file exceeds {settings.max_upload_bytes} bytes"


def test_a_dry_run_uploads_nothing(api_server: RunningApi, photo_folder: Path) -> None:
    _, key = _api_key(api_server.url)
    api_server.recorder.reset()

    code, events = _run_import(photo_folder, api_server.url, key, "--dry-run")

    assert code == 0
    assert len(_by_outcome(events)["would_upload"]) == 7
    assert api_server.recorder.requests[UPLOAD] == 0


def test_a_revoked_or_wrong_key_stops_the_run_with_exit_code_3(
    api_server: RunningApi, photo_folder: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "photostore", "import", str(photo_folder), "--api", api_server.url],
        env={**os.environ, "PHOTOSTORE_API_KEY": "psk_" + "0" * 43},
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 3
    assert b"401 unauthorized" in done.stderr
    assert b"psk_000" not in done.stderr
    assert api_server.recorder.requests[UPLOAD] == 0
