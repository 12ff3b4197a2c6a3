"""The chart's fixtures: helm (built by hack/env/build-k8s.sh like the other Go tools,
cached) and the environment's control plane."""

from __future__ import annotations

import subprocess

import pytest
from helm_cli import REPO_ROOT, Helm


@pytest.fixture(scope="session")
def helm_path(env: dict[str, str]) -> str:
    """var/env's HELM; building it first when missing (a no-op once built)."""
    subprocess.run([str(REPO_ROOT / "hack/env/build-k8s.sh"), "helm"], check=True, timeout=850)
    path = subprocess.run(
        ["bash", "-c", 'source hack/env/common.sh && echo "$HELM_BIN/helm"'],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return path


@pytest.fixture(scope="session")
def helm(helm_path: str, env: dict[str, str], kubeconfig: str) -> Helm:
    return Helm(helm_path, env["KUBECTL"], kubeconfig)
