"""Settings, device choice, offset bookkeeping and the metrics endpoint (no servers needed)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from photostore.processor.arrays import device_module
from photostore.processor.config import Settings
from photostore.processor.consumer import next_offsets
from photostore.processor.metrics import (
    Liveness,
    Readiness,
    create_processor_metrics,
    serve_metrics,
)
from photostore.processor.service import main

REQUIRED = {
    "PHOTOSTORE_DATABASE_URL": "postgresql://u:hunter2pw@db/photos",
    "PHOTOSTORE_KAFKA_BROKERS": "kafka:9092",
    "PHOTOSTORE_S3_BUCKET": "photos",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("PHOTOSTORE_"):
            monkeypatch.delenv(key)
    for key, value in REQUIRED.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_settings_defaults(environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert (settings.kafka_topic, settings.kafka_group) == ("photoUpload", "photo-processors")
    assert settings.dlq_topic == "photoUpload.dlq"
    assert settings.metrics_port == 9090
    assert settings.processor_device == "auto"
    specs = {s.name: (s.format, s.long_edge) for s in settings.thumbnail_specs()}
    assert specs == {"grid": ("webp", 250), "preview": ("jpg", 1440)}
    assert "hunter2pw" not in repr(settings)


def test_settings_from_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("PHOTOSTORE_KAFKA_TOPIC", "uploads")
    environment.setenv("PHOTOSTORE_THUMBNAIL_GRID_SIZE", "320")
    environment.setenv("PHOTOSTORE_THUMBNAIL_PREVIEW_FORMAT", "webp")
    environment.setenv("PHOTOSTORE_PROCESSOR_DEVICE", "cpu")
    environment.setenv("PHOTOSTORE_BATCH_SIZE", "64")
    settings = Settings()
    assert settings.dlq_topic == "uploads.dlq"
    assert settings.batch_size == 64
    specs = {s.name: (s.format, s.long_edge) for s in settings.thumbnail_specs()}
    assert specs == {"grid": ("webp", 320), "preview": ("webp", 1440)}


@pytest.mark.parametrize(
    ("key", "value"),
    [("PHOTOSTORE_PROCESSOR_DEVICE", "tpu"), ("PHOTOSTORE_BATCH_SIZE", "0")],
)
def test_invalid_settings_are_rejected(
    environment: pytest.MonkeyPatch, key: str, value: str
) -> None:
    environment.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()


def test_cpu_device_is_numpy() -> None:
    assert device_module("cpu") is np


@dataclass
class FakeMessage:
    t: str
    p: int
    o: int

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.o

    def key(self) -> bytes | None:
        return None

    def value(self) -> bytes | None:
        return None


def test_next_offsets_are_one_past_the_last_message_per_partition() -> None:
    messages = [FakeMessage("t", 0, 5), FakeMessage("t", 1, 9), FakeMessage("t", 0, 7)]
    found = {(tp.topic, tp.partition): tp.offset for tp in next_offsets(messages)}
    assert found == {("t", 0): 8, ("t", 1): 10}


def test_metrics_endpoint_serves_metrics_and_health() -> None:
    metrics = create_processor_metrics()
    liveness = Liveness(stale_after_s=60)
    server = serve_metrics(metrics, liveness, port=0, host="127.0.0.1")
    try:
        metrics.processed.inc(3)
        metrics.lag.labels("photoUpload", "0").set(42)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        body = httpx.get(f"{base}/metrics").text
        assert "photostore_processor_photos_processed_total 3.0" in body
        assert 'photostore_processor_consumer_lag{partition="0",topic="photoUpload"} 42.0' in body
        assert httpx.get(f"{base}/health").status_code == 200
        liveness.stale_after_s = 0
        assert httpx.get(f"{base}/health").status_code == 503
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_invalid_settings_exit_2_without_echoing_secrets(
    environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    environment.delenv("PHOTOSTORE_S3_BUCKET")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "s3_bucket: Field required" in caplog.text
    assert "hunter2pw" not in caplog.text


def test_ready_endpoint_reports_the_problem_while_unready() -> None:
    readiness = Readiness()
    server = serve_metrics(create_processor_metrics(), Liveness(), 0, readiness, host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert httpx.get(f"{base}/ready").status_code == 200
        readiness.unready("batch failing: EndpointConnectionError")
        reply = httpx.get(f"{base}/ready")
        assert (reply.status_code, reply.text) == (
            503,
            "unready: batch failing: EndpointConnectionError\n",
        )
        # Alive all the same: the kubelet must not restart a processor waiting out an outage.
        assert httpx.get(f"{base}/health").status_code == 200
        readiness.ready()
        assert httpx.get(f"{base}/ready").status_code == 200
    finally:
        server.shutdown()
        server.server_close()
