"""Fixtures for backup tests against the environment's real PostgreSQL and S3.

Each test gets its own migrated database and its own prefix in a bucket of this session, so
it can run beside other engineers' tests on the same servers.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from backup_harness import Installation, drop_database
from psycopg.conninfo import conninfo_to_dict
from service_fixtures import fresh_bucket, fresh_database, s3_client

from photostore.backup.config import Settings

RUN_ID = uuid.uuid4().hex[:8]
_numbers = itertools.count()


@pytest.fixture(scope="session")
def admin_url(env: dict[str, str]) -> str:
    return env["PHOTOSTORE_DATABASE_URL"]


@pytest.fixture(scope="session")
def s3(env: dict[str, str]) -> Any:
    return s3_client(env)


@pytest.fixture(scope="session")
def bucket(s3: Any, env: dict[str, str]) -> Iterator[str]:
    with fresh_bucket(s3, f"backup-test-{RUN_ID}", env["PHOTOSTORE_S3_REGION"]) as name:
        yield name


def _drop_derived(admin_url: str, name: str) -> None:
    """Restore and verify targets named after the database (`<name>_restore_<id>`...)."""
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (name + "_",)
        ).fetchall()
    for (derived,) in rows:
        drop_database(admin_url, str(derived))


@pytest.fixture
def installation(admin_url: str, bucket: str, env: dict[str, str]) -> Iterator[Installation]:
    name = f"bk_{RUN_ID}_{next(_numbers)}"
    prefix = f"backups/{name}/"
    with fresh_database(admin_url, name) as url:
        cli_env = {
            "PHOTOSTORE_DATABASE_URL": url,
            "PHOTOSTORE_BACKUP_BUCKET": bucket,
            "PHOTOSTORE_BACKUP_PREFIX": prefix,
            "PHOTOSTORE_S3_ENDPOINT": env["PHOTOSTORE_S3_ENDPOINT"],
            "PHOTOSTORE_S3_REGION": env["PHOTOSTORE_S3_REGION"],
            "PHOTOSTORE_S3_ACCESS_KEY": env["PHOTOSTORE_S3_ACCESS_KEY"],
            "PHOTOSTORE_S3_SECRET_KEY": env["PHOTOSTORE_S3_SECRET_KEY"],
        }
        settings = Settings(
            database_url=url,
            backup_bucket=bucket,
            backup_prefix=prefix,
            s3_endpoint=env["PHOTOSTORE_S3_ENDPOINT"],
            s3_region=env["PHOTOSTORE_S3_REGION"],
            s3_access_key=env["PHOTOSTORE_S3_ACCESS_KEY"],
            s3_secret_key=env["PHOTOSTORE_S3_SECRET_KEY"],
        )
        assert conninfo_to_dict(url)["dbname"] == name
        try:
            yield Installation(admin_url, name, url, bucket, prefix, settings, cli_env)
        finally:
            _drop_derived(admin_url, name)
