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


# How far into the file `image_size` looks. A JPEG's frame header follows its EXIF and
# embedded previews (64 KiB per segment, several segments); a HEIC's `ispe` boxes sit in
# the `meta` box near the start. Bytes are held back from S3 until the size is known or
# this much has arrived.
SIZE_SCAN_BYTES = 512 * 1024

# JPEG start-of-frame markers (every SOFn but DHT C4, JPG C8 and DAC CC).
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return (width, height) if width and height else None
        if length < 2:
            return None
        pos += 2 + length
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def _heic_meta(data: bytes) -> bytes:
    """The top-level `meta` box of an ISO-BMFF file (as much of it as `data` holds)."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if size == 1 and pos + 16 <= len(data):  # 64-bit size follows the type
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if kind == b"meta":
            return data[pos : pos + size] if size >= 8 else data[pos:]
        if size < 8:
            return b""
        pos += size
    return b""


def _heic_size(data: bytes) -> tuple[int, int] | None:
    """The largest `ispe` (image spatial extents) box: the primary image, not its tiles."""
    meta = _heic_meta(data)
    sizes: list[tuple[int, int]] = []
    pos = meta.find(b"ispe")
    while pos >= 4 and pos + 16 <= len(meta):
        if meta[pos - 4 : pos] == b"\0\0\0\x14":  # an ispe box is 20 bytes
            width = int.from_bytes(meta[pos + 8 : pos + 12], "big")
            height = int.from_bytes(meta[pos + 12 : pos + 16], "big")
            sizes.append((width, height))
        pos = meta.find(b"ispe", pos + 4)
    return max(sizes, key=lambda size: size[0] * size[1]) if sizes else None


_SIZE_READERS = {
    "image/jpeg": _jpeg_size,
    "image/png": _png_size,
    "image/webp": _webp_size,
    "image/heic": _heic_size,
}


def image_size(content_type: str, head: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of an image of `content_type`, when `head` holds it.

    None when the header is not within `head` or cannot be read; the processor, which
    decodes the image, then has the last word.
    """
    reader = _SIZE_READERS.get(content_type)
    return reader(head) if reader else None
