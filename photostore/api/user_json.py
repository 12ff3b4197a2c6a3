"""JSON written by users (photo metadata, metadata filters), bounded before it is parsed.

Python's `json` module recurses once per nesting level: about 1,000 levels raise
RecursionError, and a few hundred already break serialising the value back out (pydantic,
the Redis cache, the response). So the raw text is measured first, without recursion, and
refused with 422 when it is too large or nested too deep; a value that passes is one that
every later read can serialise again.
"""

from __future__ import annotations

import json
from typing import Any

from photostore.api.errors import ApiError


def json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in `text`, counted without recursion.

    Brackets inside strings do not count. The text need not be valid JSON: the parser
    that runs afterwards decides that.
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json_object(
    raw: str,
    *,
    what: str,
    max_depth: int,
    max_bytes: int,
    status: int = 422,
    code: str = "validation_error",
) -> dict[str, Any]:
    """`raw` as a JSON object storable in PostgreSQL.

    Over a limit: 422 naming the limit. Not a JSON object, or not storable: `status`/`code`.
    """
    if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ApiError(422, "validation_error", f"{what} is larger than {max_bytes} bytes")
    if json_depth(raw) > max_depth:
        raise ApiError(422, "validation_error", f"{what} is nested deeper than {max_depth} levels")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(status, code, f"{what} must be a JSON object") from exc
    if not isinstance(value, dict):
        raise ApiError(status, code, f"{what} must be a JSON object")
    if "\\u0000" in raw:
        raise ApiError(status, code, f"{what} must be a JSON object without NUL")
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:  # lone surrogates: PostgreSQL cannot store them
        raise ApiError(status, code, f"{what} is not valid Unicode") from exc
    return value
