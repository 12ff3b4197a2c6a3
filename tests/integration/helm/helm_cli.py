"""Running helm and kubectl against the local control plane, for the chart's tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from ps_cluster import wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART = REPO_ROOT / "charts" / "photostore-operator"
PHOTOSTORAGE = "photos"
# A deployment guide's values, sized for kwok: the PhotoStorage the release creates.
KWOK_VALUES = {
    "photoStorage": {
        "create": True,
        "name": PHOTOSTORAGE,
        "api": {"replicas": 2, "autoscaling": {"enabled": False}},
        "processor": {"replicas": 2, "gpu": {"enabled": True, "nodeType": "nvidia-tesla-t4"}},
        "quota": {"gpus": 4},
        "database": {"host": "postgres.example", "secretName": "photostore-db",
                     "sslMode": "disable"},
        "redis": {"host": "redis.example"},
        "kafka": {"brokers": ["kafka.example:9092"], "manageTopic": False,
                  "topics": {"photoUpload": {"partitions": 4}}},
        "storage": {"bucket": "photos", "secretName": "photostore-s3"},
    }
}  # fmt: skip
# What Helm's templates add to the plain manifests' objects: the release that owns them.
RELEASE_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart")


def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def without_release_labels(obj: Any) -> Any:
    """`obj` less Helm's release labels, wherever labels or selectors hold them; a labels
    map left empty goes too."""
    if isinstance(obj, list):
        return [without_release_labels(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("labels", "matchLabels", "selector") and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in RELEASE_LABELS}
            if key == "labels" and not value:
                continue
        out[key] = without_release_labels(value)
    return out


def keyed(docs: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in docs}


class Helm:
    def __init__(self, helm: str, kubectl: str, kubeconfig: str) -> None:
        self.helm_path, self.kubectl_path, self.kubeconfig = helm, kubectl, kubeconfig

    def helm(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run([self.helm_path, "--kubeconfig", self.kubeconfig, *args], timeout)

    def template(self, release: str, namespace: str, *args: str) -> list[dict[str, Any]]:
        return documents(
            run([self.helm_path, "template", release, str(CHART), "-n", namespace, *args]).stdout
        )

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        scope = ["-n", namespace] if namespace else []
        done = self.kubectl("get", kind, name, *scope, "-o", "json", check=False)
        if done.returncode != 0:
            if "NotFound" in done.stderr:
                return None
            raise AssertionError(done.stderr)
        obj: dict[str, Any] = json.loads(done.stdout)
        return obj

    def can_i(self, who: str, verb: str, resource: str, namespace: str) -> bool:
        resource, _, sub = resource.partition("/")
        args = ["auth", "can-i", verb, resource, "-n", namespace, "--as", who]
        done = self.kubectl(*args, *(["--subresource", sub] if sub else []), check=False)
        return done.stdout.strip() == "yes"

    def token_kubeconfig(self, namespace: str, account: str, path: Path) -> Path:
        """A kubeconfig holding only a bound token of the ServiceAccount (no certificate)."""
        token = self.kubectl("create", "token", account, "-n", namespace,
                             "--duration", "1h").stdout.strip()  # fmt: skip
        admin = yaml.safe_load(Path(self.kubeconfig).read_text())["clusters"][0]["cluster"]
        cluster = {
            "server": admin["server"],
            "certificate-authority": admin["certificate-authority"],
        }
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "local", "cluster": cluster}],
                    "users": [{"name": account, "user": {"token": token}}],
                    "contexts": [
                        {"name": account, "context": {"cluster": "local", "user": account}}
                    ],
                    "current-context": account,
                }
            )
        )
        path.chmod(0o600)
        return path

    def wait_ready(self, name: str, namespace: str, timeout: float = 90) -> None:
        def ready() -> bool:
            found = self.get("photostorage", name, namespace) or {}
            conditions = (found.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        wait_for(f"PhotoStorage {namespace}/{name} Ready", ready, timeout)
