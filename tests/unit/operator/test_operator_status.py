from __future__ import annotations

from collections.abc import Callable

from photostore.operator.backups import BackupReport
from photostore.operator.health import WorkloadHealth
from photostore.operator.lag import total_lag
from photostore.operator.scaling import LagReading, ScaleDecision
from photostore.operator.spec import PhotoStorage
from photostore.operator.status import Observed, build_status

MakePs = Callable[..., PhotoStorage]
DONE = WorkloadHealth(wanted=2, replicas=2, ready=2, updated=2, available=2, complete=True)


def test_status_reports_generation_counts_and_selector(ps: PhotoStorage) -> None:
    backup = BackupReport({"lastSuccessfulTime": "2026-01-01T02:00:10Z"})
    status = build_status(ps, [], Observed(api=DONE, processor=DONE, backup=backup), "T")
    assert status["observedGeneration"] == 3
    assert status["api"] == {
        "replicas": 2,
        "readyReplicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
        "selector": "app.kubernetes.io/name=photostore,app.kubernetes.io/instance=photos,"
        "app.kubernetes.io/component=api",
        "summary": "2/2",
    }
    assert status["backup"] == {"lastSuccessfulTime": "2026-01-01T02:00:10Z"}
    assert "lag" not in status["processor"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["observedGeneration"]) == ("True", 3)


def test_status_reports_lag_and_the_processors_it_asks_for(ps: PhotoStorage) -> None:
    decision = ScaleDecision(3, "Partitions", "capped at 3 by the topic's partitions")
    observed = Observed(api=DONE, processor=DONE, lag=LagReading(250, 3), scaling=decision)
    processor = build_status(ps, [], observed, "T")["processor"]
    assert (processor["lag"], processor["partitions"]) == (250, 3)
    assert (processor["desiredReplicas"], processor["limitedBy"]) == (3, "Partitions")
    assert processor["scalingMessage"] == decision.message


def test_total_lag_counts_uncommitted_partitions_from_their_low_watermark() -> None:
    earliest = {1: 20, 2: 0}  # partition 1 lost its first 20 messages to retention
    assert total_lag({0: 100, 1: 50, 2: 7}, {0: 90, 1: -1001}, earliest) == 10 + 30 + 7
    assert total_lag({0: 5}, {0: 9}, {}) == 0
