"""API benchmark against the local services: `make bench-api`.

Starts the API itself (`python -m photostore api`, uvicorn, in a subprocess) on a fresh
database, bucket, topic and Redis prefix, and prints `RESULT name value unit` lines:
  upload_api / upload_s3_direct / upload_ratio
      MB/s of the same files uploaded through the API (multipart, streamed to S3) and
      PUT straight to the same S3 server with boto3; goal: ratio >= 0.8
  upload_api_cpu / upload_api_s3_cpu / upload_api_client_cpu
      CPU seconds per uploaded GB of the API process (all its workers), of the S3 server
      and of this process (the HTTP client) during the API rounds
  upload_direct_client_cpu / upload_direct_s3_cpu
      the same for the direct rounds: this process (the boto3 client) and the S3 server
  upload_cpu_ratio
      CPU per GB of the direct path (client + S3 server) over that of the API path
      (client + API + S3 server): the upload ratio on a machine that is CPU-bound
  list_api_rps / list_api_p99 / list_sql_rps / list_sql_p99 / list_ratio
      GET /v1/photos (one page of 50) at N concurrent clients, against the same page read
      straight through a psycopg pool at the same concurrency; goal: ratio >= 0.7 and
      list_api_p99 <= 2 x list_sql_p99. The baseline pays what the API pays for the page
      and no more: the API's own `photos_db.list_page` (its query and row factory)
      on a pool made as the API makes its pools, in autocommit (one round trip per page;
      without it, psycopg would wrap each page in BEGIN ... COMMIT, three round trips, a
      baseline the API would beat for nothing)
  list_api_cpu / list_sql_client_cpu
      CPU milliseconds per request of the API process, and of this process running the
      SQL baseline (psycopg's client side of the same query)

Rates and ratios are the median over rounds (upload) or alternating windows (list); CPU is
utime + stime from /proc/<pid>/stat, so it holds on a machine shared with other work (the
S3 server's figure includes whatever else it serves meanwhile). The S3 server's pid is read
from var/run/s3.pid of the environment; without it those lines are left out.

The API runs with --workers processes (default 2, as two replicas would on two cores);
the psycopg pool of the baseline has the API's default pool size (20) and settings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import psycopg
from psycopg.conninfo import make_conninfo

from photostore.api.photos_db import ListFilters, list_page
from photostore.api.row_values import register_tolerant_timestamps
from photostore.db.migrate import apply_migrations
from photostore.db.pool import create_pool
from photostore.events import admin_config, ensure_topics
from photostore.local_env import env_file, read_env_file
from photostore.storage import create_s3_client, delete_prefix, ensure_bucket

REPO_ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name} {value:.3f} {unit}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all of its threads, from /proc/<pid>/stat; 0 once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (uvicorn's workers)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def s3_server_pid() -> int | None:
    """The environment's S3 server (versitygw), when its pid file is there."""
    try:
        pid = int((env_file().parent / "run" / "s3.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


class CpuMeter:
    """CPU seconds used by groups of processes between `start` and `stop`."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._started: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {
            name: sum(process_cpu_seconds(pid) for pid in pids)
            for name, pids in self.groups.items()
        }

    def start(self) -> None:
        self._started = self._now()

    def stop(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._started[name] for name in self.groups}


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Environment:
    """A database, bucket, topic and Redis prefix of its own; removed by `close`."""

    def __init__(self, env: dict[str, str]) -> None:
        run = uuid.uuid4().hex[:8]
        self.env = env
        self.admin_url = env["PHOTOSTORE_DATABASE_URL"]
        self.db_name = f"photostore_bench_{run}"
        self.database_url = make_conninfo(self.admin_url, dbname=self.db_name)
        self.bucket = f"bench-{run}"
        self.topic = f"photoUpload.bench.{run}"
        self.redis_prefix = f"photostore-bench:{run}:"
        self.s3 = create_s3_client(
            region=env["PHOTOSTORE_S3_REGION"],
            endpoint=env["PHOTOSTORE_S3_ENDPOINT"],
            access_key=env["PHOTOSTORE_S3_ACCESS_KEY"],
            secret_key=env["PHOTOSTORE_S3_SECRET_KEY"],
            max_pool_connections=64,
        )

    def open(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"'.encode())
        apply_migrations(self.database_url)
        ensure_bucket(self.s3, self.bucket, self.env["PHOTOSTORE_S3_REGION"])
        ensure_topics(self.env["PHOTOSTORE_KAFKA_BROKERS"], [self.topic])

    def close(self) -> None:
        from confluent_kafka.admin import AdminClient

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'.encode())
        delete_prefix(self.s3, self.bucket, "")
        self.s3.delete_bucket(Bucket=self.bucket)
        admin = AdminClient(admin_config(self.env["PHOTOSTORE_KAFKA_BROKERS"]))
        for future in admin.delete_topics([self.topic]).values():
            future.result(timeout=10)

    def api_env(self, port: int) -> dict[str, str]:
        env = self.env
        return {
            **os.environ,
            "PYTHONSAFEPATH": "1",
            "PHOTOSTORE_API_PORT": str(port),
            "PHOTOSTORE_DATABASE_URL": self.database_url,
            "PHOTOSTORE_REDIS_URL": env["PHOTOSTORE_REDIS_URL"],
            "PHOTOSTORE_REDIS_PREFIX": self.redis_prefix,
            "PHOTOSTORE_KAFKA_BROKERS": env["PHOTOSTORE_KAFKA_BROKERS"],
            "PHOTOSTORE_KAFKA_TOPIC": self.topic,
            "PHOTOSTORE_S3_BUCKET": self.bucket,
            "PHOTOSTORE_S3_REGION": env["PHOTOSTORE_S3_REGION"],
            "PHOTOSTORE_S3_ENDPOINT": env["PHOTOSTORE_S3_ENDPOINT"],
            "PHOTOSTORE_S3_ACCESS_KEY": env["PHOTOSTORE_S3_ACCESS_KEY"],
            "PHOTOSTORE_S3_SECRET_KEY": env["PHOTOSTORE_S3_SECRET_KEY"],
            "PHOTOSTORE_RATE_LIMIT_REQUESTS": str(10**9),
            "PHOTOSTORE_REGISTRATIONS_PER_ADDRESS": str(10**9),
            "PHOTOSTORE_LOGIN_ATTEMPTS_PER_ADDRESS": str(10**9),
            "PHOTOSTORE_METRICS_PORT": "0",
            "PHOTOSTORE_MAX_UPLOAD_BYTES": str(1 << 30),
        }


def start_api(environment: Environment, port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "photostore",
            "api",
            "--host",
            "127.0.0.1",
            "--workers",
            str(workers),
        ],
        env=environment.api_env(port),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API did not start in 60 s")


async def login(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    body = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.com", "password": "bench-password"}
    async with session.post(f"{base}/v1/auth/register", json=body) as response:
        assert response.status == 201, await response.text()
    async with session.post(f"{base}/v1/auth/login", json=body) as response:
        token = (await response.json())["access_token"]
    return {"Authorization": f"Bearer {token}"}


def make_files(count: int, size: int) -> list[bytearray]:
    return [bytearray(b"\xff\xd8\xff\xe0" + os.urandom(size - 4)) for _ in range(count)]


def direct_put(
    environment: Environment, files: list[bytearray], concurrency: int, tag: str
) -> float:
    def put(index: int) -> None:
        environment.s3.put_object(
            Bucket=environment.bucket,
            Key=f"direct/{tag}/{index}",
            Body=bytes(files[index]),
            ContentType="image/jpeg",
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, range(len(files))))
    return time.perf_counter() - started


async def api_upload(
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    files: list[bytearray],
    concurrency: int,
) -> float:
    queue = list(range(len(files)))

    async def worker() -> None:
        while queue:
            index = queue.pop()
            form = aiohttp.FormData()
            form.add_field("file", bytes(files[index]), filename=f"{index}.jpg")
            async with session.post(f"{base}/v1/photos", data=form, headers=headers) as response:
                assert response.status == 201, await response.text()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bench_upload(
    environment: Environment,
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> None:
    files = make_files(args.files, args.file_mib * 1024 * 1024)
    total_bytes = sum(len(f) for f in files)
    total_mb, total_gb = total_bytes / 1e6, total_bytes / 1e9
    groups = {"api": [args.api_pid, *child_pids(args.api_pid)], "client": [os.getpid()]}
    s3_pid = s3_server_pid()
    if s3_pid is not None:
        groups["s3"] = [s3_pid]
    meter = CpuMeter(groups)
    rates: dict[str, list[float]] = {"api": [], "direct": []}
    cpu: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        for f in files:  # new bytes each round, so no upload is a duplicate
            f[4:12] = os.urandom(8)
        meter.start()
        seconds = await asyncio.to_thread(
            direct_put, environment, files, args.concurrency, str(round_)
        )
        used = meter.stop()
        rates["direct"].append(total_mb / seconds)
        for name in ("client", "s3"):
            if name in used:
                cpu.setdefault(f"direct_{name}", []).append(used[name] / total_gb)
        meter.start()
        seconds = await api_upload(session, base, headers, files, args.concurrency)
        used = meter.stop()
        rates["api"].append(total_mb / seconds)
        for name in ("api", "client", "s3"):
            if name in used:
                cpu.setdefault(f"api_{name}", []).append(used[name] / total_gb)
    ratios = [api / direct for api, direct in zip(rates["api"], rates["direct"], strict=True)]
    result("upload_api", statistics.median(rates["api"]), "MB/s")
    result("upload_s3_direct", statistics.median(rates["direct"]), "MB/s")
    result("upload_ratio", statistics.median(ratios), "ratio")
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    result("upload_api_cpu", median_cpu["api_api"], "cpu-s/GB")
    result("upload_api_client_cpu", median_cpu["api_client"], "cpu-s/GB")
    result("upload_direct_client_cpu", median_cpu["direct_client"], "cpu-s/GB")
    if "api_s3" in median_cpu:
        result("upload_api_s3_cpu", median_cpu["api_s3"], "cpu-s/GB")
        result("upload_direct_s3_cpu", median_cpu["direct_s3"], "cpu-s/GB")
        api_path = median_cpu["api_client"] + median_cpu["api_api"] + median_cpu["api_s3"]
        direct_path = median_cpu["direct_client"] + median_cpu["direct_s3"]
        result("upload_cpu_ratio", direct_path / api_path, "ratio")


async def closed_loop(
    clients: int, seconds: float, call: Callable[[], Awaitable[None]], latencies: list[float]
) -> float:
    """Run `call` from `clients` tasks for `seconds`, appending latencies; return the time."""
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


def seed_rows(database_url: str, user_id: str, rows: int) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256, tags,"
            " created_at)"
            " SELECT gen_random_uuid(), %s, 'IMG_' || n || '.jpg', 'seed/' || n, 1000 + n,"
            " 'image/jpeg', encode(sha256(n::text::bytea), 'hex'), ARRAY['t' || (n %% 10)],"
            " now() - make_interval(secs => n) FROM generate_series(1, %s) AS n",
            (user_id, rows),
        )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE photos")


async def bench_list(
    environment: Environment,
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> None:
    async with session.get(f"{base}/v1/auth/me", headers=headers) as response:
        user_id = (await response.json())["id"]
    await asyncio.to_thread(seed_rows, environment.database_url, user_id, args.rows)
    url = f"{base}/v1/photos?limit={args.page}"

    async def via_api() -> None:
        async with session.get(url, headers=headers) as response:
            await response.read()
            assert response.status == 200

    # As services.create_services makes the API's pools: autocommit, the same loaders.
    pool = create_pool(
        environment.database_url,
        min_size=args.pool,
        max_size=args.pool,
        autocommit=True,
        configure=register_tolerant_timestamps,
    )
    await pool.open(wait=True)
    owner = uuid.UUID(user_id)

    async def via_sql() -> None:
        # The very read the API makes for that page (photos_db.list_page).
        async with pool.connection() as conn:
            await list_page(
                conn, owner, trash=False, filters=ListFilters(), after=None, limit=args.page
            )

    # Short alternating windows, so both paths see the same background load.
    samples: dict[str, list[float]] = {"api": [], "sql": []}
    rps: dict[str, list[float]] = {"api": [], "sql": []}
    cpu_ms: dict[str, list[float]] = {"api": [], "sql": []}
    meter = CpuMeter({"api": [args.api_pid, *child_pids(args.api_pid)], "sql": [os.getpid()]})
    window = args.seconds / args.windows
    try:
        for call in (via_api, via_sql):  # warm up both paths
            await closed_loop(args.clients, 1.0, call, [])
        for _ in range(args.windows):
            for name, call in (("api", via_api), ("sql", via_sql)):
                before = len(samples[name])
                meter.start()
                elapsed = await closed_loop(args.clients, window, call, samples[name])
                used = meter.stop()
                requests = len(samples[name]) - before
                rps[name].append(requests / elapsed)
                cpu_ms[name].append(used[name] * 1000 / requests)
    finally:
        await pool.close()
    ratios = [api / sql for api, sql in zip(rps["api"], rps["sql"], strict=True)]
    result("list_api_rps", statistics.median(rps["api"]), "req/s")
    result("list_api_p99", p99(samples["api"]) * 1000, "ms")
    result("list_sql_rps", statistics.median(rps["sql"]), "req/s")
    result("list_sql_p99", p99(samples["sql"]) * 1000, "ms")
    result("list_ratio", statistics.median(ratios), "ratio")
    result("list_api_cpu", statistics.median(cpu_ms["api"]), "cpu-ms/req")
    result("list_sql_client_cpu", statistics.median(cpu_ms["sql"]), "cpu-ms/req")
    result("list_api_workers", args.workers, "processes")


async def run(environment: Environment, port: int, args: argparse.Namespace) -> None:
    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=max(args.clients, args.concurrency) + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = await login(session, base)
        if not args.skip_upload:
            await bench_upload(environment, session, base, headers, args)
        if not args.skip_list:
            await bench_list(environment, session, base, headers, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=16, help="files per upload round")
    parser.add_argument("--file-mib", type=int, default=12, help="size of each file")
    parser.add_argument("--concurrency", type=int, default=4, help="uploads in flight")
    parser.add_argument("--rounds", type=int, default=5, help="upload rounds (median is kept)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent list clients")
    parser.add_argument("--seconds", type=float, default=12.0, help="list time per path")
    parser.add_argument("--windows", type=int, default=6, help="alternating list windows")
    parser.add_argument("--rows", type=int, default=5000, help="photos of the listing user")
    parser.add_argument("--page", type=int, default=50, help="page size")
    parser.add_argument("--pool", type=int, default=20, help="psycopg pool size of the baseline")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="API worker processes (default 2: one per core here, as replicas would be)",
    )
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    args = parser.parse_args()

    environment = Environment(read_env_file())
    environment.open()
    port = free_port()
    api = start_api(environment, port, args.workers)
    args.api_pid = api.pid
    try:
        asyncio.run(run(environment, port, args))
    finally:
        api.terminate()
        api.wait(timeout=30)
        environment.close()


if __name__ == "__main__":
    main()
