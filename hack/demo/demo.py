"""`make demo`: apply one PhotoStorage on the local environment's real node, and photos flow.

    .venv/bin/python hack/demo/demo.py        # run the demo (make demo)
    .venv/bin/python hack/demo/demo.py down   # remove what it made, stop its operator

The environment is up (make env). The demo installs the CRD and the operator's ServiceAccount
and RBAC (manifests/operator/), runs the operator as a local process logged in with that
ServiceAccount's token (the apiserver advertises 127.0.0.1, which pods cannot reach), and
applies a PhotoStorage sized for this machine in the namespace photostore-demo, annotated so
that every pod lands on the real node. Then it registers a user, creates an API key, imports
a folder of sample photographs with `photostore import`, waits until the processor has
processed each, and shows what came out. Each run starts afresh: a second run replaces the
first's PhotoStorage, database, bucket contents and operator.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import yaml
from operator_identity import install_identity, request_token, token_kubeconfig
from PIL import Image
from real_node import real_node_spec, secret

from photostore.events import dead_letter_topic, ensure_topics
from photostore.local_env import env_file, read_env_file, s3_client
from photostore.storage import delete_prefix, ensure_bucket

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "photostore-demo"
NAME = "photos"
DATABASE = "photostore_demo"
BUCKET = "photostore-demo"
TOPIC = "photoUpload.demo"
EMAIL = "demo@example.com"
PASSWORD = "a long demo passphrase"  # noqa: S105 - the demo's throwaway account
READY_TIMEOUT = 600
PROCESSED_TIMEOUT = 600
CONDITIONS = (
    '{range .status.conditions[*]}{.type}{"\\t"}{.status}{"\\t"}{.reason}{"\\t"}{.message}'
    '{"\\n"}{end}'
)
# skimage.data's colour photographs, with where and with what they were "taken".
SAMPLES = {
    "astronaut": ("Hasselblad", "500 EL/M", "1984:02:07 13:45:10", (29.5597, -95.0900)),
    "coffee": ("FUJIFILM", "X-T4", "2023:05:02 08:12:44", (45.5231, -122.6765)),
    "chelsea": ("Canon", "EOS R6", "2022:11:19 16:03:27", (51.5074, -0.1278)),
    "rocket": ("NIKON CORPORATION", "NIKON Z 7", "2021:04:23 07:49:02", (28.5729, -80.6490)),
    "hubble_deep_field": ("NASA", "WFPC2", "1995:12:18 23:59:00", (28.5241, -80.6508)),
    "stereo_motorcycle": ("SONY", "ILCE-7M3", "2020:08:30 11:21:55", (48.8566, 2.3522)),
    "immunohistochemistry": ("Leica", "DM6", "2019:03:11 09:30:12", (52.3676, 4.9041)),
    "retina": ("Topcon", "TRC-NW400", "2018:06:05 14:02:33", (35.6762, 139.6503)),
}
LONG_SIDE = 2000  # about 2-3 MP: phone-like files that two shared cores process quickly
NEAR_DUPLICATE_OF = "astronaut"


def say(text: str = "") -> None:
    print(text, flush=True)


class Kubectl:
    """kubectl as the environment's admin (the operator uses its own ServiceAccount)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.path = env["KUBECTL"]
        self.kubeconfig = env["KUBECONFIG"]

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.path, "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def show(self, *args: str) -> None:
        say(f"\n$ kubectl {' '.join(args)}")
        say(self.run(*args).stdout.rstrip())

    def apply(self, obj: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", stdin=yaml.safe_dump(obj))

    def json(self, *args: str) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.run(*args, "-o", "json").stdout)
        return obj


def state_dir() -> Path:
    path = env_file().parent / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_namespace(pool: str) -> dict[str, Any]:
    key, _, value = pool.partition("=")
    toleration = {"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "annotations": {
                "scheduler.alpha.kubernetes.io/node-selector": pool,
                "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([toleration]),
            },
        },
    }


def photostorage() -> dict[str, Any]:
    return {
        "apiVersion": "photos.example.com/v1alpha1",
        "kind": "PhotoStorage",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": real_node_spec(DATABASE, BUCKET, TOPIC, requests_per_10s=200),
    }


# --- the operator process ------------------------------------------------------------------


def stop_operator() -> None:
    """Stop the operator an earlier run started (its pid file names it)."""
    pid_file = state_dir() / "operator.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except FileNotFoundError:
        cmdline = b""
    if b"photostore operator" in cmdline:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink()


def start_operator(kubectl: Kubectl) -> Path:
    """The operator as a local process, logged in with its ServiceAccount's token."""
    install_identity(kubectl)
    kubeconfig = token_kubeconfig(
        kubectl, state_dir() / "operator-kubeconfig", request_token(kubectl)
    )
    log_path = env_file().parent / "log" / "operator-demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    operator_env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "PHOTOSTORE_OPERATOR_METRICS_PORT": "18000",
        "PHOTOSTORE_OPERATOR_LIVENESS": "http://127.0.0.1:18081/healthz",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "photostore", "operator", "--standalone", "-n", NAMESPACE],
            cwd=REPO_ROOT, env=operator_env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    (state_dir() / "operator.pid").write_text(str(process.pid))
    return log_path


# --- the environment's servers ---------------------------------------------------------------


def recreate_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'.encode())
        conn.execute(f'CREATE DATABASE "{DATABASE}"'.encode())


def delete_previous(kubectl: Kubectl, timeout: float = 180) -> None:
    """Remove an earlier run's PhotoStorage and wait until its pods are gone."""
    kubectl.run("delete", "photostorage", NAME, "-n", NAMESPACE, "--ignore-not-found", "--wait")
    deadline = time.monotonic() + timeout
    while kubectl.run("get", "pods", "-n", NAMESPACE, "-o", "name").stdout.strip():
        if time.monotonic() > deadline:
            raise SystemExit("the previous demo's pods are still terminating")
        time.sleep(1)


# --- photos ------------------------------------------------------------------------------------


def to_dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2))


def exif_for(make: str, model: str, taken: str, place: tuple[float, float]) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    lat, lon = place
    gps = {1: "N" if lat >= 0 else "S", 2: to_dms(lat), 3: "E" if lon >= 0 else "W"}
    exif.get_ifd(0x8825).update({**gps, 4: to_dms(lon)})
    return exif


def write_photos(folder: Path) -> list[str]:
    """skimage's sample photographs made phone-sized, with EXIF, plus a near-duplicate."""
    from skimage import data  # a dev dependency: only the demo needs it

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jpg"):
        old.unlink()
    names = []
    for name, (make, model, taken, place) in SAMPLES.items():
        pixels = getattr(data, name)()
        if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
            pixels = pixels[0]
        image = Image.fromarray(pixels).convert("RGB")
        scale = LONG_SIDE / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)))
        exif = exif_for(make, model, taken, place)
        image.save(folder / f"{name}.jpg", "JPEG", quality=90, exif=exif)
        names.append(f"{name}.jpg")
        if name == NEAR_DUPLICATE_OF:
            smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4))
            out = io.BytesIO()
            smaller.save(out, "JPEG", quality=70, exif=exif)
            (folder / f"{name}-resent.jpg").write_bytes(out.getvalue())
            names.append(f"{name}-resent.jpg")
    return names


def import_folder(folder: Path, api: str, api_key: str) -> dict[str, Any]:
    say(f"\n$ photostore import {folder} --api {api}")
    result = subprocess.run(
        [sys.executable, "-m", "photostore", "import", str(folder), "--api", api],
        env={**os.environ, "PHOTOSTORE_API_KEY": api_key},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    summary = next((e for e in events if e.get("event") == "summary"), None)
    if result.returncode != 0 or summary is None:
        raise SystemExit(f"photostore import failed ({result.returncode}):\n{result.stdout}\n"
                         f"{result.stderr}")  # fmt: skip
    say(json.dumps(summary))
    return summary


def wait_processed(client: httpx.Client, expected: int, applied_at: float) -> float | None:
    """Poll the API until `expected` photos are processed; return when the first was seen."""
    first: float | None = None
    deadline = time.monotonic() + PROCESSED_TIMEOUT
    while time.monotonic() < deadline:
        items = client.get("/v1/photos", params={"limit": 100}).json()["items"]
        done = [p for p in items if p["processing_status"] in ("done", "failed")]
        if done and first is None:
            first = time.monotonic() - applied_at
            say(f"first photo processed {first:.1f} s after kubectl apply")
        say(f"  processed {len(done)}/{expected}")
        if len(done) >= expected:
            return first
        time.sleep(2)
    raise SystemExit(f"photos not processed within {PROCESSED_TIMEOUT} s")


# --- showing it --------------------------------------------------------------------------------


def show_photo(client: httpx.Client, env: dict[str, str], admin_url: str, photo_id: str) -> None:
    photo = client.get(f"/v1/photos/{photo_id}").json()
    say(f"\n$ curl $API/v1/photos/{photo_id}   # {photo['filename']}")
    shown = (
        *("filename", "width", "height", "taken_at", "camera_make", "camera_model"),
        *("location", "blur_score", "processing_status", "thumbnails"),
    )
    say(json.dumps({k: photo.get(k) for k in shown}, indent=2))
    colours = photo.get("dominant_colors") or []
    say("dominant colours: " + "  ".join(f"{c['hex']} {c['fraction']:.0%}" for c in colours))
    exif = photo.get("exif") or {}
    say("EXIF: " + json.dumps({k: v for k, v in exif.items() if k != "tags"})[:400])
    db_url = urlparse(admin_url)._replace(path=f"/{DATABASE}").geturl()
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            b"SELECT ahash, dhash, phash, color_histogram FROM photos WHERE id = %s", (photo_id,)
        ).fetchone()
    if row:
        ahash, dhash, phash, histogram = row
        hashes = {
            k: f"{v & (2**64 - 1):016x}" for k, v in zip("adp", (ahash, dhash, phash), strict=True)
        }
        say(f"perceptual hashes (PostgreSQL): aHash {hashes['a']}  dHash {hashes['d']}  "
            f"pHash {hashes['p']}")  # fmt: skip
        say(f"colour histogram: {json.dumps(histogram)[:160]}...")
    listed = s3_client(env).list_objects_v2(Bucket=BUCKET, Prefix=f"thumbnails/{photo_id}/")
    say("thumbnails in S3:")
    for obj in listed.get("Contents", []):
        say(f"  s3://{BUCKET}/{obj['Key']}  {obj['Size']} bytes")


def show_similar(client: httpx.Client, photo_id: str) -> None:
    say(f"\n$ curl $API/v1/photos/{photo_id}/similar   # near-duplicates")
    similar = client.get(f"/v1/photos/{photo_id}/similar").json()
    items = similar.get("items", similar) if isinstance(similar, dict) else similar
    for item in items:
        say(f"  {item['filename']}  distance {item['distance']}")
    if not items:
        say("  (none)")


def run_demo() -> None:
    started = time.monotonic()
    env = read_env_file()
    if "PHOTOSTORE_NODE_POOL" not in env:
        raise SystemExit("the demo needs the environment's real node (PHOTOSTORE_NODE=0 is set)")
    kubectl = Kubectl(env)
    admin_url = env["PHOTOSTORE_DATABASE_URL"]
    admin = urlparse(admin_url)

    say("\n== The CRD, the operator's ServiceAccount and RBAC, the demo namespace")
    crd = str(REPO_ROOT / "crds" / "photostorage.yaml")
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", crd)
    kubectl.run("wait", "--for=condition=Established", "crd/photostorages.photos.example.com")
    stop_operator()
    kubectl.apply(node_namespace(env["PHOTOSTORE_NODE_POOL"]))
    say(f"namespace {NAMESPACE}: every pod goes to the real node {env['PHOTOSTORE_NODE_NAME']}")
    log_path = start_operator(kubectl)
    say(f"operator running as system:serviceaccount:photostore-system:photostore-operator"
        f" (log: {log_path})")  # fmt: skip
    delete_previous(kubectl)

    say("\n== Its database, bucket and topic on the environment's servers; its Secrets")
    recreate_database(admin_url)
    s3 = s3_client(env)
    ensure_bucket(s3, BUCKET, env["PHOTOSTORE_S3_REGION"])
    delete_prefix(s3, BUCKET, "")
    ensure_topics(env["PHOTOSTORE_KAFKA_BROKERS"], [TOPIC, dead_letter_topic(TOPIC)],
                  partitions=2, replication=3)  # fmt: skip
    redis_password = urlparse(env["PHOTOSTORE_REDIS_URL"]).password or ""
    for name, data in {
        "photostore-db": {"username": admin.username or "", "password": admin.password or ""},
        "photostore-s3": {
            "accessKeyId": env["PHOTOSTORE_S3_ACCESS_KEY"],
            "secretAccessKey": env["PHOTOSTORE_S3_SECRET_KEY"],
        },
        "photostore-redis": {"password": redis_password},
    }.items():
        kubectl.apply(secret(name, data, NAMESPACE))
    say(f"database {DATABASE} (empty: the migration Job makes the schema), bucket {BUCKET},"
        f" topic {TOPIC}")  # fmt: skip

    say(
        "\n== kubectl apply: 2 API pods, 1 processor; no GPU here, so spec.processor.gpu.enabled"
        "=false and the processor runs the NumPy path (PHOTOSTORE_PROCESSOR_DEVICE=cpu)"
    )
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(photostorage()))
    applied_at = time.monotonic()
    kubectl.run("wait", "-n", NAMESPACE, "--for=condition=Ready", f"photostorage/{NAME}",
                f"--timeout={READY_TIMEOUT}s")  # fmt: skip
    say(f"Ready {time.monotonic() - applied_at:.1f} s after kubectl apply")
    kubectl.show("get", "photostorage", "-n", NAMESPACE)
    kubectl.show("get", "photostorage", NAME, "-n", NAMESPACE, "-o", f"jsonpath={CONDITIONS}")
    kubectl.show("get", "jobs,pods", "-n", NAMESPACE, "-o", "wide")

    service = kubectl.json("get", "service", f"{NAME}-api", "-n", NAMESPACE)
    api = f"http://{service['spec']['clusterIP']}:80"
    say(f"\n== The API through its Service: {api}")
    with httpx.Client(base_url=api, timeout=30) as client:
        credentials = {"email": EMAIL, "password": PASSWORD}
        registered = client.post("/v1/auth/register", json=credentials)
        say(f"POST /v1/auth/register -> {registered.status_code}")
        token = client.post("/v1/auth/login", json=credentials).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        key = client.post("/v1/api-keys", json={"name": "demo import"}).json()["key"]
        say(f"POST /v1/api-keys -> {key[:12]}...")

        folder = state_dir() / "photos"
        names = write_photos(folder)
        say(f"\n{len(names)} photos written to {folder}: " + ", ".join(names))
        import_folder(folder, api, key)
        first = wait_processed(client, len(names), applied_at)

        by_name = {p["filename"]: p["id"] for p in
                   client.get("/v1/photos", params={"limit": 100}).json()["items"]}  # fmt: skip
        photo_id = by_name[f"{NEAR_DUPLICATE_OF}.jpg"]
        show_photo(client, env, admin_url, photo_id)
        show_similar(client, photo_id)

    say("\n== Try it")
    say(f"API: {api}  (the Service {NAMESPACE}/{NAME}-api; kube-proxy routes it from this host)")
    say(f"curl -s -H 'Authorization: Bearer {key}' '{api}/v1/photos?limit=5'")
    say(f"operator log: {log_path}   stop everything: make down")
    say(f"\ndemo wall time {time.monotonic() - started:.1f} s; first processed photo "
        f"{first:.1f} s after kubectl apply; at {datetime.now(UTC):%H:%M:%S} UTC")  # fmt: skip


def run_down() -> None:
    """Remove what the demo made and stop its operator (the environment keeps running)."""
    env = read_env_file()
    kubectl = Kubectl(env)
    exists = kubectl.run("get", "namespace", NAMESPACE, check=False).returncode == 0
    if exists:
        kubectl.run("delete", "photostorage", "--all", "-n", NAMESPACE, "--ignore-not-found",
                    "--timeout=120s", check=False)  # fmt: skip
    stop_operator()
    if exists:
        kubectl.run("delete", "namespace", NAMESPACE, "--timeout=180s", check=False)
    with psycopg.connect(env["PHOTOSTORE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'.encode())
    say(f"demo removed: namespace {NAMESPACE}, its operator, database {DATABASE}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["down"]:
        run_down()
    elif not argv:
        run_demo()
    else:
        raise SystemExit("usage: demo.py [down]")


if __name__ == "__main__":
    main(sys.argv[1:])
