"""Reads on the environment's streaming replica, and what happens when it is behind or gone.

The replica is shared by everyone's tests: it is never stopped here. A replica that dies is
a TCP proxy in front of it that the test closes; a replica held back is the shared one with
its replay paused for a few seconds, resumed in a `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from photostore.api.app import create_app
from photostore.api.config import Settings
from photostore.api.services import Services
from photostore.db.migrate import MigrationError, apply_migrations
from photostore.db.replica_lag import ReadReason


@pytest.fixture(scope="session")
def replica_server_url(env: dict[str, str]) -> str:
    url = env.get("PHOTOSTORE_DATABASE_REPLICA_URL", "")
    if not url:
        pytest.skip("the environment runs no PostgreSQL replica (PHOTOSTORE_DATABASE_REPLICA_URL)")
    return url


@pytest.fixture(scope="session")
def replica_url(replica_server_url: str, database_url: str) -> str:
    """The test database on the replica, once the replica has it."""
    url = make_conninfo(replica_server_url, dbname=conninfo_to_dict(database_url)["dbname"])
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
            return url
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def with_replicas(settings: Settings, *urls: str, **changes: Any) -> Settings:
    return settings.model_copy(
        update={"database_replica_urls": [SecretStr(url) for url in urls], **changes}
    )


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client, app.state.services


def reads(services: Services, target: str, reason: str) -> float:
    labels = {"target": target, "reason": reason}
    return services.registry.get_sample_value("photostore_db_reads_total", labels) or 0.0


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.1)


async def served_by(
    services: Services, request: Callable[[], Awaitable[httpx.Response]]
) -> tuple[str, httpx.Response]:
    """Which server answered the request's one replica-eligible read, and the response."""
    before = {
        (target, reason): reads(services, target, reason)
        for target in ("replica", "primary")
        for reason in ReadReason
    }
    response = await request()
    changed = [key for key, count in before.items() if reads(services, *key) > count]
    assert len(changed) == 1, (changed, response.status_code, response.text[:300])
    target, reason = changed[0]
    return f"{target}:{reason}", response


def test_migrations_refuse_a_replica(replica_url: str) -> None:
    with pytest.raises(MigrationError, match="read replica"):
        apply_migrations(replica_url)
    command = subprocess.run(
        [sys.executable, "-m", "photostore", "migrate", "--database-url", replica_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert command.returncode == 1
    assert "is a read replica" in command.stderr
    assert "password" not in command.stderr


async def test_list_search_similar_and_download_links_are_read_on_the_replica(
    settings: Settings, replica_url: str, register, upload, database_url: str
) -> None:
    settings = with_replicas(settings, replica_url)
    async with serve(settings) as (client, services):
        headers = await register(client)
        photo = (await upload(client, headers)).json()["id"]
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE photos SET phash = 42 WHERE id = %s", (photo,))

        async def on_the_replica() -> bool:
            where, response = await served_by(
                services, lambda: client.get("/v1/photos", headers=headers)
            )
            return where == "replica:replica" and response.json()["items"][0]["id"] == photo

        await eventually(on_the_replica)  # once the replica replayed the user's upload
        scans_before = photo_scans(replica_url)
        for path in (
            "/v1/photos",
            "/v1/search/photos?filename=photo",
            f"/v1/photos/{photo}/similar",
            f"/v1/photos/{photo}/download",
        ):
            where, response = await served_by(
                services, lambda p=path: client.get(p, headers=headers)
            )
            assert (where, response.status_code) == ("replica:replica", 200), path

        async def in_recovery(conn: Any) -> bool:
            row = await (await conn.execute("SELECT pg_is_in_recovery() AS r")).fetchone()
            return bool(row["r"])

        assert await services.reads.read(0, in_recovery) is True

        async def replica_scanned_photos() -> bool:
            # The replica's own statistics (flushed by its backends within seconds).
            return photo_scans(replica_url) >= scans_before + 4

        await eventually(replica_scanned_photos, seconds=20)


def photo_scans(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'photos'"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_a_held_back_replica_keeps_a_writer_on_the_primary_and_then_everyone(
    settings: Settings, replica_url: str, register, upload, database_url: str
) -> None:
    settings = with_replicas(settings, replica_url, database_replica_max_lag_seconds=1.5)
    async with serve(settings) as (client, services):
        writer, reader = await register(client), await register(client)

        async def reader_on_replica() -> bool:
            where, _ = await served_by(services, lambda: client.get("/v1/photos", headers=reader))
            return where == "replica:replica"

        await eventually(reader_on_replica)
        admin = await psycopg.AsyncConnection.connect(replica_url, autocommit=True)
        await admin.execute("SELECT pg_wal_replay_pause()")
        try:
            paused_at = time.monotonic()

            async def paused() -> bool:  # the pause is only requested until replay stops
                cur = await admin.execute("SELECT pg_get_wal_replay_pause_state()")
                return (await cur.fetchone()) == ("paused",)

            await eventually(paused, seconds=5)
            created = await upload(client, writer)
            assert created.status_code == 201
            where, listed = await served_by(
                services, lambda: client.get("/v1/photos", headers=writer)
            )
            assert where == f"primary:{ReadReason.OWN_WRITE}"
            assert [item["id"] for item in listed.json()["items"]] == [created.json()["id"]]

            async def behind() -> bool:
                async with await psycopg.AsyncConnection.connect(
                    database_url, autocommit=True
                ) as conn:  # WAL for the primary to be ahead with
                    await conn.execute("UPDATE photos SET updated_at = now()")
                health = services.reads.replicas[0].health
                return health.lag_s is not None and health.lag_s > 1.5

            await eventually(behind, seconds=6)
            where, _ = await served_by(services, lambda: client.get("/v1/photos", headers=reader))
            assert where == f"primary:{ReadReason.LAGGING}"
        finally:
            await admin.execute("SELECT pg_wal_replay_resume()")
            await admin.close()
        assert time.monotonic() - paused_at < 10
        await eventually(reader_on_replica)
        lag = services.registry.get_sample_value(
            "photostore_db_replica_lag_seconds", {"replica": services.reads.replicas[0].name}
        )
        assert lag is not None and lag <= 1.5


class TcpProxy:
    """A replica's address that can die: forwards to the replica until `kill`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def kill(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()


async def test_a_replica_that_dies_mid_run_costs_no_request(
    settings: Settings, replica_url: str, register
) -> None:
    params = conninfo_to_dict(replica_url)
    proxy = TcpProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    port = await proxy.start()
    proxied = make_conninfo(replica_url, host="127.0.0.1", port=port)
    settings = with_replicas(settings, proxied)
    async with serve(settings) as (client, services):
        users = [await register(client) for _ in range(3)]

        async def on_replica() -> bool:
            where, _ = await served_by(services, lambda: client.get("/v1/photos", headers=users[0]))
            return where == "replica:replica"

        await eventually(on_replica)

        async def lists(rounds: int) -> list[int]:
            statuses: list[int] = []
            for _ in range(rounds):
                answers = await asyncio.gather(
                    *(client.get("/v1/photos", headers=user) for user in users)
                )
                statuses += [answer.status_code for answer in answers]
            return statuses

        async def slow_read(conn: Any) -> bool:
            cur = await conn.execute("SELECT pg_sleep(0.5), pg_is_in_recovery() AS r")
            return bool((await cur.fetchone())["r"])

        before = await lists(5)
        in_flight = asyncio.create_task(services.reads.read(0, slow_read))
        running = asyncio.create_task(lists(10))
        await asyncio.sleep(0.2)
        proxy.kill()  # connections in the replica's pool break under running reads
        on_replica_at_kill = reads(services, "replica", ReadReason.REPLICA)
        assert await in_flight is False  # answered again, by the primary (not in recovery)
        after = await running
        assert before + after == [200] * 45
        assert reads(services, "primary", ReadReason.FAILED) >= 1
        assert reads(services, "replica", ReadReason.REPLICA) == on_replica_at_kill
        assert services.reads.replicas[0].health.up is False


async def test_a_replica_that_never_answers_costs_no_request(
    settings: Settings, register, replica_server_url: str
) -> None:
    from service_fixtures import free_port

    closed = make_conninfo(replica_server_url, host="127.0.0.1", port=free_port())
    settings = with_replicas(settings, closed)
    async with serve(settings) as (client, services):
        headers = await register(client)
        for _ in range(5):
            where, response = await served_by(
                services, lambda: client.get("/v1/photos", headers=headers)
            )
            assert (where, response.status_code) == (f"primary:{ReadReason.DOWN}", 200)
        await asyncio.sleep(settings.database_replica_probe_seconds * 2)
        assert (
            services.registry.get_sample_value(
                "photostore_db_replica_up", {"replica": services.reads.replicas[0].name}
            )
            == 0
        )


async def test_a_replica_url_that_names_a_primary_is_never_read_from(
    settings: Settings, register, database_url: str
) -> None:
    """A server not in recovery (a promoted replica, a mistake) may hold diverged data."""
    settings = with_replicas(settings, database_url)
    async with serve(settings) as (client, services):
        headers = await register(client)
        await asyncio.sleep(settings.database_replica_probe_seconds * 2.5)
        for _ in range(3):
            where, response = await served_by(
                services, lambda: client.get("/v1/photos", headers=headers)
            )
            assert (where, response.status_code) == (f"primary:{ReadReason.DOWN}", 200)
        assert services.reads.replicas[0].not_in_recovery is True
