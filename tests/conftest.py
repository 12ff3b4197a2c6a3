"""Fixtures shared by every test.

Integration tests read the connection settings that `make env` writes to `var/env`.
When the environment is not up, the first integration test starts it (the cold build of
the Kubernetes binaries takes many minutes; later starts take seconds).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from photostore.local_env import env_file, read_env_file

REPO_ROOT = Path(__file__).resolve().parent.parent


def _environment_is_up() -> bool:
    status = subprocess.run(
        [str(REPO_ROOT / "hack/env/status.sh"), "--quiet"], check=False, capture_output=True
    )
    return status.returncode == 0


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    """Connection settings of the running local environment, starting it when it is down."""
    if not _environment_is_up():
        subprocess.run([str(REPO_ROOT / "hack/env/up.sh")], check=True)
    return read_env_file(env_file())


@pytest.fixture(scope="session")
def kubeconfig(env: dict[str, str]) -> Iterator[str]:
    """Path of the kubeconfig for the local control plane, also exported as KUBECONFIG."""
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = env["KUBECONFIG"]
    yield env["KUBECONFIG"]
    if previous is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = previous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration and tests/e2e is an integration test."""
    for item in items:
        if any(part in str(item.path) for part in ("tests/integration", "tests/e2e")):
            item.add_marker(pytest.mark.integration)
