"""The shared modules the processor also uses: events, storage keys, migrations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from photostore.db.migrate import ADVISORY_LOCK_ID, load_migrations
from photostore.events import (
    DEFAULT_TOPIC,
    PhotoUploaded,
    consumer_config,
    dead_letter_topic,
    producer_config,
)
from photostore.storage import original_key, thumbnail_key


def _event() -> PhotoUploaded:
    return PhotoUploaded(
        photo_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        object_key="originals/u/p",
        content_type="image/jpeg",
        sha256="ab" * 32,
        size=10,
        uploaded_at=datetime(2024, 1, 2, tzinfo=UTC),
    )


def test_event_round_trips_through_json_and_is_keyed_by_photo_id() -> None:
    event = _event()
    assert PhotoUploaded.from_json(event.to_json()) == event
    assert event.key == str(event.photo_id).encode()
    assert set(PhotoUploaded.model_fields) == {
        "photo_id",
        "user_id",
        "object_key",
        "content_type",
        "sha256",
        "size",
        "uploaded_at",
    }


@pytest.mark.parametrize("change", [{"sha256": "xyz"}, {"size": 0}, {"photo_id": "nope"}])
def test_bad_events_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PhotoUploaded.model_validate({**_event().model_dump(), **change})


def test_topics_and_client_configs() -> None:
    assert DEFAULT_TOPIC == "photoUpload"
    assert dead_letter_topic() == "photoUpload.dlq"
    producer = producer_config("k:9092", **{"linger.ms": 50})
    assert producer["enable.idempotence"] is True and producer["acks"] == "all"
    assert producer["linger.ms"] == 50
    consumer = consumer_config("k:9092", "processors")
    assert consumer["enable.auto.commit"] is False and consumer["group.id"] == "processors"


def test_object_keys() -> None:
    assert original_key("u1", "p1") == "originals/u1/p1"
    assert thumbnail_key("p1", "grid", "webp") == "thumbnails/p1/grid.webp"


def test_migrations_are_numbered_and_define_the_contract() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    schema = "\n".join(m.sql for m in migrations)
    for needle in (
        "CREATE EXTENSION IF NOT EXISTS postgis",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "processing_status text NOT NULL DEFAULT 'pending'",
        "location          geography(Point, 4326)",
        "CREATE TABLE outbox",
    ):
        assert needle in schema
    assert 0 < ADVISORY_LOCK_ID < 2**63


def test_list_items_built_by_postgres_have_exactly_the_summary_fields() -> None:
    import re

    from photostore.api.models import PhotoSummary
    from photostore.api.photos_db import SUMMARY_JSON

    assert re.findall(r"'(\w+)', \w+", SUMMARY_JSON) == list(PhotoSummary.model_fields)


def test_no_transaction_migration_files_are_split_into_statements() -> None:
    from photostore.db.migrate import Migration

    migration = Migration(
        9,
        "x",
        "-- photostore: no-transaction\n-- about it; with a semicolon\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx\n  ON t (a);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON t (b);  \n"
        "DROP INDEX CONCURRENTLY IF EXISTS c_idx;\n-- trailing comment\n",
    )
    assert not migration.transactional
    assert [" ".join(s.split()) for s in migration.statements()] == [
        "-- photostore: no-transaction -- about it; with a semicolon "
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON t (a)",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON t (b)",
        "DROP INDEX CONCURRENTLY IF EXISTS c_idx",
    ]
    assert migration.concurrent_indexes() == ["a_idx", "b_idx"]
    assert all(m.transactional for m in load_migrations() if m.version < 4)
