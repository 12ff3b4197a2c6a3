"""Opaque keyset-pagination cursors: the sort key of the last row a page returned."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID

from photostore.api.errors import ApiError


def encode_cursor(kind: str, at: datetime, photo_id: UUID) -> str:
    raw = json.dumps({"k": kind, "t": at.isoformat(), "i": str(photo_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> tuple[datetime, UUID]:
    """The (timestamp, id) in `cursor`; 400 when it is not one this API issued for `kind`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or data.get("k") != kind:
            raise ValueError("wrong cursor kind")
        at = datetime.fromisoformat(str(data["t"]))
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        return at, UUID(str(data["i"]))
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise ApiError(400, "bad_cursor", "the pagination cursor is not valid") from exc
