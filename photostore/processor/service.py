"""`photostore processor`: consume photoUpload events and process the photos.

The device is chosen here, once (PHOTOSTORE_PROCESSOR_DEVICE=auto|cpu|gpu): everything below
receives an array module and never asks again. SIGTERM (a pod stopping) and SIGINT finish
the batch in hand, commit its offsets and exit 0.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import signal
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import psycopg
from confluent_kafka import Consumer, Producer
from PIL import Image
from pydantic import ValidationError

from photostore.events import consumer_config, ensure_dead_letter_topic, producer_config
from photostore.processor.arrays import GpuUnavailableError, device_module
from photostore.processor.batch import BatchProcessor
from photostore.processor.config import Settings
from photostore.processor.consumer import ConsumeLoop
from photostore.processor.metrics import (
    Liveness,
    Readiness,
    create_processor_metrics,
    serve_metrics,
)
from photostore.storage import create_s3_client

log = logging.getLogger("photostore.processor")


# glibc's mallopt parameter number (malloc.h).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20


def return_large_buffers_to_the_os() -> bool:
    """Serve allocations of 1 MiB and more by mmap, so that freeing them returns the memory.

    glibc otherwise raises its mmap threshold after the first large free (up to 32 MiB, the
    size of Pillow's blocks), and a decoded photo's memory then stays in the worker thread's
    heap: resident memory grew by half again over the memory budget in a batch of large PNGs.
    False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def build_loop(settings: Settings) -> ConsumeLoop:
    # First, before the health server: a GPU pod whose CUDA is broken must never look ready.
    xp = device_module(settings.processor_device)
    log.info("processing on %s", xp.__name__)
    # Pillow's own decompression-bomb check follows ours (it refuses above twice this); ours
    # refuses first, from the header, with the reason, so Pillow's warning adds nothing.
    Image.MAX_IMAGE_PIXELS = settings.max_photo_pixels
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    if not return_large_buffers_to_the_os():
        log.warning("not glibc: memory freed after a photo may stay with the process")
    metrics = create_processor_metrics()
    liveness = Liveness(stale_after_s=max(60.0, 30 * settings.batch_wait_s))
    readiness = Readiness()
    if settings.metrics_port:
        serve_metrics(metrics, liveness, settings.metrics_port, readiness)
    s3 = create_s3_client(
        region=settings.s3_region,
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
        max_pool_connections=max(10, 2 * settings.workers),
    )
    database_url = settings.database_url.get_secret_value()

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(
            database_url, autocommit=True, application_name="photostore-processor"
        )

    # The dead-letter topic must exist before the first failure; the main topic is the
    # operator's (its partition count matters), so it is not created here.
    ensure_dead_letter_topic(settings.kafka_brokers, settings.kafka_topic, settings.dlq_topic)
    processor = BatchProcessor(
        specs=settings.thumbnail_specs(),
        xp=xp,
        s3=s3,
        bucket=settings.s3_bucket,
        connect=connect,
        workers=ThreadPoolExecutor(settings.workers, thread_name_prefix="photo"),
        metrics=metrics,
        max_pixels=settings.max_photo_pixels,
        memory_budget=settings.memory_budget_bytes,
        max_attempts=settings.max_processing_attempts,
    )
    return ConsumeLoop(
        consumer=Consumer(
            consumer_config(
                settings.kafka_brokers,
                settings.kafka_group,
                **{"client.id": "photostore-processor"},
            )
        ),
        producer=Producer(
            producer_config(settings.kafka_brokers, **{"client.id": "photostore-processor"})
        ),
        processor=processor,
        topic=settings.kafka_topic,
        dlq_topic=settings.dlq_topic,
        batch_size=settings.batch_size,
        batch_wait_s=settings.batch_wait_s,
        metrics=metrics,
        liveness=liveness,
        readiness=readiness,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="photostore processor",
        description="Consume photoUpload events and process the photos. "
        "Configured by PHOTOSTORE_* environment variables.",
    )
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        # Only where and what: pydantic's full text can echo input values, secrets included.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        log.error("invalid settings (PHOTOSTORE_* environment): %s", problems)
        sys.exit(2)
    try:
        loop = build_loop(settings)
    except GpuUnavailableError as exc:
        # Exiting before the health server starts: the pod never reports ready.
        log.error("refusing to start: %s", exc)
        sys.exit(3)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the batch in hand", signum)
        loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.run()
    except Exception:
        log.exception("processor stopped on an error; uncommitted messages will be redelivered")
        sys.exit(1)
    log.info("processor stopped")
