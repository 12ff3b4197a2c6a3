"""One photo's processing: decode (CPU), kernels (the chosen device), encode thumbnails (CPU).

The photo is decoded once, at the smallest JPEG scale that still covers the largest
thumbnail (3/8 for a 12 MP photo and a 1440 px preview; see decode.py). The kernels then run
on a cascade, largest first: the preview from the decoded photo, each smaller thumbnail from
the next larger one (the grid from the preview; `thumbnail_8bit`), and each analysis reads
the smallest image that defines it: hashes and colours the smallest thumbnail (the grid),
sharpness the largest (the preview; see sharpness.py). Nothing but the first resize touches
the decoded photo.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

from photostore.processor.arrays import Array, to_device, to_host
from photostore.processor.colors import DominantColor, color_histogram, dominant_colors
from photostore.processor.decode import DecodedPhoto, decode_photo
from photostore.processor.exif import PhotoExif
from photostore.processor.hashes import Hashes, image_hashes
from photostore.processor.imaging import grayscale, thumbnail_8bit, to_pillow
from photostore.processor.resize import fit_within
from photostore.processor.sharpness import blur_score

ThumbnailFormat = Literal["webp", "jpg"]
_CONTENT_TYPES: dict[str, str] = {"webp": "image/webp", "jpg": "image/jpeg"}
_PIL_FORMATS: dict[str, str] = {"webp": "WEBP", "jpg": "JPEG"}


@dataclass(frozen=True)
class ThumbnailSpec:
    name: str
    format: ThumbnailFormat
    long_edge: int
    quality: int = 82


@dataclass(frozen=True)
class Thumbnail:
    name: str
    ext: str
    content_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class PhotoFeatures:
    width: int
    height: int
    exif: PhotoExif
    hashes: Hashes
    blur_score: float
    dominant_colors: list[DominantColor]
    color_histogram: dict[str, list[float]]


@dataclass(frozen=True)
class ProcessedPhoto:
    features: PhotoFeatures
    thumbnails: list[Thumbnail]


@dataclass(frozen=True)
class KernelOutput:
    """What the device computed for one photo; thumbnails are 8-bit host arrays."""

    thumbnails: dict[str, np.ndarray[Any, np.dtype[np.uint8]]]
    hashes: Hashes
    blur_score: float
    dominant_colors: list[DominantColor]
    color_histogram: dict[str, list[float]]


def decode_size(specs: list[ThumbnailSpec]) -> int:
    """The long edge to decode at: the largest output's."""
    return max(spec.long_edge for spec in specs)


def run_kernels(pixels: Array, specs: list[ThumbnailSpec]) -> KernelOutput:
    """Resize cascade, hashes, colours and sharpness of one (H, W, 3) uint8 image on its device."""
    height, width = pixels.shape[:2]
    edges = sorted({spec.long_edge for spec in specs}, reverse=True)
    stages: dict[int, Array] = {}
    current = pixels
    for edge in edges:
        target_w, target_h = fit_within(width, height, edge)
        if (target_h, target_w) != current.shape[:2]:
            current = thumbnail_8bit(current, target_w, target_h)
        stages[edge] = current
    largest, smallest = stages[edges[0]], stages[edges[-1]]
    return KernelOutput(
        thumbnails={spec.name: to_host(stages[spec.long_edge]) for spec in specs},
        hashes=image_hashes(grayscale(smallest)),
        blur_score=blur_score(grayscale(largest)),
        dominant_colors=dominant_colors(smallest),
        color_histogram=color_histogram(smallest),
    )


def encode_thumbnail(spec: ThumbnailSpec, pixels: np.ndarray[Any, Any]) -> Thumbnail:
    buffer = io.BytesIO()
    to_pillow(pixels).save(buffer, format=_PIL_FORMATS[spec.format], quality=spec.quality)
    height, width = pixels.shape[:2]
    return Thumbnail(
        name=spec.name,
        ext=spec.format,
        content_type=_CONTENT_TYPES[spec.format],
        data=buffer.getvalue(),
        width=width,
        height=height,
    )


def assemble(
    decoded: DecodedPhoto, output: KernelOutput, specs: list[ThumbnailSpec]
) -> ProcessedPhoto:
    """Encode the thumbnails (CPU) and put the photo's results together."""
    return ProcessedPhoto(
        features=PhotoFeatures(
            width=decoded.width,
            height=decoded.height,
            exif=decoded.exif,
            hashes=output.hashes,
            blur_score=output.blur_score,
            dominant_colors=output.dominant_colors,
            color_histogram=output.color_histogram,
        ),
        thumbnails=[encode_thumbnail(spec, output.thumbnails[spec.name]) for spec in specs],
    )


def process_image(data: bytes, specs: list[ThumbnailSpec], xp: ModuleType = np) -> ProcessedPhoto:
    """Decode, run the kernels on `xp`'s device and encode the thumbnails of one photo."""
    decoded = decode_photo(data, decode_size(specs))
    output = run_kernels(to_device(xp, decoded.pixels), specs)
    return assemble(decoded, output, specs)


def render_thumbnail(data: bytes, spec: ThumbnailSpec, xp: ModuleType = np) -> Thumbnail:
    """Only one thumbnail: decode just big enough, resize, encode (the benchmarked step)."""
    decoded = decode_photo(data, spec.long_edge)
    height, width = decoded.pixels.shape[:2]
    target_w, target_h = fit_within(width, height, spec.long_edge)
    pixels = to_device(xp, decoded.pixels)
    if (target_h, target_w) != (height, width):
        pixels = thumbnail_8bit(pixels, target_w, target_h)
    return encode_thumbnail(spec, to_host(pixels))
