"""A stand-in for boto3's S3 client in unit tests: records each call as boto3 receives it."""

from __future__ import annotations

from typing import Any


def read_in_blocks(body: Any, block: int = 64) -> bytes:
    """Read a file body as boto3 does: in blocks, after a rewind, then once more (a retry)."""
    body.seek(0)
    first = b"".join(bytes(piece) for piece in iter(lambda: body.read(block), b""))
    body.seek(0)
    again = b"".join(bytes(piece) for piece in iter(lambda: body.read(block), b""))
    assert first == again and len(first) == len(body)
    return first


class FakeS3:
    """Records calls like boto3's S3 client would receive them; a file body is read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(**kwargs: Any) -> dict[str, Any]:
            if hasattr(kwargs.get("Body"), "read"):
                kwargs["Body"] = read_in_blocks(kwargs["Body"])
            self.calls.append((name, kwargs))
            return {"UploadId": "u1", "ETag": f'"e{len(self.calls)}"'}

        return record
