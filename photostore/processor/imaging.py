"""The pipeline's 8-bit image operations, on whichever device holds the pixels.

Host (NumPy) arrays go through Pillow's C code: its Lanczos resampler and its grayscale are
the references the kernels are tested against (`resize` to PSNR > 45 dB, `luma` bit for bit),
so the host gets the reference's output itself, at three to five times the speed of the same
filter written as NumPy gathers (Pillow releases the GIL while it resamples, so photos
resize in parallel on worker threads). Device (CuPy) arrays go through those kernels.

Which one runs follows from the array, as `array_module` does: callers, `run_kernels` above
all, are one code path for both devices and feed both the same sizes.

A host array made from a Pillow image (`from_pillow`) keeps that image, read-only: the next
operation or encoder on it reads the image instead of copying the pixels back into Pillow
(Pillow stores RGB as 4 bytes a pixel, so every crossing is a full copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from photostore.processor.arrays import Array
from photostore.processor.resize import box_reduce, luma, resize, to_uint8

# Shrinking by more than this, a thumbnail is first box-reduced by a whole factor, so that
# Lanczos shrinks by less than this much (Pillow's `reducing_gap`, libvips' `resize` gap).
REDUCING_GAP = 2


class PillowBackedArray(np.ndarray[Any, np.dtype[np.uint8]]):
    """A read-only host array of a Pillow image's pixels that keeps the image."""

    pillow: Image.Image


def from_pillow(image: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The image's pixels as a read-only array, (H, W) or (H, W, C), that remembers the image."""
    pixels = np.asarray(image)
    pixels.flags.writeable = False
    backed = pixels.view(PillowBackedArray)
    backed.pillow = image
    return backed


def to_pillow(pixels: np.ndarray[Any, Any]) -> Image.Image:
    """A Pillow image of 8-bit host pixels: the one they were read from, if they were."""
    if isinstance(pixels, PillowBackedArray) and hasattr(pixels, "pillow"):
        return pixels.pillow
    return Image.fromarray(pixels)


def resize_8bit(image: Array, width: int, height: int) -> Array:
    """Lanczos-3 resize of an 8-bit (H, W) or (H, W, 3) image to (height, width), 8-bit out."""
    if isinstance(image, np.ndarray):
        return from_pillow(to_pillow(image).resize((width, height), Image.Resampling.LANCZOS))
    return to_uint8(resize(image, width, height))


def reduce_8bit(image: Array, factor: int) -> Array:
    """Box-reduce an 8-bit image whose sides are multiples of `factor` (Pillow's `reduce`)."""
    if isinstance(image, np.ndarray):
        return from_pillow(to_pillow(image).reduce(factor))
    return box_reduce(image, factor)


def reduce_factor(width: int, height: int, out_width: int, out_height: int) -> int:
    """The largest whole factor, dividing both sides, that leaves Lanczos <= REDUCING_GAP."""
    factor = max(1, min(width // (out_width * REDUCING_GAP), height // (out_height * REDUCING_GAP)))
    while width % factor or height % factor:
        factor -= 1
    return factor


def thumbnail_8bit(image: Array, width: int, height: int) -> Array:
    """A thumbnail of an 8-bit image: box-reduce by a whole factor, then Lanczos-3.

    As libvips' `resize` and Pillow's `resize(reducing_gap=2.0)` do: a 250 px grid from a
    1440 px preview averages 2x2 blocks, then Lanczos shrinks 2.88 times instead of 5.76,
    half the taps on a quarter of the pixels, indistinguishable at that size. Where the sides
    are not multiples of the factor, a smaller factor (or none) is used.
    """
    factor = reduce_factor(image.shape[1], image.shape[0], width, height)
    if factor > 1:
        image = reduce_8bit(image, factor)
    return resize_8bit(image, width, height)


def grayscale(rgb: Array) -> Array:
    """8-bit grayscale of an 8-bit RGB image: Pillow's `convert('L')` (ITU-R 601-2)."""
    if isinstance(rgb, np.ndarray):
        return from_pillow(to_pillow(rgb).convert("L"))
    return luma(rgb)
