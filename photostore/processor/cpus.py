"""How many CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota.

A container limited to 2 CPUs on a 64-core node sees 64 in `os.cpu_count()`; threads beyond
its quota only queue for the same CPU time. The quota is read from cgroup v2 (`cpu.max`) or
v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) and rounded up: 1.5 CPUs allow 2 threads.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs allowed by the cgroup's quota, or None when unlimited or unreadable."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        if quota == "max":
            return None
        try:
            return int(quota) / int(period or "100000")
        except ValueError:
            return None
    quota_us, period_us = (
        _read(root / "cpu" / "cpu.cfs_quota_us"),
        _read(root / "cpu" / "cpu.cfs_period_us"),
    )
    try:
        quota_v1, period_v1 = int(quota_us or ""), int(period_us or "")
    except ValueError:
        return None
    if quota_v1 <= 0 or period_v1 <= 0:
        return None
    return quota_v1 / period_v1


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (all CPUs where the platform has no mask)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available_cpus(root: Path = CGROUP_ROOT) -> int:
    """The number of CPUs worth a thread each: affinity, capped by the cgroup quota; >= 1."""
    cpus = affinity_cpus()
    quota = cgroup_cpu_quota(root)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)
