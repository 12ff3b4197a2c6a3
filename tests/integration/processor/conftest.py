"""Fixtures for processor tests against the real PostgreSQL, Kafka and S3.

Each test module gets its own database (migrated) and S3 bucket, each test its own Kafka
topics and consumer group, so they run beside other engineers' tests on the same servers.
The processor under test is the real command, `python -m photostore processor`, in a
subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from processor_harness import PhotoFactory, ProcessorRun, Topics, free_port, unique
from service_fixtures import fresh_bucket, fresh_database, s3_client

from photostore.events import admin_config, ensure_topics

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def database_url(env: dict[str, str]) -> Iterator[str]:
    """A fresh, migrated database for this module, dropped at the end."""
    with fresh_database(env["PHOTOSTORE_DATABASE_URL"], unique("photostore_proc_")) as url:
        yield url


@pytest.fixture(scope="module")
def s3(env: dict[str, str]) -> Any:
    return s3_client(env)


@pytest.fixture(scope="module")
def bucket(s3: Any, env: dict[str, str]) -> Iterator[str]:
    with fresh_bucket(s3, unique("proc-test-"), env["PHOTOSTORE_S3_REGION"]) as name:
        yield name


@pytest.fixture
def topics(env: dict[str, str]) -> Iterator[Topics]:
    """A fresh event topic and dead-letter topic per test."""
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    name = unique("photoUpload.proc-test.")
    created = Topics(name, f"{name}.dlq")
    ensure_topics(brokers, [created.events, created.dead_letters])
    yield created
    admin = AdminClient(admin_config(brokers))
    for future in admin.delete_topics([created.events, created.dead_letters]).values():
        future.result(timeout=30)


@pytest.fixture
def photos(database_url: str, s3: Any, bucket: str) -> PhotoFactory:
    return PhotoFactory(database_url, s3, bucket)


@pytest.fixture
def start_processor(
    env: dict[str, str], database_url: str, bucket: str, tmp_path: Path
) -> Iterator[Callable[..., ProcessorRun]]:
    """Start `python -m photostore processor` on a topic; stopped (SIGKILL) at teardown."""
    runs: list[ProcessorRun] = []

    def start(topics: Topics, group: str, **overrides: str) -> ProcessorRun:
        port = free_port()
        child_env = {
            **os.environ,
            **{k: v for k, v in env.items() if k.startswith("PHOTOSTORE_")},
            "PHOTOSTORE_DATABASE_URL": database_url,
            "PHOTOSTORE_S3_BUCKET": bucket,
            "PHOTOSTORE_KAFKA_TOPIC": topics.events,
            "PHOTOSTORE_KAFKA_DLQ_TOPIC": topics.dead_letters,
            "PHOTOSTORE_KAFKA_GROUP": group,
            "PHOTOSTORE_PROCESSOR_DEVICE": "cpu",
            "PHOTOSTORE_METRICS_PORT": str(port),
            "PHOTOSTORE_BATCH_WAIT_S": "0.2",
            "PYTHONSAFEPATH": "1",
            **overrides,
        }
        log_path = tmp_path / f"processor-{len(runs)}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "photostore", "processor"],
                cwd=REPO_ROOT,
                env=child_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        run = ProcessorRun(process, port, log_path)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(10)
