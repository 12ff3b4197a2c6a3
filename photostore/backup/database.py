"""What the backup commands ask PostgreSQL: tables and row counts, versions, databases."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

# Ordinary tables outside the system schemas, except those an extension owns (PostGIS's
# spatial_ref_sys): CREATE EXTENSION refills those, they are not the application's data.
TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def row_counts(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    """Rows per table ("schema.table"), in one statement, so in one snapshot."""
    tables = [(str(s), str(t)) for s, t in conn.execute(TABLES).fetchall()]
    if not tables:
        return {}
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*) FROM ONLY {}").format(
            sql.Literal(f"{schema}.{table}"), sql.Identifier(schema, table)
        )
        for schema, table in tables
    )
    return {str(name): int(str(n)) for name, n in conn.execute(counts).fetchall()}


def server_version(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[str, int]:
    """(`server_version`, `server_version_num`), e.g. ("15.8 (Debian ...)", 150008)."""
    row = conn.execute(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int"
    ).fetchone()
    assert row is not None
    return str(row[0]), int(str(row[1]))


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """The highest migration `photostore migrate` recorded, None without its table."""
    row = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    top = conn.execute("SELECT max(version) FROM public.schema_migrations").fetchone()
    return None if top is None or top[0] is None else int(str(top[0]))


def database_exists(conn: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
    )


def create_database(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """An empty database from template0, so nothing of template1 mixes into the restore."""
    conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))


def drop_database(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def client_major(version_output: str) -> int:
    """The major version in `pg_dump --version` output ("pg_dump (PostgreSQL) 15.8" -> 15)."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", version_output)
    if match is None:
        raise ValueError(f"no PostgreSQL version in {version_output!r}")
    return int(match[1])
