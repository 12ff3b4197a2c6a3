"""Pixel limit from the header, and the memory estimate that splits a batch into parts."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from photostore.processor.decode import (
    DEFAULT_MAX_PIXELS,
    PhotoTooLargeError,
    decode_photo,
    read_header,
)
from photostore.processor.memory_budget import fitting_prefix, photo_cost


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 200).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_photo_over_the_pixel_limit_is_refused_from_its_header() -> None:
    photo = _png((2000, 1500))
    # The header alone decides: with the pixel data cut off, the refusal is the same.
    truncated = photo[:200]
    for data in (photo, truncated):
        with pytest.raises(PhotoTooLargeError, match="2000x1500 is 3000000 pixels, over"):
            read_header(data, 1440, max_pixels=2_999_999)
        with pytest.raises(PhotoTooLargeError):
            decode_photo(data, 1440, max_pixels=2_999_999)
    assert decode_photo(photo, 1440, max_pixels=3_000_000).pixels.shape == (1500, 2000, 3)


def test_header_gives_the_decoded_size_of_a_draft_decoded_jpeg() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(buffer, "JPEG")
    header = read_header(buffer.getvalue(), 1440)
    assert (header.width, header.height) == (4000, 3000)
    # DCT scaling at 3/8: the decode that follows produces exactly this many pixels.
    assert (header.decoded_width, header.decoded_height) == (1500, 1125)
    decoded = decode_photo(buffer.getvalue(), 1440)
    assert decoded.pixels.shape[:2] == (header.decoded_height, header.decoded_width)
    png = read_header(_png((4000, 3000)), 1440)
    assert (png.decoded_width, png.decoded_height) == (4000, 3000)


def test_the_largest_photo_allowed_fits_the_default_budget_alone() -> None:
    side = int(DEFAULT_MAX_PIXELS**0.5)
    assert photo_cost(100 << 20, side, side, 1440) < 2 << 30


def test_cost_grows_with_pixels_and_bytes() -> None:
    small = photo_cost(1 << 20, 1000, 1000, 1440)
    assert photo_cost(1 << 20, 12000, 12000, 1440) > 100 * small / 2
    assert photo_cost(50 << 20, 1000, 1000, 1440) - small == 49 << 20


@pytest.mark.parametrize(
    ("costs", "budget", "expected"),
    [
        ([], 10, 0),
        ([4, 4, 4], 10, 2),
        ([4, 4, 2], 10, 3),
        ([25, 1], 10, 1),  # too large alone still runs, alone
        ([1, 25], 10, 1),
    ],
)
def test_fitting_prefix(costs: list[int], budget: int, expected: int) -> None:
    assert fitting_prefix(costs, budget) == expected
