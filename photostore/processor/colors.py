"""Colour histogram and dominant colours of an 8-bit RGB image, for NumPy and CuPy.

Both are meant for a small image (the grid thumbnail): their cost is one pass over the
pixels and a `bincount`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photostore.processor.arrays import Array, array_module, to_host

HISTOGRAM_BINS = 16
# Dominant colours are found among 16 levels per channel (4096 colour cells).
_LEVEL_BITS = 4


def color_histogram(rgb: Array, bins: int = HISTOGRAM_BINS) -> dict[str, list[float]]:
    """Per-channel histograms, each normalised to sum to 1: {"r": [...], "g": [...], "b": [...]}."""
    if 256 % bins:
        raise ValueError("bins must divide 256")
    xp = array_module(rgb)
    pixels = rgb.reshape(-1, 3)
    shift = 256 // bins
    result: dict[str, list[float]] = {}
    for channel, name in enumerate("rgb"):
        counts = xp.bincount(pixels[:, channel] // shift, minlength=bins)
        result[name] = [round(float(v), 6) for v in to_host(counts / pixels.shape[0])]
    return result


@dataclass(frozen=True)
class DominantColor:
    hex: str
    fraction: float

    def as_json(self) -> dict[str, str | float]:
        return {"hex": self.hex, "fraction": self.fraction}


def dominant_colors(rgb: Array, count: int = 5) -> list[DominantColor]:
    """The `count` most common colour cells, each as its mean colour and share of pixels.

    Quantising to a fixed grid (not k-means) keeps the result deterministic and identical
    on both devices.
    """
    xp = array_module(rgb)
    pixels = rgb.reshape(-1, 3).astype(xp.int64)
    levels = pixels >> (8 - _LEVEL_BITS)
    cell = (levels[:, 0] << (2 * _LEVEL_BITS)) | (levels[:, 1] << _LEVEL_BITS) | levels[:, 2]
    cells = 1 << (3 * _LEVEL_BITS)
    counts = xp.bincount(cell, minlength=cells)
    sums = xp.stack(
        [xp.bincount(cell, weights=pixels[:, c], minlength=cells) for c in range(3)], axis=1
    )
    host_counts = to_host(counts)
    host_sums = to_host(sums)
    # 4096 counts: ranked on the host, with a stable sort so ties go to the lower cell index.
    order = np.argsort(-host_counts, kind="stable")[:count]
    total = float(pixels.shape[0])
    found: list[DominantColor] = []
    for index in order:
        n = int(host_counts[index])
        if n == 0:
            break
        r, g, b = (round(float(v) / n) for v in host_sums[index])
        found.append(DominantColor(f"#{r:02x}{g:02x}{b:02x}", round(n / total, 6)))
    return found
