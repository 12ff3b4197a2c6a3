"""How much memory a photo takes to process, and splitting a batch into parts that fit.

The cost is estimated from the header before anything is decoded. The constants were
measured with `ru_maxrss` on flat-colour PNGs (the worst case: tiny on disk, huge decoded):

- decoding: Pillow's image (4 bytes per pixel, RGB is stored as RGBX), a converted copy for
  other modes (4), and `np.asarray`'s copy built from chunks (3, twice at its peak):
  about 13.3 bytes per decoded pixel for RGBA, 9.5 for RGB;
- the first resize pass: `out_edge` rows (or columns) of the long side, RGB, in float32, two
  buffers plus the uint8 gather: 27 bytes per pixel of that strip.
"""

from __future__ import annotations

from collections.abc import Sequence

BYTES_PER_DECODED_PIXEL = 14
RESIZE_STRIP_BYTES_PER_PIXEL = 27
PHOTO_OVERHEAD_BYTES = 4 << 20


def photo_cost(encoded_bytes: int, decoded_width: int, decoded_height: int, out_edge: int) -> int:
    """Bytes one photo may hold at its peak: its encoded bytes, decode and first resize."""
    decoded = decoded_width * decoded_height
    strip = min(out_edge, decoded_width, decoded_height) * max(decoded_width, decoded_height)
    return (
        encoded_bytes
        + PHOTO_OVERHEAD_BYTES
        + BYTES_PER_DECODED_PIXEL * decoded
        + RESIZE_STRIP_BYTES_PER_PIXEL * strip
    )


def fitting_prefix(costs: Sequence[int], budget: int) -> int:
    """How many of `costs`, in order, fit in `budget` together; at least one.

    A photo that alone exceeds the budget is processed alone: refusing it is the pixel
    limit's job, and the budget should be set above the cost of the largest photo allowed.
    """
    total = 0
    for count, cost in enumerate(costs):
        total += cost
        if total > budget and count > 0:
            return count
    return len(costs)
