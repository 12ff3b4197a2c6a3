"""Antialiased separable resize (Lanczos-3), written once for NumPy and CuPy.

The filter taps follow Pillow's `ImagingResample`: when shrinking, the Lanczos kernel is
stretched by the scale factor, so every source pixel contributes (no aliasing), and the
weights of each output pixel are normalised to sum to one. The taps depend only on the
sizes, so they are built on the host and copied to the image's device; the per-pixel work is
a gather and a weighted sum along one axis at a time, which costs O(taps) per output pixel on
both devices (a dense resize matrix would cost O(input size)).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from photostore.processor.arrays import Array, array_module

LANCZOS_SUPPORT = 3.0


def _lanczos(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    weights: np.ndarray[Any, Any] = np.where(
        np.abs(x) < LANCZOS_SUPPORT, np.sinc(x) * np.sinc(x / LANCZOS_SUPPORT), 0.0
    )
    return weights


@lru_cache(maxsize=64)
def resize_taps(in_size: int, out_size: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Source indices (out_size, taps) and float32 weights (out_size, taps) for one axis."""
    if in_size < 1 or out_size < 1:
        raise ValueError(f"sizes must be positive, got {in_size} -> {out_size}")
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filter_scale
    centers = (np.arange(out_size) + 0.5) * scale
    # Pillow truncates toward zero, then clamps to the image.
    first = np.clip(np.trunc(centers - support + 0.5), 0, in_size).astype(np.int64)
    last = np.clip(np.trunc(centers + support + 0.5), 0, in_size).astype(np.int64)
    taps = int((last - first).max())
    offsets = np.arange(taps)
    index = first[:, None] + offsets[None, :]
    valid = index < last[:, None]
    weights = _lanczos((index - centers[:, None] + 0.5) / filter_scale) * valid
    weights /= weights.sum(axis=1, keepdims=True)
    index = np.where(valid, index, first[:, None])
    return index, weights.astype(np.float32)


def _resize_axis(image: Array, out_size: int, axis: int) -> Array:
    xp = array_module(image)
    host_index, host_weights = resize_taps(image.shape[axis], out_size)
    index = xp.asarray(host_index)
    weights = xp.asarray(host_weights)
    # Shape weights to broadcast along `axis` whatever the number of dimensions.
    shape = [1] * image.ndim
    shape[axis] = out_size
    result = None
    for tap in range(host_index.shape[1]):
        # In-place multiply-accumulate: one temporary per tap instead of three.
        term = xp.take(image, index[:, tap], axis=axis).astype(xp.float32, copy=False)
        term *= weights[:, tap].reshape(shape)
        if result is None:
            result = term
        else:
            result += term
    return result


def resize(image: Array, width: int, height: int) -> Array:
    """Resize an (H, W) or (H, W, C) image to (height, width); float32 out, same range in."""
    out = image
    # Shrinking rows first makes the second, strided pass work on fewer rows.
    if image.shape[0] != height:
        out = _resize_axis(out, height, axis=0)
    if image.shape[1] != width:
        out = _resize_axis(out, width, axis=1)
    xp = array_module(out)
    return out.astype(xp.float32, copy=False)


def to_uint8(image: Array) -> Array:
    """Round and clamp a float image to 8 bits (Lanczos overshoots at edges)."""
    xp = array_module(image)
    return xp.clip(xp.rint(image), 0, 255).astype(xp.uint8)


def fit_within(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """The size that fits `long_edge` keeping the aspect ratio; never enlarges."""
    scale = long_edge / max(width, height)
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def luma(rgb: Array) -> Array:
    """8-bit grayscale of an 8-bit RGB image, bit-identical to Pillow's `convert('L')`.

    Pillow uses ITU-R 601-2 weights in 16-bit fixed point with rounding; matching it exactly
    makes our hashes agree with the `imagehash` library's.
    """
    xp = array_module(rgb)
    wide = rgb.astype(xp.uint32)
    value = wide[..., 0] * 19595 + wide[..., 1] * 38470 + wide[..., 2] * 7471 + 0x8000
    return (value >> 16).astype(xp.uint8)


def box_reduce(image: Array, factor: int) -> Array:
    """Each `factor` x `factor` block's mean, rounded as Pillow's `Image.reduce` rounds.

    8-bit in and out; both sides must be multiples of `factor`. Pillow divides in 8.24 fixed
    point: ((sum + area / 2) * floor(2^24 / area)) >> 24.
    """
    height, width = image.shape[:2]
    if factor < 1 or height % factor or width % factor:
        raise ValueError(f"{width}x{height} is not made of whole {factor}x{factor} blocks")
    xp = array_module(image)
    blocks = image.reshape(height // factor, factor, width // factor, factor, *image.shape[2:])
    sums = blocks.sum(axis=(1, 3), dtype=xp.uint64)
    area = factor * factor
    multiplier = int(2.0**32 / (256 * area))
    return (((sums + area // 2) * multiplier) >> 24).astype(xp.uint8)
