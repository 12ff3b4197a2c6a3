"""The PostgreSQL client programs and how they are given a connection without a password
on their command line (where `ps` would show it): the password travels in PGPASSWORD."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from psycopg.conninfo import make_conninfo

from photostore.backup.config import Settings
from photostore.backup.database import client_major
from photostore.backup.errors import BackupError


def program(settings: Settings, name: str) -> str:
    if settings.pg_bin_dir:
        path = Path(settings.pg_bin_dir) / name
        if not path.exists():
            raise BackupError(f"{path} does not exist (PHOTOSTORE_PG_BIN_DIR)")
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client programs")
    return found


def program_major(path: str) -> tuple[int, str]:
    """(major, version line) of a client program."""
    output = subprocess.run([path, "--version"], check=True, capture_output=True, text=True)
    line = output.stdout.strip()
    return client_major(line), line


def check_client_fits_server(path: str, server_major: int) -> str:
    """pg_dump must be at least the server's major version; return its version line."""
    major, line = program_major(path)
    if major < server_major:
        raise BackupError(
            f"{line} cannot dump a PostgreSQL {server_major} server: use the client programs "
            f"of version {server_major} (the image's PG_MAJOR build argument)"
        )
    return line


def process_connection(params: dict[str, str], application_name: str) -> tuple[str, dict[str, str]]:
    """(conninfo without password, environment for the child process)."""
    params = {**params, "application_name": application_name}
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env
