"""Which backups and leftovers to delete: pure decisions on what a listing of S3 shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from photostore.backup.manifest import Manifest


def expired_backups(manifests: Iterable[Manifest], now: datetime, days: int) -> list[str]:
    """Ids of backups whose manifest is more than `days` old, never the newest backup.

    Time is the manifest's own `created_at` (the dump's snapshot), not the object's date in
    S3, which a copy or a re-upload would change.
    """
    ordered = sorted(manifests, key=lambda m: (m.created_at, m.id))
    if not ordered:
        return []
    cutoff = now - timedelta(days=days)
    return [m.id for m in ordered[:-1] if m.created_at < cutoff]


def leftover_keys(
    objects: Mapping[str, datetime],
    backup_ids: set[str],
    *,
    id_of: Mapping[str, str],
    now: datetime,
    older_than: timedelta,
) -> list[str]:
    """Keys of dumps and verification records that belong to no manifest and are older than
    `older_than` (a run still writing its dump is younger; its manifest is yet to come).

    `objects` maps key -> last modified; `id_of` maps each backup object's key to its id.
    """
    cutoff = now - older_than
    return sorted(
        key
        for key, modified in objects.items()
        if key in id_of and id_of[key] not in backup_ids and modified < cutoff
    )
