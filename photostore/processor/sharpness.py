"""Sharpness (the blur score) as the variance of the Laplacian of the preview's grayscale.

The variance of the Laplacian grows with edge contrast, so a blurred photo scores low. It
depends on resolution, so it is measured at one size: the pipeline feeds it the grayscale of
the largest thumbnail, the preview (long edge `PHOTOSTORE_THUMBNAIL_PREVIEW_SIZE`, 1440 px by
default), the same pixels a user sees. Scores of photos processed with the same preview size
are comparable; a photo smaller than the preview is measured at its own size.

An 8-bit image's Laplacian is computed in 16-bit integers and its variance from exact integer
sums: the same value as in float64, from a quarter of the memory traffic.
"""

from __future__ import annotations

from photostore.processor.arrays import Array, array_module


def laplacian(gray: Array) -> Array:
    """4-neighbour Laplacian with mirrored borders (as `scipy.ndimage.laplace`, mode 'reflect').

    8-bit input gives int16 (exact: |value| <= 4 * 255); any other input gives float64.
    """
    xp = array_module(gray)
    dtype = xp.int16 if gray.dtype == xp.uint8 else xp.float64
    padded = xp.pad(gray, 1, mode="symmetric").astype(dtype)
    result = padded[:-2, 1:-1] + padded[2:, 1:-1]
    result += padded[1:-1, :-2]
    result += padded[1:-1, 2:]
    result -= 4 * padded[1:-1, 1:-1]
    return result


def laplacian_variance(gray: Array) -> float:
    """Variance of the Laplacian (population variance, as `numpy.var`)."""
    xp = array_module(gray)
    values = laplacian(gray)
    if values.dtype != xp.int16:
        return float(values.var())
    # Exact integer moments: n * sum(x^2) - sum(x)^2 never loses a digit.
    n = values.size
    total = int(values.sum(dtype=xp.int64))
    squares = int((values.astype(xp.int32) ** 2).sum(dtype=xp.int64))
    variance: float = (n * squares - total * total) / (n * n)
    return variance


def blur_score(gray: Array) -> float:
    """The blur score of an 8-bit grayscale image at its own size (the pipeline's preview)."""
    return laplacian_variance(gray)
