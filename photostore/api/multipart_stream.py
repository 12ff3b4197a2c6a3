"""A streaming multipart/form-data reader that never holds a whole file.

Starlette's form parser spools files to disk first; the upload route instead wants each
chunk of the file as it arrives, to hash it and pass it on to S3. `read_multipart` turns the
request body into a sequence of events: small form fields whole, files as chunks.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header

from photostore.api.errors import ApiError

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32


@dataclass(frozen=True)
class FormField:
    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    name: str
    filename: str


@dataclass(frozen=True)
class FileChunk:
    # A view into the request body's chunk (immutable bytes), not a copy of it.
    data: bytes | memoryview


@dataclass(frozen=True)
class FileEnd:
    pass


Event = FormField | FileStart | FileChunk | FileEnd


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; 415 or 400 when there is none."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "the body must be multipart/form-data")
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise ApiError(400, "bad_multipart", "multipart/form-data needs a boundary")
    return boundary


# One `; name=value` parameter of a header, the value a token or a quoted string.
_PARAMETER = re.compile(rb'\s*;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_EXTENDED_VALUE = re.compile(rb"^([A-Za-z0-9!#$&+^_`{}~-]*)'[^']*'(.*)$")


def extended_filename(disposition: bytes) -> str | None:
    """The RFC 5987 `filename*=charset'lang'percent-encoded` of a Content-Disposition.

    Browsers and curl send it for names that are not ASCII; the multipart parser drops it
    (RFC 7578 discourages it). None when absent; "" when its charset or encoding is bad:
    the part is still a file, shown under the plain `filename` or a default name.
    """
    pos = disposition.find(b";")
    while pos >= 0:
        match = _PARAMETER.match(disposition, pos)
        if match is None:
            return None
        pos = match.end()
        name, value = match.group(1).lower(), match.group(2).strip().strip(b'"')
        if name != b"filename*":
            continue
        extended = _EXTENDED_VALUE.match(value)
        if extended is None:
            return ""
        try:
            return unquote_to_bytes(extended.group(2)).decode(
                extended.group(1).decode("ascii") or "utf-8"
            )
        except (LookupError, UnicodeDecodeError):
            return ""
    return None


class _Collector:
    """Parser callbacks that turn one `write` into a list of events."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.finished = False
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._field_name = ""
        self._is_file = False
        self._field = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ApiError(400, "bad_multipart", f"more than {MAX_PARTS} parts")
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_field).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        kind, options = parse_options_header(self._disposition)
        if kind != b"form-data" or b"name" not in options:
            raise ApiError(400, "bad_multipart", "each part needs a form-data name")
        self._field_name = options[b"name"].decode("utf-8", "replace")
        extended = extended_filename(self._disposition)
        self._is_file = b"filename" in options or extended is not None
        if self._is_file:
            filename = extended or options.get(b"filename", b"").decode("utf-8", "replace")
            self.events.append(FileStart(self._field_name, filename))
        self._field.clear()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            # Slicing bytes copies; a view does not (the parser often hands over the whole
            # buffer, and otherwise most of it).
            whole = start == 0 and end == len(data)
            self.events.append(FileChunk(data if whole else memoryview(data)[start:end]))
            return
        self._field += data[start:end]
        if len(self._field) > MAX_FIELD_BYTES:
            raise ApiError(400, "bad_multipart", f"form field {self._field_name!r} is too long")

    def on_part_end(self) -> None:
        if self._is_file:
            self.events.append(FileEnd())
            return
        try:
            value = self._field.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "bad_multipart", "form fields must be UTF-8") from exc
        self.events.append(FormField(self._field_name, value))

    def on_end(self) -> None:
        self.finished = True


async def read_multipart(boundary: bytes, body: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Events of the multipart body as they arrive; 400 when it is malformed or truncated."""
    collector = _Collector()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_end": collector.on_end,
        },
    )
    async for chunk in body:
        if not chunk:
            continue
        try:
            parser.write(chunk)
        except ValueError as exc:  # the parser's errors derive from ValueError
            raise ApiError(400, "bad_multipart", "malformed multipart body") from exc
        events, collector.events = collector.events, []
        for event in events:
            yield event
    if not collector.finished:
        raise ApiError(400, "bad_multipart", "the multipart body ended early")
