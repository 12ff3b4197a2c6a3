"""Decide an image's type from its first bytes, never from what the client claims."""

from __future__ import annotations

# Enough for every signature below (HEIF's ftyp box brand sits at bytes 8..12).
SNIFF_BYTES = 32

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
# Generic HEIF brands: HEIC only when a HEVC brand is also listed as compatible.
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type of a JPEG, PNG, WebP or HEIC file from its first bytes; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        if major in _HEIF_BRANDS:
            return "image/heic"
        if major in _GENERIC_HEIF_BRANDS:
            box_size = int.from_bytes(head[:4], "big")
            compatible = head[16 : min(box_size, len(head))]
            brands = {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
            if brands & _HEIF_BRANDS:
                return "image/heic"
    return None
