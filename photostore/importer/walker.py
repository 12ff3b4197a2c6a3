"""Finding the image files under a folder, by their name's extension."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})


def is_image_name(name: str) -> bool:
    """Whether a file name has one of the image extensions, in any case."""
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


@dataclass
class WalkResult:
    files: list[Path] = field(default_factory=list)
    # (folder, why) for each folder that could not be listed.
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def find_images(root: Path) -> WalkResult:
    """Every image file under `root`, recursively, in a stable (sorted) order.

    Symbolic links to folders are not followed (no cycles, nothing outside `root` twice);
    links to files are taken like files.
    """
    result = WalkResult()

    def unreadable(error: OSError) -> None:
        result.unreadable.append((Path(error.filename or root), error.strerror or str(error)))

    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if is_image_name(name) and path.is_file():
                result.files.append(path)
    return result
