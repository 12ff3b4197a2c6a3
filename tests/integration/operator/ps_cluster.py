"""Talking to the real control plane from the operator's integration tests (via kubectl)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD_FILE = REPO_ROOT / "crds" / "photostorage.yaml"
T = TypeVar("T")


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float = 60, every: float = 0.2
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def small_spec(**overrides: Any) -> dict[str, Any]:
    """A PhotoStorage spec sized for kwok: 2 API pods, 2 processors."""
    spec: dict[str, Any] = {
        "api": {"replicas": 2, "autoscaling": {"enabled": False}},
        "processor": {"replicas": 2},
        "quota": {"gpus": 4},
        "database": {
            "host": "postgres.example",
            "secretName": "photostore-db",
            "sslMode": "disable",
        },
        "redis": {"host": "redis.example"},
        "kafka": {"brokers": ["kafka.example:9092"], "manageTopic": False},
        "storage": {"bucket": "photos", "secretName": "photostore-s3"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def photostorage(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "photos.example.com/v1alpha1",
        "kind": "PhotoStorage",
        "metadata": {"name": name},
        "spec": spec,
    }


class Cluster:
    def __init__(self, kubectl: str, kubeconfig: str) -> None:
        self.kubectl_path = kubectl
        self.kubeconfig = kubeconfig

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def apply(
        self, obj: dict[str, Any], namespace: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
        return self.run(*args, stdin=yaml.safe_dump(obj), check=check)

    def dry_run_create(
        self, obj: dict[str, Any], namespace: str = "default"
    ) -> subprocess.CompletedProcess[str]:
        """Have the apiserver admit `obj` (schema, CEL rules, admission) without storing it."""
        return self.run(
            "create", "--dry-run=server", "-n", namespace, "-f", "-",
            stdin=yaml.safe_dump(obj), check=False,
        )  # fmt: skip

    def run_json(self, *args: str) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.run(*args, "-o", "json").stdout)
        return obj

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        result = self.run(
            "get", kind, name, "-n", namespace, "-o", "json", "--show-managed-fields", check=False
        )
        if result.returncode != 0:
            if "NotFound" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        obj: dict[str, Any] = json.loads(result.stdout)
        return obj

    def list(self, kind: str, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        args = ["get", kind, "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        items: list[dict[str, Any]] = json.loads(self.run(*args).stdout)["items"]
        return items

    def condition(self, name: str, namespace: str, kind: str) -> dict[str, Any] | None:
        ps = self.get("photostorage", name, namespace) or {}
        for condition in (ps.get("status") or {}).get("conditions") or []:
            if condition["type"] == kind:
                found: dict[str, Any] = condition
                return found
        return None

    def wait_condition(
        self,
        name: str,
        namespace: str,
        kind: str,
        status: str = "True",
        reason: str | None = None,
        timeout: float = 60,
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            found = self.condition(name, namespace, kind)
            if found and found["status"] == status and reason in (None, found["reason"]):
                return found
            return None

        return wait_for(f"{kind}={status} ({reason}) on {namespace}/{name}", check, timeout)

    def wait_event(
        self, namespace: str, reason: str, text: str = "", type_: str = "", timeout: float = 10
    ) -> dict[str, Any]:
        """The first Event with `reason` (and `text` in its message, of `type_`) in `namespace`.
        The operator posts Events in the background, just after the pass that made them."""

        def check() -> dict[str, Any] | None:
            for event in self.list("events", namespace):
                if (event["reason"], type_ or event["type"]) == (reason, event["type"]) and (
                    text in event["message"]
                ):
                    return event
            return None

        return wait_for(f"a {reason} Event in {namespace}", check, timeout)
