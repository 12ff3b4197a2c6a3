"""The Lanczos resize against Pillow's (PSNR), and its invariants."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from photostore.processor.arrays import to_host
from photostore.processor.resize import fit_within, luma, resize, resize_taps, to_uint8


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("size", [(250, 188), (97, 61), (32, 32), (600, 300), (700, 700)])
def test_resize_matches_pillow_lanczos(
    xp: ModuleType, photo: Image.Image, size: tuple[int, int]
) -> None:
    width, height = size
    reference = np.asarray(photo.resize(size, Image.Resampling.LANCZOS))
    ours = to_host(to_uint8(resize(xp.asarray(np.asarray(photo)), width, height)))
    assert ours.shape == reference.shape
    assert _psnr(ours, reference) > 45.0


def test_resize_differs_from_nearest_neighbour(xp: ModuleType, photo: Image.Image) -> None:
    """The bound above means something: an aliased resize is far below it."""
    nearest = np.asarray(photo.resize((97, 61), Image.Resampling.NEAREST))
    ours = to_host(to_uint8(resize(xp.asarray(np.asarray(photo)), 97, 61)))
    assert _psnr(ours, nearest) < 35.0


def test_constant_image_stays_constant(xp: ModuleType) -> None:
    flat = xp.full((300, 400, 3), 77, dtype=xp.uint8)
    out = to_host(resize(flat, 123, 45))
    assert out.shape == (45, 123, 3)
    np.testing.assert_allclose(out, 77.0, atol=1e-3)


def test_same_size_is_identity(xp: ModuleType) -> None:
    image = xp.asarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    np.testing.assert_array_equal(to_host(resize(image, 4, 3)), to_host(image))


def test_taps_are_normalised_and_in_range() -> None:
    index, weights = resize_taps(1000, 37)
    assert index.min() >= 0
    assert index.max() < 1000
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_within_keeps_aspect_and_never_enlarges() -> None:
    assert fit_within(4000, 3000, 250) == (250, 188)
    assert fit_within(3000, 4000, 1440) == (1080, 1440)
    assert fit_within(100, 50, 250) == (100, 50)


def test_luma_is_pillows_grayscale(xp: ModuleType, photo: Image.Image) -> None:
    ours = to_host(luma(xp.asarray(np.asarray(photo))))
    np.testing.assert_array_equal(ours, np.asarray(photo.convert("L")))
