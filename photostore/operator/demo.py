"""The operator's part of `make demo`: `python -m photostore.operator.demo`.

Installs the CRD, starts the operator (a local subprocess, `python -m photostore operator`),
applies manifests/photostorage.yaml with its Secrets, waits for Ready and shows
`kubectl get photostorage`, the conditions and every object the operator made.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import yaml

from photostore.local_env import REPO_ROOT, read_env_file
from photostore.operator.children import CHILDREN

NAMESPACE = "photostore-demo"
NAME = "photos"
DEMO_TOPIC = "photoUpload.operator-demo"
CHILD_KINDS = ",".join(k.plural for k in CHILDREN if not k.optional)
TAB = '{"\\t"}'
CONDITIONS = (
    f"{{range .status.conditions[*]}}{{.type}}{TAB}{{.status}}{TAB}{{.reason}}{TAB}{{.message}}"
    '{"\\n"}{end}'
)


class Kubectl:
    def __init__(self, env: dict[str, str]) -> None:
        self.base = [env["KUBECTL"], "--kubeconfig", env["KUBECONFIG"]]

    def __call__(self, *args: str, stdin: str | None = None, show: bool = False) -> str:
        if show:
            print(f"\n$ kubectl {' '.join(args)}", flush=True)
        result = subprocess.run(
            [*self.base, *args], input=stdin, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        if show:
            print(result.stdout, end="", flush=True)
        return result.stdout


def create_secrets(kubectl: Kubectl, env: dict[str, str]) -> None:
    """The Secrets the sample references, from the local environment's credentials."""
    database = urlparse(env.get("PHOTOSTORE_DATABASE_URL", "postgresql://photostore:x@h/db"))
    secrets = {
        "photostore-db": {
            "username": database.username or "",
            "password": database.password or "",
        },
        "photostore-s3": {
            "accessKeyId": env.get("PHOTOSTORE_S3_ACCESS_KEY", ""),
            "secretAccessKey": env.get("PHOTOSTORE_S3_SECRET_KEY", ""),
        },
    }
    for name, data in secrets.items():
        literals = [f"--from-literal={k}={v}" for k, v in data.items()]
        manifest = kubectl(
            "create", "secret", "generic", name, "-n", NAMESPACE, *literals,
            "--dry-run=client", "-o", "yaml",
        )  # fmt: skip
        kubectl("apply", "-f", "-", stdin=manifest)


def start_fresh(kubectl: Kubectl, timeout: float = 120) -> None:
    """Remove an earlier demo's PhotoStorage and wait for the garbage collector to take its
    children, so the demo shows the operator building everything."""
    kubectl("delete", "photostorage", NAME, "-n", NAMESPACE, "--ignore-not-found", "--wait")
    selector = f"app.kubernetes.io/instance={NAME}"
    deadline = time.monotonic() + timeout
    while kubectl("get", CHILD_KINDS, "-n", NAMESPACE, "-l", selector, "-o", "name").strip():
        if time.monotonic() > deadline:
            raise SystemExit("the previous demo's objects are still being deleted")
        time.sleep(0.5)


def local_sample(env: dict[str, str]) -> str:
    """The sample, pointed at the environment's single Kafka broker so the operator can
    create the topic (replication 1: there is one broker; a demo topic name, so the
    services' own tests keep `photoUpload` to themselves)."""
    sample = yaml.safe_load((REPO_ROOT / "manifests" / "photostorage.yaml").read_text())
    kafka = sample["spec"]["kafka"]
    kafka["brokers"] = env.get("PHOTOSTORE_KAFKA_BROKERS", "127.0.0.1:19092").split(",")
    kafka["replicationFactor"] = 1
    kafka["topic"] = DEMO_TOPIC
    return yaml.safe_dump(sample)


def start_operator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    log_path = REPO_ROOT / "var" / "log" / "operator-demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    operator_env = {
        **os.environ,
        "KUBECONFIG": env["KUBECONFIG"],
        "PHOTOSTORE_OPERATOR_METRICS_PORT": "18000",
        "PHOTOSTORE_OPERATOR_LIVENESS": "http://127.0.0.1:18081/healthz",
    }
    print(f"starting the operator (log: {log_path})", flush=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "photostore", "operator", "--standalone"],
            cwd=REPO_ROOT,
            env=operator_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the operator running until Ctrl-C"
    )
    args = parser.parse_args(argv)
    try:
        env = read_env_file()
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc
    kubectl = Kubectl(env)
    crd = str(REPO_ROOT / "crds" / "photostorage.yaml")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", crd, show=True)
    kubectl("wait", "--for=condition=Established", "crd/photostorages.photos.example.com")
    manifest = kubectl("create", "namespace", NAMESPACE, "--dry-run=client", "-o", "yaml")
    kubectl("apply", "-f", "-", stdin=manifest)
    create_secrets(kubectl, env)
    start_fresh(kubectl)
    operator = start_operator(env)
    try:
        print("\n$ kubectl apply -f manifests/photostorage.yaml  # Kafka: the local broker")
        print(kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=local_sample(env)), end="")
        started = time.monotonic()
        kubectl(
            "wait", "-n", NAMESPACE, "--for=condition=Ready", f"photostorage/{NAME}",
            "--timeout=120s",
        )  # fmt: skip
        print(f"\nReady after {time.monotonic() - started:.1f} s", flush=True)
        kubectl("get", "photostorage", "-n", NAMESPACE, show=True)
        conditions = f"jsonpath={CONDITIONS}"
        kubectl("get", "photostorage", NAME, "-n", NAMESPACE, "-o", conditions, show=True)
        selector = f"app.kubernetes.io/instance={NAME}"
        kubectl("get", CHILD_KINDS, "-n", NAMESPACE, "-l", selector, show=True)
        kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "wide", show=True)
        if args.keep_running:
            print("\noperator running; Ctrl-C to stop", flush=True)
            operator.wait()
    except KeyboardInterrupt:
        pass
    finally:
        operator.terminate()
        operator.wait(timeout=15)


if __name__ == "__main__":
    main()
