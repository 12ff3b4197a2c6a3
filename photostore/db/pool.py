"""The psycopg connection pool factory.

The pool is created closed (`open=False`) so that the owner opens it in its own event
loop (FastAPI's lifespan, the processor's startup) and can decide how long to wait.
Credentials may live in the URL or in PGUSER/PGPASSWORD, which libpq reads itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def create_pool(
    database_url: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    timeout: float = 5.0,
    name: str = "photostore",
    application_name: str = "photostore",
    autocommit: bool = False,
    configure: Callable[[AsyncConnection[DictRow]], Awaitable[None]] | None = None,
) -> Pool:
    """A closed pool of dict-row connections; `await pool.open()` before use.

    With `autocommit`, a one-statement request costs one round trip instead of two (no
    COMMIT); work that must be atomic then opens `conn.transaction()` explicitly.

    `timeout` bounds how long a request waits for a connection, so a dead database
    turns into a quick error instead of a hung request. `configure` runs on each new
    connection (e.g. to register type loaders).
    """
    return AsyncConnectionPool(
        conninfo=database_url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        name=name,
        open=False,
        configure=configure,
        connection_class=AsyncConnection[DictRow],
        kwargs={
            "autocommit": autocommit,
            "row_factory": dict_row,
            "application_name": application_name,
            "connect_timeout": max(1, int(timeout)),
        },
    )
