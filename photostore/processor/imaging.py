"""The pipeline's 8-bit image operations, on whichever device holds the pixels.

Host (NumPy) arrays go through Pillow's C code: its Lanczos resampler and its grayscale are
the references the kernels are tested against (`resize` to PSNR > 45 dB, `luma` bit for bit),
so the host gets the reference's output itself, at three to five times the speed of the same
filter written as NumPy gathers (Pillow releases the GIL while it resamples, so photos
resize in parallel on worker threads). Device (CuPy) arrays go through those kernels.

Which one runs follows from the array, as `array_module` does: callers, `run_kernels` above
all, are one code path for both devices and feed both the same sizes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from photostore.processor.arrays import Array
from photostore.processor.resize import luma, resize, to_uint8


def resize_8bit(image: Array, width: int, height: int) -> Array:
    """Lanczos-3 resize of an 8-bit (H, W) or (H, W, 3) image to (height, width), 8-bit out."""
    if isinstance(image, np.ndarray):
        resized = Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(resized)
    return to_uint8(resize(image, width, height))


def grayscale(rgb: Array) -> Array:
    """8-bit grayscale of an 8-bit RGB image: Pillow's `convert('L')` (ITU-R 601-2)."""
    if isinstance(rgb, np.ndarray):
        return np.asarray(Image.fromarray(rgb).convert("L"))
    return luma(rgb)
