"""An import run against a fake API (httpx.MockTransport): what is sent, what is skipped.

The real API is exercised in tests/integration/api/test_api_import_command.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from photostore.importer import folder_import
from photostore.importer.api_client import ApiRefusedError, ApiUnavailableError, PhotoApi
from photostore.importer.folder_import import ImportOptions, import_folder
from photostore.importer.summary import FileResult, Outcome

NOT_AN_IMAGE = {"error": {"code": "unsupported_image", "message": "the file is not an image"}}


@dataclass
class FakeApi:
    """The lookup and upload routes, keeping what they were sent."""

    stored: dict[str, str] = field(default_factory=dict)
    uploads: list[bytes] = field(default_factory=list)
    lookups: list[list[str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    # Answers given before the real one, for each route: (status, headers).
    upload_first: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lookup_first: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if request.url.path == "/v1/photos/lookup":
            if self.lookup_first:
                status, headers = self.lookup_first.pop(0)
                return httpx.Response(status, headers=headers, json={"error": {}})
            digests = json.loads(body)["sha256"]
            self.lookups.append(digests)
            found = {d: self.stored[d] for d in digests if d in self.stored}
            return httpx.Response(200, json={"found": found})
        assert request.url.path == "/v1/photos"
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if self.upload_first:
                status, headers = self.upload_first.pop(0)
                return httpx.Response(status, headers=headers, json={"error": {}})
            data = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
            self.uploads.append(data)
            if not data.startswith(b"IMG"):
                return httpx.Response(415, json=NOT_AN_IMAGE)
            digest = hashlib.sha256(data).hexdigest()
            created = digest not in self.stored
            self.stored.setdefault(digest, f"id-{len(self.stored)}")
            return httpx.Response(201 if created else 200, json={"id": self.stored[digest]})
        finally:
            self.in_flight -= 1


class Recorder:
    def __init__(self) -> None:
        self.events: list[FileResult] = []
        self.files = -1
        self.hashes = 0

    def found(self, files: int) -> None:
        self.files = files

    def hashed(self) -> None:
        self.hashes += 1

    def file_done(self, result: FileResult) -> None:
        self.events.append(result)


def _api(fake: FakeApi, waits: list[float] | None = None) -> PhotoApi:
    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle), base_url="http://api")
    return PhotoApi(client, retries=2, sleep=sleep)


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _outcomes(recorder: Recorder) -> dict[str, Outcome]:
    return {event.path: event.outcome for event in recorder.events}


async def test_files_already_stored_are_not_sent_and_the_rest_are(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"old.jpg": b"IMG old", "sub/new.png": b"IMG new", "notes.txt": b""})
    fake = FakeApi(stored={hashlib.sha256(b"IMG old").hexdigest(): "id-old"})
    recorder = Recorder()

    summary = await import_folder(_api(fake), ImportOptions(root), recorder)

    assert fake.uploads == [b"IMG new"]
    assert _outcomes(recorder) == {
        "old.jpg": Outcome.ALREADY_STORED,
        "sub/new.png": Outcome.UPLOADED,
    }
    assert recorder.files == 2 and recorder.hashes == 2
    assert summary.exit_code == 0


async def test_a_second_run_sends_no_bytes(tmp_path: Path) -> None:
    root = _folder(tmp_path, {f"p{i}.jpg": f"IMG {i}".encode() for i in range(5)})
    fake = FakeApi()
    await import_folder(_api(fake), ImportOptions(root), Recorder())
    assert len(fake.uploads) == 5

    recorder = Recorder()
    summary = await import_folder(_api(fake), ImportOptions(root), recorder)

    assert len(fake.uploads) == 5
    assert set(_outcomes(recorder).values()) == {Outcome.ALREADY_STORED}
    assert summary.exit_code == 0


async def test_uploads_in_flight_never_exceed_the_concurrency(tmp_path: Path) -> None:
    root = _folder(tmp_path, {f"p{i:02}.jpg": f"IMG {i}".encode() for i in range(20)})
    fake = FakeApi()

    await import_folder(_api(fake), ImportOptions(root, concurrency=3), Recorder())

    assert len(fake.uploads) == 20
    assert fake.most_in_flight == 3


async def test_copies_in_the_folder_are_sent_once(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.jpg": b"IMG same", "b/a-copy.JPG": b"IMG same"})
    fake = FakeApi()
    recorder = Recorder()

    await import_folder(_api(fake), ImportOptions(root), recorder)

    assert fake.uploads == [b"IMG same"]
    assert _outcomes(recorder) == {
        "a.jpg": Outcome.UPLOADED,
        "b/a-copy.JPG": Outcome.ALREADY_STORED,
    }
    assert recorder.events[1].photo_id == recorder.events[0].photo_id


async def test_a_rejection_carries_the_apis_reason_and_fails_the_run(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"fake.jpg": b"plain text", "real.jpg": b"IMG real"})
    recorder = Recorder()

    summary = await import_folder(_api(FakeApi()), ImportOptions(root), recorder)

    assert _outcomes(recorder) == {"fake.jpg": Outcome.REJECTED, "real.jpg": Outcome.UPLOADED}
    assert summary.problems[0].reason == "415 unsupported_image: the file is not an image"
    assert summary.exit_code == 1


async def test_a_dry_run_asks_but_uploads_nothing(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"old.jpg": b"IMG old", "new.jpg": b"IMG new"})
    fake = FakeApi(stored={hashlib.sha256(b"IMG old").hexdigest(): "id-old"})
    recorder = Recorder()

    summary = await import_folder(_api(fake), ImportOptions(root, dry_run=True), recorder)

    assert fake.uploads == []
    assert _outcomes(recorder) == {
        "new.jpg": Outcome.WOULD_UPLOAD,
        "old.jpg": Outcome.ALREADY_STORED,
    }
    assert summary.exit_code == 0


async def test_rate_limited_uploads_wait_for_retry_after_and_go_through(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.jpg": b"IMG a"})
    fake = FakeApi(upload_first=[(429, {"Retry-After": "7"}), (503, {"Retry-After": "5"})])
    waits: list[float] = []
    recorder = Recorder()

    summary = await import_folder(_api(fake, waits), ImportOptions(root), recorder)

    assert waits == [7.0, 5.0]
    assert _outcomes(recorder) == {"a.jpg": Outcome.UPLOADED}
    assert summary.exit_code == 0


async def test_an_api_that_stays_down_fails_the_file_after_the_retries(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.jpg": b"IMG a"})
    fake = FakeApi(upload_first=[(503, {})] * 3)
    recorder = Recorder()

    summary = await import_folder(_api(fake), ImportOptions(root), recorder)

    assert _outcomes(recorder) == {"a.jpg": Outcome.FAILED}
    assert summary.exit_code == 1


async def test_a_refused_credential_ends_the_run(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.jpg": b"IMG a"})
    fake = FakeApi(lookup_first=[(401, {})])

    with pytest.raises(ApiRefusedError, match="401"):
        await import_folder(_api(fake), ImportOptions(root), Recorder())
    assert fake.uploads == []


async def test_a_lookup_that_never_answers_ends_the_run(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"a.jpg": b"IMG a"})
    fake = FakeApi(lookup_first=[(503, {})] * 3)

    with pytest.raises(ApiUnavailableError):
        await import_folder(_api(fake), ImportOptions(root), Recorder())


async def test_the_lookup_asks_in_batches_the_api_accepts() -> None:
    fake = FakeApi(stored={"f" * 64: "id-f"})
    digests = [f"{i:064x}" for i in range(2500)] + ["f" * 64]

    found = await _api(fake).lookup(digests)

    assert [len(batch) for batch in fake.lookups] == [1000, 1000, 501]
    assert found == {"f" * 64: "id-f"}


async def test_a_file_that_cannot_be_read_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path, {"gone.jpg": b"IMG gone", "ok.jpg": b"IMG ok"})
    real_hash = folder_import.sha256_file

    def flaky_hash(path: Path) -> str:
        if path.name == "gone.jpg":
            raise PermissionError(13, "Permission denied")
        return real_hash(path)

    monkeypatch.setattr(folder_import, "sha256_file", flaky_hash)
    fake = FakeApi()
    recorder = Recorder()

    summary = await import_folder(_api(fake), ImportOptions(root), recorder)

    assert _outcomes(recorder) == {"gone.jpg": Outcome.FAILED, "ok.jpg": Outcome.UPLOADED}
    assert summary.problems[0].reason == "Permission denied"
    assert fake.uploads == [b"IMG ok"]
    assert recorder.hashes == 2
