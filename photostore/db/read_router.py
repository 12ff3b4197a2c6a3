"""Reads that may be served by a streaming replica, with the primary as the fallback.

One pool per replica beside the primary's. A background probe measures each replica every
`probe_s` (replica_lag.py); a read goes to a replica that answered its last probe, is no
further behind than `max_lag_s`, and has replayed the user's last write (read-your-writes,
by WAL position: see `write_position`). Anything else reads from the primary, and the
metric `photostore_db_reads_total` says why. A replica that fails during a read is marked
down until its next good probe and the read is run again on the primary, so a replica that
dies costs the request some time, never an error.

Only work that reads belongs here: replicas refuse writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg
import psycopg.errors
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

from photostore.db.pool import Pool
from photostore.db.replica_lag import (
    LsnHistory,
    ReadReason,
    ReadTarget,
    ReplicaHealth,
    choose_replica,
    parse_lsn,
)
from photostore.metrics import ReadMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = AsyncConnection[DictRow]

# Errors of a replica (gone, restarting, or cancelling a query that conflicts with the WAL
# it replays) after which the read is repeated on the primary.
_REPLICA_FAILURES = (psycopg.OperationalError, PoolTimeout, psycopg.errors.SerializationFailure)


def replica_name(url: str) -> str:
    """host:port of a libpq URL, for logs and metric labels (never its credentials)."""
    params = conninfo_to_dict(url)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


@dataclass
class Replica:
    name: str
    pool: Pool
    health: ReplicaHealth = field(default_factory=lambda: ReplicaHealth(up=False))
    # Its last probe found a server not in recovery (said once in the log, not every second).
    not_in_recovery: bool = False


class ReadRouter:
    def __init__(
        self,
        primary: Pool,
        replicas: list[Replica],
        metrics: ReadMetrics,
        *,
        max_lag_s: float,
        probe_s: float = 1.0,
        replica_wait_s: float = 1.0,
    ) -> None:
        """`replica_wait_s` bounds the wait for a replica connection before the primary serves."""
        self.primary = primary
        self.replicas = replicas
        self.metrics = metrics
        self.max_lag_s = max_lag_s
        self.probe_s = probe_s
        self.replica_wait_s = replica_wait_s
        self._history = LsnHistory(horizon_s=max(60.0, 4 * max_lag_s))
        self._turn = itertools.count()
        self._probe_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the replicas' pools (without waiting for them) and start probing."""
        for replica in self.replicas:
            await replica.pool.open(wait=False)
        if self.replicas:
            self._probe_task = asyncio.create_task(self._run_probe(), name="replica-probe")

    async def close(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
        for replica in self.replicas:
            await replica.pool.close()

    async def read(self, min_lsn: int, work: Callable[[Conn], Awaitable[T]]) -> T:
        """`work` on a connection of a fitting replica, else (or if it fails) the primary."""
        index, reason = choose_replica(
            [r.health for r in self.replicas], self.max_lag_s, min_lsn, next(self._turn)
        )
        if index is not None:
            replica = self.replicas[index]
            try:
                async with replica.pool.connection(timeout=self.replica_wait_s) as conn:
                    result = await work(conn)
            except _REPLICA_FAILURES as exc:
                if not isinstance(exc, psycopg.errors.SerializationFailure):
                    replica.health = ReplicaHealth(up=False)
                log.warning("read on replica %s failed (%s): on the primary", replica.name, exc)
                reason = ReadReason.FAILED
            else:
                self.metrics.count_read(ReadTarget.REPLICA, reason)
                return result
        self.metrics.count_read(ReadTarget.PRIMARY, reason)
        async with self.primary.connection() as conn:
            return await work(conn)

    async def write_position(self, conn: Conn | None = None) -> int:
        """The primary's WAL position now: past every commit acknowledged so far.

        Recorded after a user's write; their reads then wait for a replica that replayed it.
        """
        if conn is None:
            async with self.primary.connection() as own:
                return await self.write_position(own)
        row = await (await conn.execute("SELECT pg_current_wal_lsn()::text AS lsn")).fetchone()
        assert row is not None
        return parse_lsn(str(row["lsn"]))

    async def probe(self) -> None:
        """Measure every replica once (the primary's position first)."""
        try:
            async with asyncio.timeout(self.probe_s * 2):
                self._history.add(time.monotonic(), await self.write_position())
        except Exception as exc:
            # The replicas are still measured against the positions seen so far.
            log.debug("primary's WAL position unavailable: %s", type(exc).__name__)
        await asyncio.gather(*(self._probe_replica(replica) for replica in self.replicas))

    async def _probe_replica(self, replica: Replica) -> None:
        try:
            async with (
                asyncio.timeout(self.probe_s * 2),
                replica.pool.connection(timeout=self.probe_s) as conn,
            ):
                cur = await conn.execute(
                    "SELECT pg_is_in_recovery() AS recovering,"
                    " pg_last_wal_replay_lsn()::text AS replayed"
                )
                row = await cur.fetchone()
        except Exception as exc:
            if replica.health.up:
                log.warning("replica %s unavailable: %s", replica.name, type(exc).__name__)
            replica.health = ReplicaHealth(up=False)
        else:
            assert row is not None
            replica.health = self._health(replica, row["recovering"], row["replayed"])
        self.metrics.replica_up.labels(replica.name).set(1 if replica.health.up else 0)
        if replica.health.lag_s is not None:
            self.metrics.replica_lag.labels(replica.name).set(replica.health.lag_s)

    def _health(self, replica: Replica, recovering: bool, replayed: str | None) -> ReplicaHealth:
        if not recovering or replayed is None:
            # Promoted, or not a replica at all: its data may have left the primary's.
            if not replica.not_in_recovery:
                log.warning("%s is not a replica in recovery: not reading from it", replica.name)
            replica.not_in_recovery = True
            return ReplicaHealth(up=False)
        replica.not_in_recovery = False
        lsn = parse_lsn(replayed)
        lag = self._history.lag(lsn, time.monotonic())
        if lag is None:
            return ReplicaHealth(up=False, replay_lsn=lsn)
        if not replica.health.up:
            log.info("replica %s available (%.1f s behind)", replica.name, lag)
        return ReplicaHealth(up=True, replay_lsn=lsn, lag_s=lag)

    async def _run_probe(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.probe()
            except Exception:
                log.exception("replica probe failed")
            await asyncio.sleep(max(0.0, self.probe_s - (time.monotonic() - started)))
