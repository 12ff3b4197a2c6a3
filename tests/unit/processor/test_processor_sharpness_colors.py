"""Laplacian against scipy.ndimage, blur scores, colour histogram and dominant colours."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from PIL import Image, ImageFilter
from scipy import ndimage

from photostore.processor.arrays import to_host
from photostore.processor.colors import color_histogram, dominant_colors
from photostore.processor.resize import luma
from photostore.processor.sharpness import blur_score, laplacian, laplacian_variance


def test_laplacian_matches_scipy(xp: ModuleType, photo: Image.Image) -> None:
    gray = np.asarray(photo.convert("L")).astype(np.float64)
    reference = ndimage.laplace(gray, mode="reflect")
    np.testing.assert_allclose(to_host(laplacian(xp.asarray(gray))), reference, atol=1e-9)
    assert abs(laplacian_variance(xp.asarray(gray)) - reference.var()) < 1e-6 * reference.var()


def test_blurred_photo_scores_lower(xp: ModuleType, photo: Image.Image) -> None:
    sharp = blur_score(luma(xp.asarray(np.asarray(photo))))
    blurred_image = photo.filter(ImageFilter.GaussianBlur(3))
    blurred = blur_score(luma(xp.asarray(np.asarray(blurred_image))))
    assert blurred < sharp / 4


def test_flat_image_has_zero_blur_score(xp: ModuleType) -> None:
    assert blur_score(xp.full((600, 800), 128, dtype=xp.uint8)) < 1e-6


def test_histogram_is_normalised_per_channel(xp: ModuleType, photo: Image.Image) -> None:
    histogram = color_histogram(xp.asarray(np.asarray(photo)))
    assert set(histogram) == {"r", "g", "b"}
    for bins in histogram.values():
        assert len(bins) == 16
        assert abs(sum(bins) - 1.0) < 1e-4


def test_histogram_counts_the_right_bins(xp: ModuleType) -> None:
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    image[:, :, 0] = 255
    image[:5, :, 2] = 20
    histogram = color_histogram(xp.asarray(image))
    assert histogram["r"][15] == 1.0
    assert histogram["g"][0] == 1.0
    assert histogram["b"][0] == 0.5
    assert histogram["b"][1] == 0.5


def test_dominant_colors_of_a_two_colour_image(xp: ModuleType) -> None:
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    image[:, :7] = (200, 30, 40)
    image[:, 7:] = (10, 250, 10)
    found = dominant_colors(xp.asarray(image), count=5)
    assert [(c.hex, c.fraction) for c in found] == [("#c81e28", 0.7), ("#0afa0a", 0.3)]


def test_laplacian_variance_of_8bit_pixels_is_scipys(xp: ModuleType, photo: Image.Image) -> None:
    gray = np.asarray(photo.convert("L"))
    reference = ndimage.laplace(gray.astype(np.float64), mode="reflect")
    values = laplacian(xp.asarray(gray))
    assert values.dtype == xp.int16
    np.testing.assert_array_equal(to_host(values), reference)
    assert laplacian_variance(xp.asarray(gray)) == pytest.approx(reference.var(), rel=1e-12)
