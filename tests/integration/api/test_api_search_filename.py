"""Filename search through the GiST index gives the answers of the plain query, in order.

The search (search_sql._by_filename) takes the similar names nearest first from the user's
index and stops after a page, and looks up the names that only hold the term when the similar
ones don't fill it. The plain query reads every match and sorts them. Both run here on random
libraries of camera-like and worded names, with pages cut through ties, on the real PostgreSQL.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from service_fixtures import database_users

from photostore.api.photos_db import SUMMARY_COLUMNS
from photostore.api.search_sql import Place, SearchCriteria, like_pattern, search_query

OWNER = uuid.uuid4()
NEIGHBOUR = uuid.uuid4()
WORDS = ["beach", "sunset", "harbor", "party", "forest", "été", "beach-house", "100%", "a_b"]


def _name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return (
            f"IMG_2021{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}_{rng.randint(0, 9999)}.jpg"
        )
    if roll < 0.5:
        return f"DSC{rng.randint(0, 99999):05d}.JPG"
    if roll < 0.6:
        return "beach.jpg"  # many equal names: ties in similarity
    return f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{rng.randint(0, 99)}.jpg"


@pytest.fixture(scope="module")
def names(database_url: str) -> Iterator[list[str]]:
    rng = random.Random(11)
    owned = []
    with database_users(database_url, OWNER, NEIGHBOUR):
        with psycopg.connect(database_url, autocommit=True) as conn:
            for n in range(800):
                user = OWNER if n % 4 else NEIGHBOUR
                name = _name(rng)
                photo_id = uuid.uuid4()
                conn.execute(
                    "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256,"
                    " tags, processing_status, location, deleted_at)"
                    " VALUES (%s, %s, %s, %s, 1, 'image/jpeg', %s, %s, 'done',"
                    " ST_SetSRID(ST_MakePoint(%s, 0), 4326)::geography,"
                    " CASE WHEN %s THEN now() END)",
                    (
                        photo_id,
                        user,
                        name,
                        f"originals/{photo_id}",
                        f"{n:064x}",
                        ["even"] if n % 2 == 0 else [],
                        rng.uniform(-1, 1),
                        n % 17 == 0,
                    ),
                )
                owned.append(name)
        yield owned


def _plain(conn: psycopg.Connection[Any], criteria: SearchCriteria, limit: int) -> list[Any]:
    """Every match read and sorted: the answer the search must give."""
    term = criteria.filename
    where = "user_id = %s AND deleted_at IS NULL AND (filename %% %s OR filename ILIKE %s)"
    params: list[Any] = [OWNER, term, like_pattern(str(term))]
    if criteria.tags:
        where += " AND tags @> %s::text[]"
        params.append(criteria.tags)
    if criteria.place is not None:
        where += " AND ST_DWithin(location, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)"
        params += [criteria.place.lon, criteria.place.lat, criteria.place.radius_m]
    rows = conn.execute(
        f"SELECT id, similarity(filename, %s) AS score FROM photos WHERE {where}"  # noqa: S608
        " ORDER BY score DESC, id LIMIT %s",
        [term, *params, limit],
    ).fetchall()
    return [row[0] for row in rows]


def _terms(names: list[str]) -> Iterator[str]:
    rng = random.Random(5)
    for _ in range(150):
        name = rng.choice(names)
        start = rng.randrange(len(name))
        yield name[start : start + rng.randint(1, 12)]
    yield from ["beach", "beahc", "IMG_2021", "DSC0", "100%", "a_b", "_", "%", "été", "zzzz"]


def test_the_filename_search_answers_as_the_plain_query(
    database_url: str, names: list[str]
) -> None:
    paged = 0
    with psycopg.connect(database_url) as conn:
        for term in _terms(names):
            for criteria in (
                SearchCriteria(filename=term),
                SearchCriteria(filename=term, tags=["even"]),
                SearchCriteria(filename=term, place=Place(0.0, 0.0, 50_000.0)),
            ):
                for limit in (1, 7, 50, 1000):
                    query, params = search_query(OWNER, criteria, limit)
                    found = [row[0] for row in conn.execute(query, params).fetchall()]
                    expected = _plain(conn, criteria, limit)
                    assert found == expected, (criteria, limit)
                    paged += len(expected) == limit
    assert paged > 100, "too few searches filled a page to show the cut"


def test_the_search_returns_the_summary_and_the_score(database_url: str, names: list[str]) -> None:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(*search_query(OWNER, SearchCriteria(filename="beach"), 5))
        rows = cursor.fetchall()
        assert cursor.description is not None
        columns = [column.name for column in cursor.description]
    assert columns == [c.strip() for c in SUMMARY_COLUMNS.split(",")] + ["score"]
    assert len(rows) == 5
    assert [row[-1] for row in rows] == sorted((row[-1] for row in rows), reverse=True)
