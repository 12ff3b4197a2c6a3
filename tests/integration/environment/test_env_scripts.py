"""The environment scripts themselves, against the running environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from photostore.local_env import env_file, read_env_file

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_up_again_returns_at_once_while_everything_runs(env: dict[str, str]) -> None:
    # The daemons must not hold up.sh's lock, or a second `make test` would wait forever.
    done = subprocess.run(
        [str(REPO_ROOT / "hack/env/up.sh")], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "already up" in done.stdout + done.stderr


def test_status_names_every_part_and_its_address(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(REPO_ROOT / "hack/env/status.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for part, address in [
        ("kube-apiserver", "https://127.0.0.1:"),
        ("postgres", "127.0.0.1:"),
        ("postgres-replica", "127.0.0.1:"),
        ("redis-cluster", env["PHOTOSTORE_NODE_GATEWAY"]),
        ("kafka-1", "127.0.0.1:"),
        ("kafka-2", "127.0.0.1:"),
        ("kafka-3", "127.0.0.1:"),
        ("s3", "http://127.0.0.1:"),
    ]:
        line = next(line for line in done.stdout.splitlines() if line.split()[:1] == [part])
        assert line.split()[1] == "up" and address in line, line


def test_status_lists_the_real_node_and_the_services_for_pods(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(REPO_ROOT / "hack/env/status.sh"), "node"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for part in ("containerd", "kubelet", "kube-proxy", "coredns"):
        line = next(line for line in lines if line.strip().startswith(part))
        assert line.split()[1] == "up", line
    node = next(line for line in lines if line.startswith(env["PHOTOSTORE_NODE_NAME"]))
    assert node.split()[1] == "Ready"
    services = {line.split()[0] for line in lines[lines.index(node) + 1 :] if line.strip()}
    assert {"postgres", "postgres-replica", "redis", "redis-cluster", "kafka", "s3"} <= services
    assert {"kafka-1", "kafka-2", "kafka-3"} <= services


@pytest.mark.timeout(1200)  # helm's cold build, when the environment is older than it
def test_up_builds_helm_and_names_it_in_var_env(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(REPO_ROOT / "hack/env/up.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    helm = read_env_file(env_file())["HELM"]
    version = subprocess.run(
        [helm, "version", "--short"], capture_output=True, text=True, timeout=60, check=True
    )
    assert version.stdout.startswith("v3."), version.stdout
