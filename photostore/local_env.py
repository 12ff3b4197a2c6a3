"""The local environment's settings file, `var/env`, written by hack/env/up.sh.

Read by the demo, the benchmarks and the tests; KEY=VALUE lines, comments and blanks skipped.
`PHOTOSTORE_VAR` moves the folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from photostore.storage import create_s3_client

REPO_ROOT = Path(__file__).resolve().parent.parent


def env_file() -> Path:
    return Path(os.environ.get("PHOTOSTORE_VAR", REPO_ROOT / "var")) / "env"


def read_env_file(path: Path | None = None) -> dict[str, str]:
    path = path or env_file()
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: start the environment first (make env)")
    settings: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip().strip("'\"")
    return settings


def s3_client(env: dict[str, str]) -> Any:
    """A client of the environment's S3 server, with its generated keys."""
    return create_s3_client(
        region=env["PHOTOSTORE_S3_REGION"],
        endpoint=env["PHOTOSTORE_S3_ENDPOINT"],
        access_key=env["PHOTOSTORE_S3_ACCESS_KEY"],
        secret_key=env["PHOTOSTORE_S3_SECRET_KEY"],
    )
