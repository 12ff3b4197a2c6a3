"""The pipeline's 8-bit operations: Pillow's own output on the host, close to it on a GPU."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from photostore.processor.arrays import to_host
from photostore.processor.imaging import from_pillow, grayscale, resize_8bit, to_pillow


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("size", [(250, 188), (32, 32), (9, 8), (700, 700)])
def test_resize_8bit_is_pillows_lanczos(
    xp: ModuleType, photo: Image.Image, size: tuple[int, int]
) -> None:
    reference = np.asarray(photo.resize(size, Image.Resampling.LANCZOS))
    ours = to_host(resize_8bit(xp.asarray(np.asarray(photo)), *size))
    assert ours.dtype == np.uint8
    assert ours.shape == reference.shape
    if xp is np:
        np.testing.assert_array_equal(ours, reference)
    else:
        assert _psnr(ours, reference) > 45.0


def test_resize_8bit_of_grayscale(xp: ModuleType, photo: Image.Image) -> None:
    gray = photo.convert("L")
    reference = np.asarray(gray.resize((97, 61), Image.Resampling.LANCZOS))
    ours = to_host(resize_8bit(xp.asarray(np.asarray(gray)), 97, 61))
    assert ours.shape == (61, 97)
    if xp is np:
        np.testing.assert_array_equal(ours, reference)
    else:
        assert _psnr(ours, reference) > 45.0


def test_grayscale_is_pillows_on_every_device(xp: ModuleType, photo: Image.Image) -> None:
    ours = to_host(grayscale(xp.asarray(np.asarray(photo))))
    np.testing.assert_array_equal(ours, np.asarray(photo.convert("L")))


def test_pixels_read_from_pillow_keep_their_image_read_only(photo: Image.Image) -> None:
    pixels = from_pillow(photo)
    np.testing.assert_array_equal(pixels, np.asarray(photo))
    assert to_pillow(pixels) is photo
    with pytest.raises(ValueError, match="read-only"):
        pixels[0, 0, 0] = 1


def test_a_slice_or_a_copy_is_not_taken_for_the_whole_image(photo: Image.Image) -> None:
    pixels = from_pillow(photo)
    top = to_pillow(pixels[:10])
    assert top is not photo
    assert top.size == (photo.width, 10)
    np.testing.assert_array_equal(np.asarray(top), np.asarray(photo)[:10])
    assert to_pillow(pixels.copy()) is not photo
