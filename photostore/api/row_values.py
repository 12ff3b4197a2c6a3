"""Reading rows the API did not write alone: values Python cannot hold, rows that do not fit.

The processor writes dates from EXIF, and PostgreSQL holds timestamps Python's datetime
cannot (year 10000 and later, `infinity`). psycopg refuses such a value, and with it the
whole result set; here it reads as NULL instead. A row that still does not fit its response
model is left out of a result list (and logged) rather than failing every other row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, DataError
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


class _OutOfRangeAsNone(Loader):
    """psycopg's own timestamptz loader (the C one when installed), None where it fails."""

    base: type[Loader]

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._inner = self.base(oid, context)

    def load(self, data: Buffer) -> Any:
        try:
            return self._inner.load(data)
        except DataError:
            return None


def _tolerant(fmt: Format) -> type[Loader]:
    base = psycopg.adapters.get_loader(_TIMESTAMPTZ, fmt)
    assert base is not None
    return type(
        f"OutOfRangeAsNone{fmt.name.title()}", (_OutOfRangeAsNone,), {"base": base, "format": fmt}
    )


_LOADERS = [_tolerant(Format.TEXT), _tolerant(Format.BINARY)]


async def register_tolerant_timestamps(conn: AsyncConnection[Any]) -> None:
    """Make out-of-range timestamptz values read as None on this connection (pool `configure`)."""
    for loader in _LOADERS:
        conn.adapters.register_loader(_TIMESTAMPTZ, loader)


def valid_rows(model: type[ModelT], rows: Iterable[Any]) -> list[ModelT]:
    """Each row as `model`; a row that does not validate is logged and left out."""
    items: list[ModelT] = []
    for row in rows:
        try:
            items.append(model.model_validate(row))
        except ValidationError as exc:
            log.warning(
                "row %s left out of a %s list: %s",
                row.get("id") if isinstance(row, dict) else "?",
                model.__name__,
                "; ".join(str(err["loc"]) for err in exc.errors()),
            )
    return items
