"""One photo through decode, kernels and encoding, on each array module."""

from __future__ import annotations

import io
from types import ModuleType

import imagehash
from PIL import Image

from photostore.processor.hashes import hamming
from photostore.processor.pipeline import ThumbnailSpec, process_image, render_thumbnail

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
