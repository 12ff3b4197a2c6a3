"""Operator benchmark on the local control plane: `make bench-operator`.

Runs the operator as a subprocess (`python -m photostore operator`) and prints one
`RESULT name value unit` line per figure:
  apply_to_ready            one PhotoStorage from apply to Ready=True
  restore_deployment_median a deleted API Deployment back again (median of 10)
  ready_100                 100 PhotoStorages in 100 namespaces all Ready
  operator_peak_rss         the operator's peak resident memory over the whole run
  operator_cpu_time         CPU seconds the operator used over the whole run
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from photostore.local_env import read_env_file

REPO_ROOT = Path(__file__).resolve().parent.parent
GROUP, VERSION, PLURAL = "photos.example.com", "v1alpha1", "photostorages"
BENCH_LABEL = "photostore-bench"


def spec(gpu: bool) -> dict[str, Any]:
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}}
    return {
        "api": {"replicas": 1, "autoscaling": {"enabled": False}, "resources": small},
        "processor": {"replicas": 1, "gpu": {"enabled": gpu}, "resources": small},
        "quota": {"gpus": 1},
        "database": {"host": "db.example", "secretName": "db"},
        "redis": {"host": "redis.example"},
        "kafka": {"brokers": ["kafka.example:9092"], "manageTopic": False},
        "storage": {"bucket": "photos", "secretName": "s3"},
    }


def body(name: str, gpu: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PhotoStorage",
        "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}},
        "spec": spec(gpu),
    }


class RssSampler(threading.Thread):
    """Peak VmRSS of a process, sampled from /proc every 50 ms, and its CPU time."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.cpu_seconds = 0.0
        self.stopped = threading.Event()

    def _cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.stopped.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                self.cpu_seconds = self._cpu()
            except OSError:
                return
            time.sleep(0.05)


class Bench:
    def __init__(self) -> None:
        self.custom = client.CustomObjectsApi()
        self.core = client.CoreV1Api()
        self.apps = client.AppsV1Api()
        self.namespaces: list[str] = []

    def namespace(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        self.core.create_namespace({"metadata": {"name": name, "labels": {BENCH_LABEL: "true"}}})
        self.namespaces.append(name)
        return name

    def is_ready(self, namespace: str, name: str) -> bool:
        obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def apply_to_ready(self) -> float:
        namespace = self.namespace()
        started = time.monotonic()
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body("ps"))
        while not self.is_ready(namespace, "ps"):
            time.sleep(0.02)
        return time.monotonic() - started

    def restore_deployment(self, namespace: str) -> float:
        name = "ps-api"
        uid = self.apps.read_namespaced_deployment(name, namespace).metadata.uid
        started = time.monotonic()
        self.apps.delete_namespaced_deployment(name, namespace)
        while True:
            try:
                if self.apps.read_namespaced_deployment(name, namespace).metadata.uid != uid:
                    return time.monotonic() - started
            except ApiException as error:
                if error.status != 404:
                    raise
            time.sleep(0.02)

    def ready_many(self, count: int) -> float:
        namespaces = [self.namespace() for _ in range(count)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda ns: self.custom.create_namespaced_custom_object(
                        GROUP, VERSION, ns, PLURAL, body("ps", gpu=False)
                    ),
                    namespaces,
                )
            )
        pending = set(namespaces)
        while pending:
            listing = self.custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, label_selector=f"{BENCH_LABEL}=true"
            )
            for item in listing["items"]:
                conditions = (item.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                    pending.discard(item["metadata"]["namespace"])
            time.sleep(0.1)
        return time.monotonic() - started

    def cleanup(self, timeout: float = 300) -> None:
        """Delete the namespaces and wait for them, so a next run starts on a quiet cluster."""
        for namespace in self.namespaces:
            try:
                self.core.delete_namespace(namespace)
            except ApiException as error:
                if error.status != 404:
                    raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.core.list_namespace(label_selector=f"{BENCH_LABEL}=true").items
            if not left:
                return
            time.sleep(1)


def start_operator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    operator_env = {
        **os.environ,
        "KUBECONFIG": env["KUBECONFIG"],
        "PHOTOSTORE_OPERATOR_METRICS_PORT": "0",
        "PHOTOSTORE_OPERATOR_LIVENESS": "http://127.0.0.1:18181/healthz",
    }
    log = open(REPO_ROOT / "var" / "log" / "operator-bench.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "photostore", "operator", "--standalone"],
        cwd=REPO_ROOT,
        env=operator_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_alive(timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:18181/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("operator did not come up (see var/log/operator-bench.log)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100, help="PhotoStorages for ready_N")
    parser.add_argument("--restores", type=int, default=10)
    args = parser.parse_args()

    env = read_env_file()
    config.load_kube_config(config_file=env["KUBECONFIG"])
    subprocess.run(
        [
            env["KUBECTL"],
            "--kubeconfig",
            env["KUBECONFIG"],
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            str(REPO_ROOT / "crds" / "photostorage.yaml"),
        ],
        check=True,
        capture_output=True,
    )
    bench = Bench()
    bench.cleanup()  # namespaces a killed earlier run left behind
    operator = start_operator(env)
    sampler = RssSampler(operator.pid)
    sampler.start()
    try:
        wait_alive()
        print(f"RESULT apply_to_ready {bench.apply_to_ready():.3f} s", flush=True)
        namespace = bench.namespaces[0]
        restores = [bench.restore_deployment(namespace) for _ in range(args.restores)]
        print(f"RESULT restore_deployment_median {statistics.median(restores):.3f} s", flush=True)
        print(f"RESULT ready_{args.count} {bench.ready_many(args.count):.3f} s", flush=True)
        print(f"RESULT operator_peak_rss {sampler.peak_kb / 1024:.1f} MB", flush=True)
        print(f"RESULT operator_cpu_time {sampler.cpu_seconds:.1f} s", flush=True)
    finally:
        sampler.stopped.set()
        operator.terminate()
        try:
            operator.wait(timeout=15)
        except subprocess.TimeoutExpired:
            operator.kill()
        bench.cleanup()


if __name__ == "__main__":
    main()
