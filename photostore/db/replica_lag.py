"""How far a streaming replica is behind its primary, and which server a read goes to.

Lag is measured from WAL positions, not from `now() - pg_last_xact_replay_timestamp()`:
that grows without bound on an idle primary (no transaction to replay) although the
replica has everything. Instead the probe samples the primary's WAL position every
second (`LsnHistory`); a replica whose replay position is P is as old as the moment the
primary's position passed P. A replica that has replayed all the primary wrote is not
behind at all, however long ago that was.

Pure functions and plain data, so the choice is tested without servers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


def parse_lsn(text: str) -> int:
    """A `pg_lsn` ('16/B374D848') as the integer byte position it stands for."""
    high, sep, low = text.partition("/")
    if not sep:
        raise ValueError(f"not a WAL position: {text!r}")
    return (int(high, 16) << 32) | int(low, 16)


class LsnHistory:
    """The primary's WAL position over the last `horizon_s` seconds (monotonic times)."""

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, lsn: int) -> None:
        self._samples.append((at, lsn))
        while len(self._samples) > 2 and self._samples[1][0] < at - self.horizon_s:
            self._samples.popleft()

    @property
    def latest(self) -> int | None:
        return self._samples[-1][1] if self._samples else None

    def lag(self, replay_lsn: int, now: float) -> float | None:
        """Seconds since the primary first held WAL the replica has not replayed.

        0 when the replica has replayed up to the newest sample. Between two samples the
        moment is interpolated (WAL written at a steady rate between them). Older than the
        whole history: the age of the oldest sample, a lower bound. None: no sample yet.
        """
        if not self._samples:
            return None
        if replay_lsn >= self._samples[-1][1]:
            return 0.0
        passed_at = self._samples[0][0]
        later = self._samples[-1]
        for at, lsn in reversed(self._samples):
            if lsn <= replay_lsn:
                later_at, later_lsn = later
                share = (replay_lsn - lsn) / (later_lsn - lsn) if later_lsn > lsn else 1.0
                passed_at = at + share * (later_at - at)
                break
            later = (at, lsn)
        return max(0.0, now - passed_at)


class ReadTarget(StrEnum):
    REPLICA = "replica"
    PRIMARY = "primary"


class ReadReason(StrEnum):
    """Why a read went where it went (a metric label)."""

    REPLICA = "replica"  # a healthy replica that has the user's writes served it
    NO_REPLICAS = "no_replicas"  # none configured
    DOWN = "replica_down"  # every replica failed its last probe (or was never reached)
    LAGGING = "replica_lagging"  # the reachable ones are further behind than the bound
    OWN_WRITE = "own_write_not_replayed"  # none has replayed the user's last write yet
    FAILED = "replica_failed"  # the replica failed during the read, retried on the primary


@dataclass(frozen=True)
class ReplicaHealth:
    """What the last probe found; `up` False also when it could not ask."""

    up: bool
    replay_lsn: int | None = None
    lag_s: float | None = None


def choose_replica(
    replicas: Sequence[ReplicaHealth], max_lag_s: float, min_lsn: int, start: int = 0
) -> tuple[int | None, ReadReason]:
    """The index of the replica to read from, or None and why the primary must serve.

    `min_lsn` is the WAL position of the user's last write (0: none recorded); a replica
    serves only once it has replayed that far, so users read their own writes. `start`
    rotates the first candidate, spreading reads over the replicas.
    """
    if not replicas:
        return None, ReadReason.NO_REPLICAS
    reason = ReadReason.DOWN
    count = len(replicas)
    for step in range(count):
        index = (start + step) % count
        health = replicas[index]
        if not health.up or health.replay_lsn is None or health.lag_s is None:
            continue
        if health.lag_s > max_lag_s:
            reason = ReadReason.LAGGING
            continue
        if health.replay_lsn < min_lsn:
            reason = ReadReason.OWN_WRITE
            continue
        return index, ReadReason.REPLICA
    return None, reason
