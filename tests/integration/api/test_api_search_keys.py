"""Tag and metadata searches through the per-user key index give containment's answers.

photo_search_keys (migration 0005) hashes each tag and each top-level metadata field and
scalar value together with the user. The search keeps a photo only when its keys contain the
search's, so a key the search makes that a matching photo lacks would lose that photo. Here
random libraries with awkward values (3 and 3.0, null, booleans, nested objects, arrays,
spaces and quotes in names, non-ASCII) are searched both ways, on the real PostgreSQL.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb
from service_fixtures import database_users

from photostore.api import search_sql
from photostore.api.search_sql import SEARCH_KEYS, Place, SearchCriteria, search_query

OWNER = uuid.uuid4()
NEIGHBOUR = uuid.uuid4()
TAGS = ["beach", "Beach", "city lights", 'quote"d', "été", "a,b", ""]
FIELDS = ["album", "rating", "camera model", 'q"uote', "ünï", "nested", "list", "flag", "none"]
SCALARS: list[Any] = ["x", "y", "3", 3, 3.0, 3.5, -0.0, 0, True, False, None, "", "été"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randint(0, 2))}
    if depth < 2 and roll < 0.3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(SCALARS)


def _metadata(rng: random.Random, fields: int) -> dict[str, Any]:
    return {rng.choice(FIELDS): _value(rng) for _ in range(fields)}


def _part_of(rng: random.Random, metadata: dict[str, Any]) -> dict[str, Any]:
    """Some of a photo's fields, so that a search often matches."""
    return {key: value for key, value in metadata.items() if rng.random() < 0.6}


@pytest.fixture(scope="module")
def library(database_url: str) -> Iterator[list[tuple[UUID, list[str], dict[str, Any]]]]:
    rng = random.Random(20261130)
    photos = []
    with database_users(database_url, OWNER, NEIGHBOUR):
        with psycopg.connect(database_url, autocommit=True) as conn:
            for n in range(600):
                user = OWNER if n % 3 else NEIGHBOUR
                tags = rng.sample(TAGS, rng.randint(0, 3))
                metadata = _metadata(rng, rng.randint(0, 4))
                photo_id = uuid.uuid4()
                conn.execute(
                    "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
                    " tags, metadata, processing_status)"
                    " VALUES (%s, %s, 'p.jpg', %s, 1, 'image/jpeg', %s, %s, %s, 'done')",
                    (photo_id, user, f"originals/{photo_id}", f"{n:064x}", tags, Jsonb(metadata)),
                )
                if user == OWNER:
                    photos.append((photo_id, tags, metadata))
        yield photos


def _searches(library: list[tuple[UUID, list[str], dict[str, Any]]]) -> Iterator[SearchCriteria]:
    rng = random.Random(7)
    for _ in range(400):
        _, tags, metadata = rng.choice(library)
        roll = rng.random()
        if roll < 0.4:
            yield SearchCriteria(
                tags=[t for t in tags if rng.random() < 0.7], metadata=_part_of(rng, metadata)
            )
        elif roll < 0.7:
            yield SearchCriteria(metadata=_metadata(rng, rng.randint(1, 2)))
        else:
            yield SearchCriteria(tags=rng.sample(TAGS, rng.randint(1, 2)))
    yield SearchCriteria(metadata={"rating": 3})
    yield SearchCriteria(metadata={"rating": 3.0})
    yield SearchCriteria(metadata={"none": None})
    yield SearchCriteria(metadata={"nested": {}})
    yield SearchCriteria(metadata={"list": []})
    yield SearchCriteria(tags=["beach", "beach"])


def _contained(conn: psycopg.Connection[Any], criteria: SearchCriteria) -> list[UUID]:
    """The user's matching photos, newest first, found without the keys."""
    rows = conn.execute(
        "SELECT id FROM photos WHERE user_id = %s AND deleted_at IS NULL"
        " AND tags @> %s::text[] AND metadata @> %s ORDER BY created_at DESC, id DESC",
        (OWNER, criteria.tags, Jsonb(criteria.metadata or {})),
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("keyed_max", [search_sql.KEYED_MATCHES_MAX, 3])
def test_the_key_index_search_finds_what_containment_finds(
    database_url: str,
    library: list[tuple[UUID, list[str], dict[str, Any]]],
    keyed_max: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a bound of 3, most searches take the newest-first walk instead of the keys."""
    monkeypatch.setattr(search_sql, "KEYED_MATCHES_MAX", keyed_max)
    matched = 0
    with psycopg.connect(database_url) as conn:
        for criteria in _searches(library):
            for limit in (1000, 2):
                query, params = search_query(OWNER, criteria, limit)
                found = [row[0] for row in conn.execute(query, params).fetchall()]
                assert found == _contained(conn, criteria)[:limit], criteria
            matched += bool(found)
    assert matched > 200, "too few searches matched anything to show much"


def test_tags_with_a_place_go_through_the_keys_too(
    database_url: str, library: list[tuple[UUID, list[str], dict[str, Any]]]
) -> None:
    criteria = SearchCriteria(tags=["beach"], place=Place(0.0, 0.0, 1000.0))
    query, params = search_query(OWNER, criteria, 50)
    assert SEARCH_KEYS.encode() in query
    with psycopg.connect(database_url) as conn:
        assert conn.execute(query, params).fetchall() == [], "no photo of the library has a place"


def test_a_search_with_tags_or_metadata_goes_through_the_keys(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for criteria in (SearchCriteria(tags=["beach"]), SearchCriteria(metadata={"a": 1})):
            query, _ = search_query(OWNER, criteria, 50)
            assert SEARCH_KEYS.encode() in query
        query, _ = search_query(OWNER, SearchCriteria(metadata={}), 50)
        assert SEARCH_KEYS.encode() not in query, "an empty search has no key to look up"
        equal = conn.execute(
            "SELECT photo_search_keys(%s, '{}', '{\"n\": 3}')"
            " = photo_search_keys(%s, '{}', '{\"n\": 3.000}')",
            (OWNER, OWNER),
        ).fetchone()
        assert equal == (True,)
        differ = conn.execute(
            "SELECT photo_search_keys(%s, '{a}', '{}') && photo_search_keys(%s, '{a}', '{}')",
            (OWNER, NEIGHBOUR),
        ).fetchone()
        assert differ == (False,), "two users' keys for the same tag must differ"
