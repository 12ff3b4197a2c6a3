"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ProcessingStatus = Literal["pending", "processing", "done", "failed"]
# Printable text only: PostgreSQL text cannot hold NUL, and control characters help no one.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=64, pattern=PRINTABLE
    ),
]
MAX_TAGS = 50
# Deliberately loose: the address is an account name here, never mailed.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=320, pattern=r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"
    ),
]


def normalize_tags(tags: list[str]) -> list[str]:
    """Distinct tags, in first-seen order."""
    return list(dict.fromkeys(tags))


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: str = Field(min_length=8, max_length=256)


class User(BaseModel):
    id: UUID
    email: str
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)


class ApiKey(BaseModel):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class NewApiKey(ApiKey):
    key: str = Field(description="The key itself; shown only once.")


class Location(BaseModel):
    lat: float
    lon: float


class PhotoSummary(BaseModel):
    id: UUID
    filename: str
    content_type: str
    size: int
    tags: list[str]
    created_at: datetime
    taken_at: datetime | None = None
    deleted_at: datetime | None = None
    processing_status: ProcessingStatus
    width: int | None = None
    height: int | None = None


class Photo(PhotoSummary):
    sha256: str
    metadata: dict[str, Any]
    updated_at: datetime
    processing_error: str | None = None
    processed_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    location: Location | None = None
    exif: dict[str, Any] | None = None
    blur_score: float | None = None
    dominant_colors: Any = None
    thumbnails: list[str] = Field(default_factory=list, description="Names of the thumbnails.")


class SimilarPhoto(PhotoSummary):
    distance: int = Field(description="Hamming distance between perceptual hashes (0-64).")


class SearchHit(PhotoSummary):
    score: float | None = Field(default=None, description="Filename similarity (0-1).")
    distance_m: float | None = Field(default=None, description="Metres from the point searched.")


class PhotoPage(BaseModel):
    items: list[PhotoSummary]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


class SearchResults(BaseModel):
    items: list[SearchHit]


class SimilarResults(BaseModel):
    items: list[SimilarPhoto]


class TagsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] = Field(max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _distinct(cls, tags: list[str]) -> list[str]:
        return normalize_tags(tags)


class DownloadLink(BaseModel):
    url: str
    expires_at: datetime


class Downloads(BaseModel):
    original: DownloadLink
    thumbnails: dict[str, DownloadLink]


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
