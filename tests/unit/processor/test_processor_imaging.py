"""The pipeline's 8-bit operations: Pillow's own output on the host, close to it on a GPU."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from photostore.processor.arrays import to_host
from photostore.processor.imaging import (
    from_pillow,
    grayscale,
    reduce_8bit,
    reduce_factor,
    resize_8bit,
    thumbnail_8bit,
    to_pillow,
)
from photostore.processor.resize import box_reduce


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("size", [(250, 188), (32, 32), (600, 300), (700, 700)])
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


@pytest.mark.parametrize("factor", [2, 3, 5])
def test_box_reduce_is_pillows_reduce(xp: ModuleType, photo: Image.Image, factor: int) -> None:
    image = photo.resize((600, 450))
    reference = np.asarray(image.reduce(factor))
    np.testing.assert_array_equal(
        to_host(box_reduce(xp.asarray(np.asarray(image)), factor)), reference
    )
    np.testing.assert_array_equal(
        to_host(reduce_8bit(xp.asarray(np.asarray(image)), factor)), reference
    )


def test_box_reduce_refuses_partial_blocks(xp: ModuleType) -> None:
    with pytest.raises(ValueError, match="whole 2x2 blocks"):
        box_reduce(xp.zeros((11, 10, 3), dtype=xp.uint8), 2)


def test_reduce_factor_keeps_lanczos_within_the_gap() -> None:
    assert reduce_factor(1440, 1080, 250, 188) == 2  # 5.76x: 2x2 blocks, then 2.88x
    assert reduce_factor(1500, 1125, 1440, 1080) == 1
    assert reduce_factor(500, 375, 250, 188) == 1
    assert reduce_factor(4000, 3000, 250, 188) == 5  # 16x: 5x5 blocks, then 3.2x
    assert reduce_factor(1441, 1080, 250, 188) == 1  # no whole blocks across 1441


def test_thumbnail_is_pillows_resize_with_reducing_gap(xp: ModuleType, photo: Image.Image) -> None:
    preview = photo.resize((1440, 1080), Image.Resampling.LANCZOS)
    reference = np.asarray(preview.resize((250, 188), Image.Resampling.LANCZOS, reducing_gap=2.0))
    ours = to_host(thumbnail_8bit(xp.asarray(np.asarray(preview)), 250, 188))
    assert ours.shape == (188, 250, 3)
    if xp is np:
        np.testing.assert_array_equal(ours, reference)
    else:
        assert _psnr(ours, reference) > 45.0
    # The reduction is there: plain Lanczos gives other pixels (close, not equal).
    plain = np.asarray(preview.resize((250, 188), Image.Resampling.LANCZOS))
    assert 35.0 < _psnr(reference, plain) < float("inf")
