"""The two API calls the importer makes: the SHA-256 lookup and the upload.

Answers that say "later" (429 with Retry-After, 503, a dropped connection) are retried; an
answer about the file (4xx) is returned for the caller to report; an answer that the
credential or the URL is wrong ends the run.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

LOOKUP_PATH = "/v1/photos/lookup"
UPLOAD_PATH = "/v1/photos"
# The lookup route's limit of digests per request.
LOOKUP_BATCH = 1000
# Rate limiting is pacing, not failure: it gets many more tries than an outage does.
RATE_LIMITED_TRIES = 100
MAX_DELAY_SECONDS = 60.0

Sleep = Callable[[float], Awaitable[None]]


class ApiRefusedError(Exception):
    """The API refused the run itself (bad credential, wrong URL): no file can succeed."""


class ApiUnavailableError(Exception):
    """The API kept answering "later", or could not be reached, after every retry."""


@dataclass(frozen=True)
class UploadAnswer:
    status: int
    photo_id: str | None = None
    # The API's explanation of a refusal: "415 unsupported_image: the file is not ...".
    reason: str | None = None


def error_reason(response: httpx.Response) -> str:
    """`status code: message` from the API's JSON error body, or the status line."""
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.reason_phrase}".strip()


def retry_delay(response: httpx.Response | None, attempt: int) -> float:
    """Retry-After when the API gives it, else exponential backoff from 0.5 s."""
    if response is not None:
        header = response.headers.get("retry-after", "")
        if header.isdigit():
            return min(float(header), MAX_DELAY_SECONDS)
    return float(min(0.5 * 2**attempt, MAX_DELAY_SECONDS))


class PhotoApi:
    def __init__(
        self, client: httpx.AsyncClient, *, retries: int = 5, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.client = client
        self.retries = retries
        self.sleep = sleep

    async def _send(self, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """The first answer that is not "later"; raises ApiUnavailableError when none came."""
        outages = limited = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await request()
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code == 429:
                    limited += 1
                    if limited >= RATE_LIMITED_TRIES:
                        raise ApiUnavailableError(error_reason(response))
                    await self.sleep(retry_delay(response, limited))
                    continue
                if response.status_code < 500:
                    return response
                failure = error_reason(response)
            outages += 1
            if outages > self.retries:
                raise ApiUnavailableError(failure)
            await self.sleep(retry_delay(response, outages))

    @staticmethod
    def _check_run_allowed(response: httpx.Response) -> None:
        if response.status_code in (401, 403, 404, 405):
            raise ApiRefusedError(f"{response.request.url}: {error_reason(response)}")

    async def lookup(self, digests: Sequence[str]) -> dict[str, str]:
        """Digest → photo id for those of `digests` the caller already stores."""
        found: dict[str, str] = {}
        for start in range(0, len(digests), LOOKUP_BATCH):
            batch = list(digests[start : start + LOOKUP_BATCH])
            response = await self._send(
                partial(self.client.post, LOOKUP_PATH, json={"sha256": batch})
            )
            self._check_run_allowed(response)
            if response.status_code != 200:
                raise ApiRefusedError(f"the lookup was refused: {error_reason(response)}")
            found.update(response.json()["found"])
        return found

    async def upload(self, path: Path, filename: str) -> UploadAnswer:
        """Stream one file as multipart field `file`; raises OSError if it cannot be read."""
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"

        async def post() -> httpx.Response:
            # Opened per attempt: a retry sends the file from its start. httpx reads it in
            # chunks and sends the size it finds, so the file is never wholly in memory.
            with path.open("rb") as file:
                return await self.client.post(
                    UPLOAD_PATH, files={"file": (filename, file, content_type)}
                )

        response = await self._send(post)
        self._check_run_allowed(response)
        if response.status_code in (200, 201):
            body: dict[str, Any] = response.json()
            return UploadAnswer(response.status_code, photo_id=str(body["id"]))
        return UploadAnswer(response.status_code, reason=error_reason(response))
