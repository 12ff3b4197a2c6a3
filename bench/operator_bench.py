"""Operator benchmark on the local control plane: `make bench-operator`.

The operator runs as a subprocess (`python -m photostore operator --standalone`, watching
all namespaces, managing the PhotoStorages of this run by PHOTOSTORE_OPERATOR_SELECTOR)
logged in as its ServiceAccount with a bound token, holding exactly the RBAC
of manifests/operator/, as a cluster runs it. Each figure has a floor measured in the same
run (`operator_floor`): the same children applied straight to the apiserver by one client,
with no operator running. Prints one `RESULT name value unit` line per figure:
  apply_to_floor_ready      the floor of one PhotoStorage (median of 5, after a warm-up)
  apply_to_ready            one PhotoStorage from apply to Ready=True (median of 5, after a warm-up)
  apply_to_ready_vs_floor   their ratio
  restore_deployment_median a deleted API Deployment back again (median of 10)
  floor_N                   N PhotoStorages in N namespaces: their children applied and ready
  ready_N                   the same N PhotoStorages all Ready under the operator
  ready_N_vs_floor          their ratio
  operator_peak_rss         the operator's peak resident memory over the whole run
  operator_rss_after_ready_N  its resident memory once the N are Ready
  operator_cpu_ready_N      CPU seconds the operator used from the N applies to all Ready
  operator_cpu_time         CPU seconds the operator used over the whole run

Namespaces are `opb-<run>-*`, labelled with the run, and deleted at the end (also after a
failure, Ctrl-C or SIGTERM). Every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
from operator_floor import Floor, Watch, patiently

from photostore.local_env import read_env_file
from photostore.operator.kube import KubeClient
from photostore.operator.login import Login, kubeconfig_login
from photostore.operator.settings import OperatorSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "hack" / "demo"))
from operator_identity import install_identity, request_token, token_kubeconfig  # noqa: E402

GROUP, VERSION, PLURAL = "photos.example.com", "v1alpha1", "photostorages"
PS_PATH = f"/apis/{GROUP}/{VERSION}/{PLURAL}"
BENCH_LABEL = "photostore-bench"
WORKERS = OperatorSettings.model_fields["workers"].default  # the operator's
CREATORS = 16  # PhotoStorages created at once by the bench, in both phases
LIVENESS = "http://127.0.0.1:18181/healthz"
# 1000 pods do not fit on the environment's four kwok CPU nodes (250 pods each): the bench's
# namespaces let their pods onto the kwok GPU nodes too (the PodTolerationRestriction
# admission plugin adds this toleration to every pod made there), in both phases alike.
SPREAD_ANNOTATION = "scheduler.alpha.kubernetes.io/defaultTolerations"
SPREAD_TOLERATIONS = '[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]'


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


def body(namespace: str, run: str, gpu: bool) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PhotoStorage",
        "metadata": {"name": "ps", "namespace": namespace, "labels": {BENCH_LABEL: run}},
        "spec": spec(gpu),
    }


def is_ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class Sampler(threading.Thread):
    """Peak VmRSS of a process, sampled from /proc every 50 ms, and its CPU time."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stopped = threading.Event()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.rss_kb())
            except OSError:
                return
            time.sleep(0.05)


class Kubectl:
    """kubectl as the environment's admin (what `operator_identity` needs)."""

    def __init__(self, kubectl: str, kubeconfig: str) -> None:
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.kubectl, "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def login_from(kubeconfig: str) -> Login:
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = kubeconfig
    try:
        return kubeconfig_login()
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous


class Admin:
    """The bench's own admin requests: namespaces and PhotoStorages."""

    def __init__(self, login: Login, run: str) -> None:
        self.login = login
        self.run = run
        self.kube = KubeClient(login)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=login.ssl_context(), limit=CREATORS)
        )
        self._creators = asyncio.Semaphore(CREATORS)

    async def close(self) -> None:
        await self._session.close()
        await self.kube.close()

    async def namespace(self) -> str:
        name = f"opb-{self.run}-{uuid.uuid4().hex[:8]}"
        document = {
            "metadata": {
                "name": name,
                "labels": {BENCH_LABEL: self.run},
                "annotations": {SPREAD_ANNOTATION: SPREAD_TOLERATIONS},
            }
        }

        async def post() -> None:
            async with self._session.post(
                self.login.server.rstrip("/") + "/api/v1/namespaces", json=document
            ) as response:
                response.raise_for_status()

        await patiently(post)
        return name

    async def namespaces(self, count: int) -> list[str]:
        async def one() -> str:
            async with self._creators:
                return await self.namespace()

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def create(self, namespace: str, gpu: bool = False) -> dict[str, Any]:
        async with self._creators:
            return await patiently(lambda: self.kube.create(body(namespace, self.run, gpu)))

    async def delete_deployment(self, namespace: str, name: str) -> None:
        await patiently(lambda: self.kube.delete("apps/v1", "Deployment", namespace, name))


async def median_of(rounds: int, once: Callable[[], Awaitable[float]]) -> float:
    """The median of `rounds` timings, after one warm-up that is not counted."""
    await once()
    return statistics.median([await once() for _ in range(rounds)])


async def floor_phase(
    admin: Admin, operator_login: Login, args: argparse.Namespace
) -> tuple[float, float]:
    prefix = f"opb-{admin.run}-"
    async with Floor(operator_login, prefix, WORKERS, args.timeout) as floor:

        async def one() -> float:
            namespace = await admin.namespace()
            started = time.monotonic()
            created = await admin.create(namespace, gpu=True)
            return await floor.ready(created) - started

        single = await median_of(args.rounds, one)
        print(f"RESULT apply_to_floor_ready {single:.3f} s", flush=True)

        namespaces = await admin.namespaces(args.count)
        started = time.monotonic()

        async def many(namespace: str) -> float:
            return await floor.ready(await admin.create(namespace))

        done = await asyncio.wait_for(
            asyncio.gather(*(many(ns) for ns in namespaces)), args.timeout * 2
        )
        many_floor = max(done) - started
        print(f"RESULT floor_{args.count} {many_floor:.3f} s", flush=True)
    return single, many_floor


async def operator_phase(
    admin: Admin, operator_login: Login, sampler: Sampler, args: argparse.Namespace
) -> tuple[float, float]:
    prefix = f"opb-{admin.run}-"
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=admin.login.ssl_context(), limit=4)
    )
    photostorages = Watch(session, admin.login, PS_PATH, prefix)
    deployments = Watch(session, admin.login, "/apis/apps/v1/deployments", prefix)
    await photostorages.start()
    await deployments.start()
    try:

        async def one() -> float:
            namespace = await admin.namespace()
            started = time.monotonic()
            await admin.create(namespace, gpu=True)
            await photostorages.wait((namespace, "ps"), is_ready, args.timeout)
            return time.monotonic() - started

        single = await median_of(args.rounds, one)
        print(f"RESULT apply_to_ready {single:.3f} s", flush=True)

        namespace = next(iter(photostorages.objects))[0]
        restores = []
        for _ in range(args.restores):
            key = (namespace, "ps-api")
            uid = deployments.objects[key]["metadata"]["uid"]
            started = time.monotonic()
            await admin.delete_deployment(*key)
            await deployments.wait(key, lambda d, uid=uid: d["metadata"]["uid"] != uid, 30)
            restores.append(time.monotonic() - started)
        print(f"RESULT restore_deployment_median {statistics.median(restores):.3f} s", flush=True)

        namespaces = await admin.namespaces(args.count)
        cpu_before = sampler.cpu_seconds()
        started = time.monotonic()

        async def many(namespace: str) -> float:
            await admin.create(namespace)
            await photostorages.wait((namespace, "ps"), is_ready, args.timeout)
            return time.monotonic()

        done = await asyncio.wait_for(
            asyncio.gather(*(many(ns) for ns in namespaces)), args.timeout * 2
        )
        ready = max(done) - started
        print(f"RESULT ready_{args.count} {ready:.3f} s", flush=True)
        cpu = sampler.cpu_seconds() - cpu_before
        print(f"RESULT operator_cpu_ready_{args.count} {cpu:.1f} s", flush=True)
        await asyncio.sleep(2)
        rss = sampler.rss_kb() / 1024
        print(f"RESULT operator_rss_after_ready_{args.count} {rss:.1f} MB", flush=True)
        return single, ready
    finally:
        await photostorages.stop()
        await deployments.stop()
        await session.close()


def start_operator(kubeconfig: str, run: str) -> subprocess.Popen[bytes]:
    operator_env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        # The control plane is shared: manage this run's PhotoStorages only.
        "PHOTOSTORE_OPERATOR_SELECTOR": f"{BENCH_LABEL}={run}",
        "PHOTOSTORE_OPERATOR_METRICS_PORT": "0",
        "PHOTOSTORE_OPERATOR_LIVENESS": LIVENESS,
    }
    (REPO_ROOT / "var" / "log").mkdir(parents=True, exist_ok=True)
    log = open(REPO_ROOT / "var" / "log" / "operator-bench.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "photostore", "operator", "--standalone"],
        cwd=REPO_ROOT,
        env=operator_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_alive(operator: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if operator.poll() is not None:
            raise SystemExit("operator exited (see var/log/operator-bench.log)")
        try:
            with urllib.request.urlopen(LIVENESS, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("operator did not come up (see var/log/operator-bench.log)")


def delete_namespaces(kubectl: Kubectl, run: str, timeout: float) -> None:
    """Delete this run's namespaces and wait until they are gone."""
    selector = f"{BENCH_LABEL}={run}"
    kubectl.run("delete", "namespace", "-l", selector, "--wait=false", check=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = kubectl.run("get", "namespace", "-l", selector, "-o", "name", check=False)
        if left.returncode == 0 and not left.stdout.strip():
            return
        time.sleep(2)
    print(f"warning: namespaces {selector} still there after {timeout}s", file=sys.stderr)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100, help="PhotoStorages for ready_N")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of apply_to_ready")
    parser.add_argument("--restores", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600, help="seconds any wait may take")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)

    env = read_env_file()
    run = uuid.uuid4().hex[:6]
    kubectl = Kubectl(env["KUBECTL"], env["KUBECONFIG"])
    crd = str(REPO_ROOT / "crds" / "photostorage.yaml")
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", crd)
    install_identity(kubectl)
    workdir = Path(tempfile.mkdtemp(prefix="operator-bench-"))
    token = request_token(kubectl)
    operator_kubeconfig = str(token_kubeconfig(kubectl, workdir / "kubeconfig", token))
    operator_login = login_from(operator_kubeconfig)
    admin_login = login_from(env["KUBECONFIG"])
    operator: subprocess.Popen[bytes] | None = None
    sampler: Sampler | None = None

    async def floor() -> tuple[float, float]:
        admin = Admin(admin_login, run)
        try:
            return await floor_phase(admin, operator_login, args)
        finally:
            await admin.close()

    async def with_operator(sampler: Sampler) -> tuple[float, float]:
        admin = Admin(admin_login, run)
        try:
            return await operator_phase(admin, operator_login, sampler, args)
        finally:
            await admin.close()

    try:
        floor_single, floor_many = asyncio.run(floor())
        delete_namespaces(kubectl, run, args.timeout)  # a quiet cluster for the operator
        operator = start_operator(operator_kubeconfig, run)
        sampler = Sampler(operator.pid)
        sampler.start()
        wait_alive(operator)
        single, many = asyncio.run(with_operator(sampler))
        print(f"RESULT apply_to_ready_vs_floor {single / floor_single:.2f} x", flush=True)
        print(f"RESULT ready_{args.count}_vs_floor {many / floor_many:.2f} x", flush=True)
        print(f"RESULT operator_peak_rss {sampler.peak_kb / 1024:.1f} MB", flush=True)
        print(f"RESULT operator_cpu_time {sampler.cpu_seconds():.1f} s", flush=True)
    finally:
        if sampler is not None:
            sampler.stopped.set()
        if operator is not None:
            operator.terminate()
            try:
                operator.wait(timeout=15)
            except subprocess.TimeoutExpired:
                operator.kill()
        delete_namespaces(kubectl, run, args.timeout)
        token_file = workdir / "kubeconfig"
        token_file.unlink(missing_ok=True)
        workdir.rmdir()


if __name__ == "__main__":
    main()
