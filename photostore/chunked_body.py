"""A request body made of the chunks as they arrived, read by boto3 without joining them.

boto3 wraps a `bytes` body in `io.BytesIO`, whose every `read` copies; joining the chunks
into that `bytes` first is a second copy of the whole object. A `ChunkedBody` hands out
views of the chunks it holds, so the bytes go from the request into the socket uncopied.
It is seekable (boto3 rewinds a body to retry) and has a length (Content-Length).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class ChunkedBody:
    """Read-only, seekable file over a sequence of byte chunks; `read` returns views."""

    def __init__(self, chunks: Iterable[bytes | memoryview]) -> None:
        self._chunks = [memoryview(chunk).cast("B") for chunk in chunks if len(chunk)]
        self._size = sum(len(chunk) for chunk in self._chunks)
        self._index = 0  # the chunk the position is in
        self._offset = 0  # the position within that chunk
        self._position = 0

    def __len__(self) -> int:
        return self._size

    def sha256(self) -> bytes:
        """The SHA-256 digest of every byte, whatever the position."""
        digest = hashlib.sha256()
        for chunk in self._chunks:
            digest.update(chunk)
        return digest.digest()

    def getvalue(self) -> bytes:
        """Every byte, joined (a copy; for callers that need one `bytes`)."""
        return b"".join(self._chunks)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        target = min(max(base + offset, 0), self._size)
        self._index, self._offset, self._position = 0, 0, 0
        while self._index < len(self._chunks) and target - self._position >= len(
            self._chunks[self._index]
        ):
            self._position += len(self._chunks[self._index])
            self._index += 1
        self._offset = target - self._position
        self._position = target
        return target

    def read(self, size: int | None = -1) -> memoryview | bytes:
        """Up to `size` bytes from the position: a view into one chunk (no copy); with no
        size, everything left, joined."""
        if self._index >= len(self._chunks) or size == 0:
            return b""
        if size is None or size < 0:
            rest = [self._chunks[self._index][self._offset :], *self._chunks[self._index + 1 :]]
            self.seek(0, 2)
            return b"".join(rest)
        chunk = self._chunks[self._index]
        view = chunk[self._offset : self._offset + size]
        self._offset += len(view)
        self._position += len(view)
        if self._offset == len(chunk):
            self._index, self._offset = self._index + 1, 0
        return view

    def close(self) -> None:
        """Nothing to release: the chunks belong to the caller."""
