"""Sharpness as the variance of the Laplacian, measured at a fixed size.

The variance of the Laplacian grows with edge contrast, so a blurred photo scores low. It
depends on resolution, hence the photo is first resized so its long edge is
`SHARPNESS_EDGE` pixels: scores of photos of different sizes are then comparable.
"""

from __future__ import annotations

from photostore.processor.arrays import Array, array_module
from photostore.processor.resize import fit_within, resize

SHARPNESS_EDGE = 512


def laplacian(gray: Array) -> Array:
    """4-neighbour Laplacian with mirrored borders (as `scipy.ndimage.laplace`, mode 'reflect')."""
    xp = array_module(gray)
    padded = xp.pad(gray.astype(xp.float64), 1, mode="symmetric")
    return (
        padded[:-2, 1:-1]
        + padded[2:, 1:-1]
        + padded[1:-1, :-2]
        + padded[1:-1, 2:]
        - 4.0 * padded[1:-1, 1:-1]
    )


def laplacian_variance(gray: Array) -> float:
    return float(laplacian(gray).var())


def blur_score(gray: Array) -> float:
    """Laplacian variance of the 8-bit grayscale image resized to a long edge of 512 px."""
    height, width = gray.shape
    target_w, target_h = fit_within(width, height, SHARPNESS_EDGE)
    return laplacian_variance(resize(gray, target_w, target_h))
