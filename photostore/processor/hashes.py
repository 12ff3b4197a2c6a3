"""Perceptual hashes with the `imagehash` library's definitions, for NumPy and CuPy.

Each hash is 64 bits, row-major, most significant bit first, exactly as `imagehash` prints
them, stored as a signed 64-bit integer so it fits a PostgreSQL `bigint`:

- aHash: 8x8 grayscale, bit = pixel > mean.
- dHash: 9x8 (width x height) grayscale, bit = pixel > its left neighbour.
- pHash: 32x32 grayscale, DCT-II (scipy.fftpack's unnormalised type II) along both axes,
  8x8 low-frequency corner, bit = coefficient > median of the corner.

The `*_bits` functions take the already resized grayscale pixels (so they can be checked
bit for bit against `imagehash` given the same input); `image_hashes` resizes too, to 8-bit
pixels as `imagehash` does: on the host with Pillow's resampler, so the hashes of an image
equal `imagehash`'s of the same image bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from photostore.processor.arrays import Array, array_module, to_host
from photostore.processor.imaging import resize_8bit

HASH_SIZE = 8
PHASH_SIZE = HASH_SIZE * 4


@lru_cache(maxsize=4)
def dct_matrix(n: int) -> np.ndarray[Any, Any]:
    """D with D @ x == scipy.fftpack.dct(x, type=2) (no normalisation): 2 cos(pi k (2m+1) / 2n)."""
    k = np.arange(n)[:, None]
    m = np.arange(n)[None, :]
    matrix: np.ndarray[Any, Any] = 2.0 * np.cos(np.pi * k * (2 * m + 1) / (2 * n))
    return matrix


def average_hash_bits(pixels: Array) -> Array:
    return pixels > pixels.mean()


def difference_hash_bits(pixels: Array) -> Array:
    return pixels[:, 1:] > pixels[:, :-1]


def perceptual_hash_bits(pixels: Array, hash_size: int = HASH_SIZE) -> Array:
    xp = array_module(pixels)
    dct = xp.asarray(dct_matrix(pixels.shape[0]))
    coefficients = dct @ pixels.astype(xp.float64) @ dct.T
    corner = coefficients[:hash_size, :hash_size]
    return corner > xp.median(corner)


def bits_to_int64(bits: Array) -> int:
    """64 hash bits (row-major, MSB first) as a signed 64-bit integer (two's complement)."""
    flat = to_host(bits).astype(bool).ravel()
    if flat.size != 64:
        raise ValueError(f"expected 64 bits, got {flat.size}")
    unsigned = int.from_bytes(np.packbits(flat).tobytes(), "big")
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def int64_to_unsigned(value: int) -> int:
    return value & ((1 << 64) - 1)


def hamming(a: int, b: int) -> int:
    return (int64_to_unsigned(a) ^ int64_to_unsigned(b)).bit_count()


@dataclass(frozen=True)
class Hashes:
    ahash: int
    dhash: int
    phash: int


def image_hashes(gray: Array) -> Hashes:
    """aHash, dHash and pHash of an 8-bit grayscale image of any size (the pipeline gives the
    grid thumbnail's: `imagehash` itself reads no more than 32x32 pixels)."""
    small = resize_8bit(gray, HASH_SIZE, HASH_SIZE)
    wide = resize_8bit(gray, HASH_SIZE + 1, HASH_SIZE)
    square = resize_8bit(gray, PHASH_SIZE, PHASH_SIZE)
    return Hashes(
        ahash=bits_to_int64(average_hash_bits(small)),
        dhash=bits_to_int64(difference_hash_bits(wide)),
        phash=bits_to_int64(perceptual_hash_bits(square)),
    )
