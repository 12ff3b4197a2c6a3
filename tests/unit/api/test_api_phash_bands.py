"""The pHash band rule of near-duplicate search, and the SQL built from it."""

from __future__ import annotations

import random
import re
import uuid

import pytest

from photostore.api.phash_bands import (
    BAND_EXPRESSIONS,
    MAX_BANDED_DISTANCE,
    band_probes,
    band_values,
    bits_per_band,
    hamming,
)
from photostore.api.search_sql import similar_query
from photostore.db.migrate import load_migrations


def _flip(value: int, positions: list[int]) -> int:
    for position in positions:
        value ^= 1 << position
    return value


def _found(target: int, candidate: int, max_distance: int) -> bool:
    """Whether some band of the candidate is among the values probed for that band."""
    probes = band_probes(target, max_distance)
    return any(
        value in probed for value, probed in zip(band_values(candidate), probes, strict=True)
    )


def test_bits_per_band_is_the_pigeonhole_bound() -> None:
    assert [bits_per_band(d) for d in range(16)] == [d // 4 for d in range(16)]
    assert [len(band_probes(-1, d)[0]) for d in (0, 3, 4, 7, 8, 11, 12, 15)] == [
        1,
        1,
        17,
        17,
        137,
        137,
        697,
        697,
    ]
    with pytest.raises(ValueError, match=r"0\.\.15"):
        bits_per_band(MAX_BANDED_DISTANCE + 1)


@pytest.mark.parametrize("max_distance", range(MAX_BANDED_DISTANCE + 1))
def test_every_hash_within_the_bound_matches_a_probed_band(max_distance: int) -> None:
    rng = random.Random(max_distance)
    for _ in range(300):
        target = rng.getrandbits(64) - (1 << 63)  # stored signed, as PostgreSQL's bigint
        flips = rng.sample(range(64), rng.randint(0, max_distance))
        candidate = _flip(target, flips)
        assert hamming(target, candidate) == len(flips)
        assert _found(target, candidate, max_distance)


@pytest.mark.parametrize("max_distance", range(MAX_BANDED_DISTANCE + 1))
def test_the_worst_spread_of_differing_bits_is_still_found(max_distance: int) -> None:
    """The bits spread as evenly as can be over the bands: no band has fewer than d // 4."""
    target = 0x7A5F_0F0F_1234_ABCD
    counts = [max_distance // 4 + (1 if band < max_distance % 4 else 0) for band in range(4)]
    flips = [16 * band + bit for band, count in enumerate(counts) for bit in range(count)]
    candidate = _flip(target, flips)
    assert hamming(target, candidate) == max_distance
    assert _found(target, candidate, max_distance)
    # One more differing bit in every band and the bands no longer promise anything.
    if max_distance + 4 <= 64:
        beyond = _flip(candidate, [16 * band + 15 for band in range(4)])
        assert not _found(target, beyond, max_distance)


def test_band_expressions_are_those_of_the_migration_indexes() -> None:
    """A search only uses a band index if it spells the band exactly as the index does."""
    migration = next(m for m in load_migrations() if m.name == "per_user_search_indexes")
    indexed = re.findall(r"ON photos \(user_id, (.+?)\);", migration.sql)
    assert indexed == list(BAND_EXPRESSIONS)
    phash = -0x0123_4567_89AB_CDEF
    for band, expression in enumerate(BAND_EXPRESSIONS):
        shift = int(m[1]) if (m := re.search(r">> (\d+)", expression)) else 0
        assert (phash >> shift) & 65535 == band_values(phash)[band]


def test_similar_query_probes_bands_up_to_the_limit_and_scans_above() -> None:
    user, photo = uuid.uuid4(), uuid.uuid4()
    banded, params = similar_query(user, photo, 12345, MAX_BANDED_DISTANCE, 20)
    assert all(expression.encode() in banded for expression in BAND_EXPRESSIONS)
    assert band_probes(12345, MAX_BANDED_DISTANCE) == params[3:7]
    scan, params = similar_query(user, photo, 12345, MAX_BANDED_DISTANCE + 1, 20)
    assert b"ANY" not in scan
    assert params == [12345, user, photo, MAX_BANDED_DISTANCE + 1, 20]
