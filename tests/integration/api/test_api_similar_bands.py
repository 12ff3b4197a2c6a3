"""Near-duplicates through the pHash band indexes find exactly what a scan finds.

Random hashes in bursts of variants (bits flipped at random, or spread evenly over the four
bands, the case the band rule is tightest on), some photos trashed or not processed, and a
second user holding copies of the first one's hashes. For each bound 0..20 the API's query
must return exactly the live photos a comparison of every one of the user's hashes returns.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from service_fixtures import fresh_database

from photostore.api.phash_bands import MAX_BANDED_DISTANCE, hamming
from photostore.api.search_sql import similar_query

OWNER = UUID(int=1)
OTHER = UUID(int=2)


def _variant(rng: random.Random, base: int) -> int:
    bits = rng.randint(0, 22)
    if rng.random() < 0.5:
        flips = rng.sample(range(64), bits)
    else:  # spread evenly over the bands: every band differs by bits // 4 or one more
        flips = [16 * (i % 4) + i // 4 for i in range(bits)]
    value = base & (2**64 - 1)
    for position in flips:
        value ^= 1 << position
    return value - 2**64 if value >= 2**63 else value


def _photos(rng: random.Random) -> list[tuple[Any, ...]]:
    """(id, user_id, phash, trashed) rows."""
    rows = []
    for _ in range(250):
        base = rng.getrandbits(64) - 2**63
        for _ in range(rng.randint(1, 12)):
            phash = _variant(rng, base)
            rows.append((uuid.uuid4(), OWNER, None if rng.random() < 0.03 else phash, False))
            if rng.random() < 0.05:
                rows.append((uuid.uuid4(), OWNER, phash, True))
            if rng.random() < 0.1:
                rows.append((uuid.uuid4(), OTHER, phash, False))
    return rows


@pytest.fixture(scope="module")
def photos_db(admin_db_url: str) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    rows = _photos(random.Random(16))
    with fresh_database(admin_db_url, f"photostore_bands_{uuid.uuid4().hex[:10]}") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO users (id, email, password_hash)"
                " VALUES (%s, 'a@example.com', 'x'), (%s, 'b@example.com', 'x')",
                (OWNER, OTHER),
            )
            conn.execute(
                "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
                "   phash, deleted_at, created_at)"
                " SELECT id, user_id, 'p.jpg', 'originals/' || id, 1, 'image/jpeg',"
                "   encode(sha256(id::text::bytea), 'hex'), phash,"
                "   CASE WHEN trashed THEN now() END, now() - n * interval '1 second'"
                " FROM unnest(%s::uuid[], %s::uuid[], %s::bigint[], %s::bool[])"
                "   WITH ORDINALITY AS r(id, user_id, phash, trashed, n)",
                [list(column) for column in zip(*rows, strict=True)],
            )
            conn.execute("VACUUM ANALYZE photos")
        yield url, rows


def _expected(rows: list[tuple[Any, ...]], target: tuple[Any, ...], bound: int) -> set[Any]:
    return {
        (photo_id, hamming(phash, target[2]))
        for photo_id, user_id, phash, trashed in rows
        if user_id == OWNER and not trashed and phash is not None and photo_id != target[0]
        if hamming(phash, target[2]) <= bound
    }


def test_banded_search_returns_what_a_scan_of_every_hash_returns(
    photos_db: tuple[str, list[tuple[Any, ...]]],
) -> None:
    url, rows = photos_db
    rng = random.Random(4)
    live = [row for row in rows if row[1] == OWNER and not row[3] and row[2] is not None]
    found_some = 0
    with psycopg.connect(url) as conn:
        for target in rng.sample(live, 40):
            for bound in range(21):
                query, params = similar_query(OWNER, target[0], target[2], bound, 10_000)
                assert (b"ANY" in query) == (bound <= MAX_BANDED_DISTANCE)
                got = conn.execute(query, params).fetchall()
                answers = [(row[0], row[-1]) for row in got]
                assert set(answers) == _expected(rows, target, bound), (target, bound)
                distances = [distance for _, distance in answers]
                assert distances == sorted(distances)
                found_some += bool(answers)
    assert found_some > 200  # the bursts give most targets near-duplicates to find
