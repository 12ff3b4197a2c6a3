"""Near-duplicate search by pHash bands (multi-index hashing).

The 64-bit perceptual hash is split into four 16-bit bands; migration 0004 indexes each band
with user_id (``BAND_EXPRESSIONS``, the very expressions of those indexes). If two hashes
differ in at most ``d`` bits, the four bands share those bits out, so at least one band
differs in at most ``floor(d / 4)`` bits (were every band to differ in ``floor(d / 4) + 1``
or more, the total would be at least ``4 * floor(d / 4) + 4 > d``). A search for hashes
within ``d`` bits of a target therefore probes, in each band's index, every 16-bit value
within ``floor(d / 4)`` bits of the target's band, and confirms each candidate with the
exact Hamming distance: the answers are exactly those of a scan of all the user's photos.

The probes per band are ``sum(C(16, k) for k <= r)``: 1 value for d <= 3, 17 for d <= 7,
137 for d <= 11, 697 for d <= 15, and 2,517 for d <= 19. Past 15 bits a random hash shares
a probed band value with about 15 % of a user's photos, so the index no longer pays:
``MAX_BANDED_DISTANCE`` is the largest bound searched through the bands; larger bounds scan
the user's photos.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

BANDS = 4
BAND_BITS = 16
BAND_MASK = (1 << BAND_BITS) - 1
MAX_BANDED_DISTANCE = 15

# SQL of each band of the signed bigint column phash, as the indexes of 0004 spell it.
BAND_EXPRESSIONS = tuple(
    "(phash & 65535)" if band == 0 else f"((phash >> {BAND_BITS * band}) & 65535)"
    for band in range(BANDS)
)


def band_values(phash: int) -> tuple[int, ...]:
    """The four 16-bit bands of a 64-bit hash (signed or unsigned), lowest bits first."""
    return tuple((phash >> (BAND_BITS * band)) & BAND_MASK for band in range(BANDS))


def bits_per_band(max_distance: int) -> int:
    """How many bits a probed band value may differ from the target's band (pigeonhole)."""
    if not 0 <= max_distance <= MAX_BANDED_DISTANCE:
        raise ValueError(f"banded search covers distances 0..{MAX_BANDED_DISTANCE}")
    return max_distance // BANDS


@cache
def _flip_masks(bits: int) -> tuple[int, ...]:
    """Every 16-bit mask with at most `bits` bits set."""
    return tuple(
        sum(1 << position for position in chosen)
        for count in range(bits + 1)
        for chosen in combinations(range(BAND_BITS), count)
    )


def band_probes(phash: int, max_distance: int) -> list[list[int]]:
    """For each band, the values a hash within `max_distance` bits may hold in some band."""
    masks = _flip_masks(bits_per_band(max_distance))
    return [sorted(value ^ mask for mask in masks) for value in band_values(phash)]


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes, signed or unsigned."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
