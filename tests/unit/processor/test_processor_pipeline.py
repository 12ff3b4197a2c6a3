"""One photo through decode, kernels and encoding, on each array module."""

from __future__ import annotations

import io
from types import ModuleType

import imagehash
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from photostore.processor.arrays import to_host
from photostore.processor.colors import color_histogram, dominant_colors
from photostore.processor.decode import decode_photo, read_header
from photostore.processor.hashes import Hashes, hamming, int64_to_unsigned
from photostore.processor.imaging import thumbnail_8bit
from photostore.processor.pipeline import (
    KernelOutput,
    ThumbnailSpec,
    decode_size,
    process_image,
    render_thumbnail,
    run_kernels,
)

SPECS = [ThumbnailSpec("grid", "webp", 250), ThumbnailSpec("preview", "jpg", 1440)]


def _jpeg(image: Image.Image, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_photo_gets_thumbnails_hashes_and_colours(xp: ModuleType, photo: Image.Image) -> None:
    processed = process_image(_jpeg(photo, (3000, 2000)), SPECS, xp)
    features = processed.features
    assert (features.width, features.height) == (3000, 2000)
    by_name = {t.name: t for t in processed.thumbnails}
    assert (by_name["grid"].width, by_name["grid"].height) == (250, 167)
    assert (by_name["preview"].width, by_name["preview"].height) == (1440, 960)
    grid = Image.open(io.BytesIO(by_name["grid"].data))
    assert (grid.format, grid.size) == ("WEBP", (250, 167))
    preview = Image.open(io.BytesIO(by_name["preview"].data))
    assert (preview.format, preview.size) == ("JPEG", (1440, 960))
    assert hamming(features.hashes.phash, int(str(imagehash.phash(photo)), 16)) <= 6
    assert features.blur_score > 0
    assert 1 <= len(features.dominant_colors) <= 5
    assert abs(sum(features.color_histogram["r"]) - 1) < 1e-4


def test_small_photo_is_not_enlarged(xp: ModuleType, photo: Image.Image) -> None:
    processed = process_image(_jpeg(photo, (200, 150)), SPECS, xp)
    assert {(t.width, t.height) for t in processed.thumbnails} == {(200, 150)}


def test_render_thumbnail_is_the_grid_thumbnail(xp: ModuleType, photo: Image.Image) -> None:
    thumbnail = render_thumbnail(_jpeg(photo, (4000, 3000)), SPECS[0], xp)
    assert (thumbnail.width, thumbnail.height) == (250, 188)
    assert thumbnail.content_type == "image/webp"


def _kernels(xp: ModuleType, photo: Image.Image) -> KernelOutput:
    decoded = decode_photo(_jpeg(photo, (4000, 3000)), decode_size(SPECS))
    return run_kernels(xp.asarray(decoded.pixels), SPECS)


def test_photo_is_decoded_once_at_the_draft_covering_the_preview() -> None:
    assert decode_size(SPECS) == 1440
    assert decode_size(SPECS[:1]) == 250
    header = read_header(_jpeg(Image.new("RGB", (64, 48)), (4000, 3000)), decode_size(SPECS))
    assert (header.decoded_width, header.decoded_height) == (1500, 1125)


def test_grid_is_resized_from_the_preview(xp: ModuleType, photo: Image.Image) -> None:
    output = _kernels(xp, photo)
    preview, grid = output.thumbnails["preview"], output.thumbnails["grid"]
    assert preview.shape == (1080, 1440, 3)
    np.testing.assert_array_equal(grid, to_host(thumbnail_8bit(xp.asarray(preview), 250, 188)))


def test_hashes_are_imagehash_of_the_grid_thumbnail(xp: ModuleType, photo: Image.Image) -> None:
    output = _kernels(xp, photo)
    grid = Image.fromarray(output.thumbnails["grid"])
    reference = Hashes(
        ahash=int(str(imagehash.average_hash(grid)), 16),
        dhash=int(str(imagehash.dhash(grid)), 16),
        phash=int(str(imagehash.phash(grid)), 16),
    )
    ours = output.hashes
    if xp is np:
        assert [int64_to_unsigned(h) for h in (ours.ahash, ours.dhash, ours.phash)] == [
            reference.ahash,
            reference.dhash,
            reference.phash,
        ]
    else:  # the device's resize is within 45 dB of Pillow's, not bit for bit
        assert hamming(ours.ahash, reference.ahash) <= 2
        assert hamming(ours.dhash, reference.dhash) <= 2
        assert hamming(ours.phash, reference.phash) <= 2


def test_blur_score_is_the_previews_laplacian_variance(xp: ModuleType, photo: Image.Image) -> None:
    output = _kernels(xp, photo)
    gray = np.asarray(Image.fromarray(output.thumbnails["preview"]).convert("L"))
    reference = ndimage.laplace(gray.astype(np.float64), mode="reflect").var()
    assert output.blur_score == pytest.approx(reference, rel=1e-9)


def test_colours_are_the_grid_thumbnails(xp: ModuleType, photo: Image.Image) -> None:
    output = _kernels(xp, photo)
    grid = output.thumbnails["grid"]
    assert output.color_histogram == color_histogram(grid)
    assert output.dominant_colors == dominant_colors(grid)
