"""SHA-256 of a file, read in chunks: never the whole file in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The lower-case hex SHA-256 of the file's bytes, as the API stores it."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
