from __future__ import annotations

from collections.abc import Callable

from photostore.operator.health import WorkloadHealth
from photostore.operator.lag import total_lag
from photostore.operator.spec import PhotoStorage
from photostore.operator.status import Observed, build_status

MakePs = Callable[..., PhotoStorage]
DONE = WorkloadHealth(wanted=2, replicas=2, ready=2, updated=2, available=2, complete=True)


def test_status_reports_generation_counts_and_selector(ps: PhotoStorage) -> None:
    cron = {"status": {"lastSuccessfulTime": "2026-01-01T02:00:10Z"}}
    status = build_status(ps, [], Observed(api=DONE, processor=DONE, cronjob=cron), "T")
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
    observed = Observed(api=DONE, processor=DONE, lag=250, desired_processors=3)
    status = build_status(ps, [], observed, "T")
    assert (status["processor"]["lag"], status["processor"]["desiredReplicas"]) == (250, 3)


def test_total_lag_counts_uncommitted_partitions_from_the_start() -> None:
    assert total_lag({0: 100, 1: 50, 2: 7}, {0: 90, 1: -1001}) == 10 + 50 + 7
    assert total_lag({0: 5}, {0: 9}) == 0
