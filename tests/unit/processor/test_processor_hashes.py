"""Our hashes against the `imagehash` library: bit-equal on the same input, close end to end."""

from __future__ import annotations

from types import ModuleType

import imagehash
import numpy as np
import pytest
from PIL import Image

from photostore.processor.hashes import (
    average_hash_bits,
    bits_to_int64,
    difference_hash_bits,
    hamming,
    image_hashes,
    int64_to_unsigned,
    perceptual_hash_bits,
)
from photostore.processor.resize import luma

LANCZOS = Image.Resampling.LANCZOS


def _reference(h: imagehash.ImageHash) -> int:
    return int(str(h), 16)


def _pillow_gray(image: Image.Image, width: int, height: int) -> np.ndarray:
    return np.asarray(image.convert("L").resize((width, height), LANCZOS))


def test_ahash_is_bit_equal_to_imagehash(xp: ModuleType, photo: Image.Image) -> None:
    pixels = xp.asarray(_pillow_gray(photo, 8, 8))
    ours = bits_to_int64(average_hash_bits(pixels))
    assert int64_to_unsigned(ours) == _reference(imagehash.average_hash(photo))


def test_dhash_is_bit_equal_to_imagehash(xp: ModuleType, photo: Image.Image) -> None:
    pixels = xp.asarray(_pillow_gray(photo, 9, 8))
    ours = bits_to_int64(difference_hash_bits(pixels))
    assert int64_to_unsigned(ours) == _reference(imagehash.dhash(photo))


def test_phash_is_bit_equal_to_imagehash(xp: ModuleType, photo: Image.Image) -> None:
    pixels = xp.asarray(_pillow_gray(photo, 32, 32))
    ours = bits_to_int64(perceptual_hash_bits(pixels))
    assert int64_to_unsigned(ours) == _reference(imagehash.phash(photo))


def test_end_to_end_hashes_are_close_to_imagehash(xp: ModuleType, photo: Image.Image) -> None:
    ours = image_hashes(luma(xp.asarray(np.asarray(photo))))
    assert hamming(ours.ahash, _reference(imagehash.average_hash(photo))) <= 3
    assert hamming(ours.dhash, _reference(imagehash.dhash(photo))) <= 6
    assert hamming(ours.phash, _reference(imagehash.phash(photo))) <= 4


def test_different_photos_have_distant_phashes(xp: ModuleType) -> None:
    from skimage import data

    a = image_hashes(luma(xp.asarray(data.astronaut())))
    b = image_hashes(luma(xp.asarray(data.coffee())))
    assert hamming(a.phash, b.phash) >= 16


def test_hashes_fit_a_signed_bigint() -> None:
    assert bits_to_int64(np.ones((8, 8), dtype=bool)) == -1
    assert bits_to_int64(np.zeros((8, 8), dtype=bool)) == 0
    top = np.zeros(64, dtype=bool)
    top[0] = True
    assert bits_to_int64(top) == -(1 << 63)
    top[0], top[-1] = False, True
    assert bits_to_int64(top) == 1


def test_bits_to_int64_rejects_other_sizes() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        bits_to_int64(np.ones((4, 4), dtype=bool))
