"""uvicorn's httptools protocol, receiving request bodies in larger pieces and without copies.

uvicorn collects the body received since the app last asked for it in a bytearray (a copy
of each piece), hands it over as `bytes(...)` (a second copy), and stops reading from the
socket once 64 KiB wait. An upload then reaches the app in pieces of 64 to 256 KiB, each a
pass through the event loop, the multipart parser and the hash. Here the pieces are kept as
received and joined only when the app reads them (not at all when there is one), and
reading stops at `BODY_HIGH_WATER_BYTES`: an app busy with one piece finds the next ones
waiting together. In bench-api this took the API's CPU per uploaded GB down by about a
tenth. The price: a connection whose request body the app does not read buffers up to
1 MiB (and one socket read) before reading stops, where uvicorn's own protocol buffers 64 KiB.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Body bytes a connection buffers before uvicorn stops reading its socket (uvicorn: 64 KiB).
BODY_HIGH_WATER_BYTES = 1024 * 1024


class BodyChunks:
    """The body pieces received since the app last read: uvicorn's `cycle.body`, uncopied.

    uvicorn appends with `+=`, measures with `len` and hands over `bytes(body)`.
    """

    __slots__ = ("_chunks", "_size")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def __iadd__(self, data: bytes) -> BodyChunks:
        self._chunks.append(data)
        self._size += len(data)
        return self

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        # One piece: that very object (join does not copy a single bytes).
        return b"".join(self._chunks)


class HttpProtocol(HttpToolsProtocol):
    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        if not isinstance(cycle.body, BodyChunks):
            cycle.body = BodyChunks()  # type: ignore[assignment]
        cycle.body += body
        if len(cycle.body) > BODY_HIGH_WATER_BYTES:
            self.flow.pause_reading()
        cycle.message_event.set()
