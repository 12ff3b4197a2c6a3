"""Which of the caller's live photos have these SHA-256 digests (bulk importers ask first).

A client that knows a file's digest can skip sending bytes the API already holds. Only the
caller's photos are looked at: another user's photo with the same bytes is simply absent.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from photostore.api.deps import CurrentUser, ServicesDep
from photostore.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1/photos", tags=["photos"], responses=ERROR_RESPONSES)

MAX_DIGESTS = 1000

Sha256Hex = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", min_length=64, max_length=64)
]


class DigestLookup(BaseModel):
    sha256: list[Sha256Hex] = Field(
        min_length=1,
        max_length=MAX_DIGESTS,
        description=f"1 to {MAX_DIGESTS} hex SHA-256 digests (either case).",
    )


class DigestMatches(BaseModel):
    found: dict[str, UUID] = Field(
        description="Lower-case digest → id of the caller's live photo with those bytes;"
        " digests without a live photo are absent."
    )


@router.post("/lookup")
async def lookup_digests(
    body: DigestLookup, user: CurrentUser, services: ServicesDep
) -> DigestMatches:
    """The caller's live photos (not in the trash) whose bytes have the given SHA-256."""
    digests = sorted({digest.lower() for digest in body.sha256})
    async with services.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT sha256, id FROM photos"
            " WHERE user_id = %s AND deleted_at IS NULL AND sha256 = ANY(%s)",
            (user.id, digests),
        )
        rows = await cur.fetchall()
    return DigestMatches(found={row["sha256"]: row["id"] for row in rows})
