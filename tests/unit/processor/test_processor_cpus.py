"""The CPUs the processor's threads are sized for: affinity capped by the cgroup quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photostore.processor.config import Settings
from photostore.processor.cpus import affinity_cpus, available_cpus, cgroup_cpu_quota


def _v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def _v1(root: Path, quota: str, period: str) -> Path:
    (root / "cpu").mkdir(parents=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text(quota + "\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(period + "\n")
    return root


def test_cgroup_v2_quota_is_read(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(_v2(tmp_path, "150000 100000")) == 1.5


def test_cgroup_v2_without_limit_is_none(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(_v2(tmp_path, "max 100000")) is None


def test_cgroup_v1_quota_is_read(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(_v1(tmp_path, "50000", "100000")) == 0.5
    assert cgroup_cpu_quota(_v1(tmp_path / "unlimited", "-1", "100000")) is None


def test_no_cgroup_files_mean_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cpus(tmp_path) == affinity_cpus()


def test_quota_caps_the_affinity_rounding_up(tmp_path: Path) -> None:
    assert available_cpus(_v2(tmp_path / "half", "50000 100000")) == 1
    assert available_cpus(_v2(tmp_path / "many", "6400000 100000")) == affinity_cpus()
    if affinity_cpus() >= 2:
        assert available_cpus(_v2(tmp_path / "one-and-half", "150000 100000")) == 2


def test_affinity_is_the_process_mask() -> None:
    assert affinity_cpus() == len(os.sched_getaffinity(0))


def test_worker_threads_default_to_the_available_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PHOTOSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PHOTOSTORE_DATABASE_URL", "postgresql://u:p@db/photos")
    monkeypatch.setenv("PHOTOSTORE_KAFKA_BROKERS", "kafka:9092")
    monkeypatch.setenv("PHOTOSTORE_S3_BUCKET", "photos")
    assert Settings().workers == available_cpus()
    monkeypatch.setenv("PHOTOSTORE_WORKERS", "3")
    assert Settings().workers == 3
