"""Decoding a photo's bytes to 8-bit RGB pixels, upright, at no more resolution than needed.

JPEG's DCT scaling (`Image.draft`) decodes at 1/2, 1/4 or 1/8 size directly, which is most of
the speed of a thumbnailer: a 12 MP photo decoded for a 250 px thumbnail costs 1/64 of the
pixels. The draft is chosen so the decoded long edge stays at least the largest output size.

libjpeg-turbo also scales by 3/8, which `Image.draft` never asks for: where Pillow picks 1/2
and 3/8 still covers the largest output, the decoder is asked for 1/3 (which libjpeg-turbo
rounds up to 3/8). A 4000x3000 photo for a 1440 px preview then decodes to 1500x1125 instead
of 2000x1500: a 44% smaller image to decode and to resize, sharp as before (the 1440 px
Lanczos resize of either is within 50 dB of the full decode's).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from photostore.processor.exif import PhotoExif, read_exif
from photostore.processor.imaging import from_pillow

try:
    import pillow_heif
except ImportError:  # HEIC support is optional; without it HEIC photos fail as undecodable.
    HEIF_SUPPORTED = False
else:
    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True

# EXIF orientation -> the transpose that makes the photo upright (as ImageOps.exif_transpose).
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# A 4Gi processor decodes a photo this large with room to spare (see memory_budget.py).
DEFAULT_MAX_PIXELS = 100_000_000
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


class UndecodablePhotoError(ValueError):
    """The bytes are not an image we can read (corrupt, truncated or unknown format)."""


class PhotoTooLargeError(Exception):
    """The photo has more pixels than the processor decodes (a decompression bomb, or huge)."""


@dataclass(frozen=True)
class DecodedPhoto:
    pixels: np.ndarray[Any, np.dtype[np.uint8]]
    """(height, width, 3) RGB, upright, possibly reduced by JPEG draft decoding."""
    width: int
    """Width of the full-resolution photo, upright."""
    height: int
    exif: PhotoExif
    format: str


@dataclass(frozen=True)
class PhotoHeader:
    """What the header says, before any pixel is decoded."""

    width: int
    height: int
    decoded_width: int
    """Size a decode for the same `min_long_edge` produces (smaller than width x height for
    a JPEG decoded at reduced size)."""
    decoded_height: int


def draft_request(width: int, height: int, min_long_edge: int) -> tuple[int, int]:
    """The smallest size to ask `Image.draft` for so the decoded long edge is >= min_long_edge."""
    scale = min(1.0, min_long_edge / max(width, height))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


# libjpeg-turbo rounds a requested 1/3 scale up to 3/8 (jpeg_core_output_dimensions).
_THREE_EIGHTHS_DENOMINATOR = 3


def _draft(image: Image.Image, min_long_edge: int) -> None:
    """Ask the decoder for the smallest scale whose long edge is still >= `min_long_edge`."""
    width, height = image.size
    image.draft("RGB", draft_request(width, height, min_long_edge))
    if not isinstance(image, JpegImagePlugin.JpegImageFile) or len(image.tile) != 1:
        return
    scale, *rest = image.decoderconfig or (1,)
    reduced = (-(-width * 3 // 8), -(-height * 3 // 8))
    if scale != 2 or max(reduced) < min_long_edge:
        return
    image.tile = [image.tile[0]._replace(extents=(0, 0, *reduced))]
    image._size = reduced
    image.decoderconfig = (_THREE_EIGHTHS_DENOMINATOR, *rest)


def _open_within_limit(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) and refuse a photo over `max_pixels` before anything is decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own, higher limit
        raise PhotoTooLargeError(str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise UndecodablePhotoError(f"cannot decode image: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise PhotoTooLargeError(
            f"{width}x{height} is {width * height} pixels, over the limit of {max_pixels}"
        )
    return image


def read_header(
    data: bytes, min_long_edge: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PhotoHeader:
    """Size and decode cost from the header alone; raises as `decode_photo` would."""
    with _open_within_limit(data, max_pixels) as image:
        width, height = image.size
        if min_long_edge is not None:
            try:
                _draft(image, min_long_edge)
            except _DECODE_ERRORS as exc:
                raise UndecodablePhotoError(f"cannot decode image: {exc}") from exc
        decoded_width, decoded_height = image.size
    return PhotoHeader(width, height, decoded_width, decoded_height)


def decode_photo(
    data: bytes, min_long_edge: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DecodedPhoto:
    """Decode, reduce (JPEG only) and make upright; `min_long_edge=None` decodes at full size.

    A photo over `max_pixels` raises PhotoTooLargeError before its pixels are decoded.
    """
    try:
        with _open_within_limit(data, max_pixels) as image:
            full_width, full_height = image.size
            exif = read_exif(image)
            if min_long_edge is not None:
                _draft(image, min_long_edge)
            image.load()
            # An RGB image needs no converted copy: one copy of the pixels fewer at the peak.
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            if exif.orientation in _UPRIGHT:
                rgb = rgb.transpose(_UPRIGHT[exif.orientation])
            pixels = from_pillow(rgb)
            image_format = str(image.format)
            del rgb
    except _DECODE_ERRORS as exc:
        raise UndecodablePhotoError(f"cannot decode image: {exc}") from exc
    if exif.orientation >= 5:
        full_width, full_height = full_height, full_width
    return DecodedPhoto(
        pixels=pixels,
        width=full_width,
        height=full_height,
        exif=exif,
        format=image_format,
    )
