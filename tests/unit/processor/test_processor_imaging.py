"""The pipeline's 8-bit operations: Pillow's own output on the host, close to it on a GPU."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from photostore.processor.arrays import to_host
from photostore.processor.imaging import grayscale, resize_8bit


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
