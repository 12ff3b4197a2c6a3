"""Photo metadata cached in Redis, invalidated by every change the API makes.

Only processed photos are cached: until then the processor still writes the row, and it
does not know about this cache. A failed photo is not final either: a redelivered event
processes it again (the processor skips only photos that are done). Entries live under
their user's hash tag (redis_keys.py).
"""

from __future__ import annotations

import json
from uuid import UUID

from photostore.api.models import Photo
from photostore.api.services import Services

CACHEABLE_STATUSES = {"done"}


def _key(services: Services, user_id: UUID, photo_id: UUID) -> str:
    return services.keys.user(user_id, f"photo:{photo_id}")


async def cached_photo(services: Services, user_id: UUID, photo_id: UUID) -> Photo | None:
    raw = await services.redis.get(_key(services, user_id, photo_id))
    if raw is None:
        return None
    entry = json.loads(raw)
    if entry.get("user_id") != str(user_id):
        return None
    return Photo.model_validate(entry["photo"])


async def cache_photo(services: Services, user_id: UUID, photo: Photo) -> None:
    if photo.processing_status not in CACHEABLE_STATUSES or photo.deleted_at is not None:
        return
    entry = {"user_id": str(user_id), "photo": photo.model_dump(mode="json")}
    await services.redis.set(
        _key(services, user_id, photo.id),
        json.dumps(entry),
        ex=services.settings.cache_ttl_seconds,
    )


async def invalidate_photo(services: Services, user_id: UUID, photo_id: UUID) -> None:
    await services.redis.delete(_key(services, user_id, photo_id))
