"""Helpers of the processor's integration tests: photos stored as the API stores them,
events, the processor subprocess, and waiting on the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from PIL import Image
from skimage import data

from photostore.events import PhotoUploaded, consumer_config, producer_config
from photostore.storage import original_key

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Topics:
    events: str
    dead_letters: str


def jpeg_photo(index: int, size: tuple[int, int] = (2000, 1500)) -> bytes:
    """A distinct real photograph (scikit-image samples, varied by index) as JPEG bytes."""
    base = Image.fromarray(getattr(data, SAMPLES[index % len(SAMPLES)])()).convert("RGB")
    turned = base.rotate(3 * (index // len(SAMPLES)), resample=Image.Resampling.BILINEAR)
    out = io.BytesIO()
    turned.resize(size, Image.Resampling.BILINEAR).save(out, "JPEG", quality=88)
    return out.getvalue()


CORRUPT_JPEG = b"\xff\xd8\xff\xe0" + b"\x13\x37" * 2000


@dataclass(frozen=True)
class StoredPhoto:
    id: uuid.UUID
    user_id: uuid.UUID
    event: PhotoUploaded


class PhotoFactory:
    """Creates photos as the API does: original in S3, row committed, then the event."""

    def __init__(self, database_url: str, s3: Any, bucket: str) -> None:
        self.database_url = database_url
        self.s3 = s3
        self.bucket = bucket
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id",
                (f"{unique('u')}@example.com",),
            ).fetchone()
        assert row is not None
        self.user_id: uuid.UUID = row[0]

    def create(self, payload: bytes, *, upload: bool = True) -> StoredPhoto:
        photo_id = uuid.uuid4()
        key = original_key(self.user_id, photo_id)
        digest = hashlib.sha256(payload + photo_id.bytes).hexdigest()
        if upload:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=payload)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                """INSERT INTO photos (id, user_id, filename, s3_key, size, content_type, sha256)
                   VALUES (%s, %s, %s, %s, %s, 'image/jpeg', %s)""",
                (photo_id, self.user_id, f"{photo_id}.jpg", key, len(payload), digest),
            )
        event = PhotoUploaded(
            photo_id=photo_id,
            user_id=self.user_id,
            object_key=key,
            content_type="image/jpeg",
            sha256=digest,
            size=len(payload),
            uploaded_at=datetime.now(UTC),
        )
        return StoredPhoto(photo_id, self.user_id, event)


def publish(brokers: str, topic: str, events: list[PhotoUploaded | bytes]) -> None:
    """Produce events (or raw bytes, for malformed ones), keyed by photo id like the API."""
    producer = Producer(producer_config(brokers))
    for event in events:
        if isinstance(event, bytes):
            producer.produce(topic, key=b"garbage", value=event)
        else:
            producer.produce(topic, key=event.key, value=event.to_json())
    assert producer.flush(30) == 0


def read_topic(brokers: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    """Every message of a topic from the start (stops early once `expected` have arrived)."""
    consumer = Consumer(consumer_config(brokers, unique("reader-")))
    consumer.subscribe([topic])
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) <= expected:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message)
                if len(found) == expected:
                    # Keep reading briefly: a duplicate would show up here.
                    deadline = min(deadline, time.monotonic() + 3.0)
    finally:
        consumer.close()
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ProcessorRun:
    process: subprocess.Popen[bytes]
    metrics_port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def statuses(database_url: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, processing_status FROM photos WHERE id = ANY(%s)", (ids,)
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def wait_until(
    predicate: Callable[[], bool], timeout: float, run: ProcessorRun | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if run is not None and run.process.poll() is not None:
            pytest.fail(f"processor exited with {run.process.returncode}:\n{run.log()}")
        time.sleep(0.05)
    pytest.fail("timed out" + (f"; processor log:\n{run.log()}" if run else ""))


def thumbnail_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="thumbnails/"):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return sorted(keys)


def flat_png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    """A photo that is tiny on disk and huge decoded: one flat colour compresses to nothing."""
    buffer = io.BytesIO()
    Image.new(mode, size, (180, 90, 40, 255)[: len(mode)]).save(buffer, "PNG")
    return buffer.getvalue()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set) of a running process, in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields


class SwitchableProxy:
    """A TCP proxy to a server that a test can cut off and restore, like an outage of it.

    While down it refuses new connections (accepts and closes them) and cuts the ones open,
    so a client's pooled connections fail too. The server itself is never touched.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self) -> None:
        self._up.clear()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def up(self) -> None:
        self._up.set()

    def close(self) -> None:
        self.down()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)
            source.close()
