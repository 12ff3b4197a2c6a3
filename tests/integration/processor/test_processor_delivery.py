"""The processor command against real Kafka, PostgreSQL and S3: results, failures, stops.

Photos are stored here the way the API stores them (original in S3, row committed, event
produced), so these tests control exactly which events exist and when.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from confluent_kafka import Consumer, TopicPartition
from PIL import Image
from processor_harness import (
    CORRUPT_JPEG,
    PhotoFactory,
    ProcessorRun,
    Topics,
    jpeg_photo,
    publish,
    read_topic,
    statuses,
    thumbnail_keys,
    unique,
    wait_until,
)

from photostore.events import consumer_config
from photostore.processor.hashes import hamming
from photostore.processor.pipeline import ThumbnailSpec, process_image

SPECS = [ThumbnailSpec("grid", "webp", 250), ThumbnailSpec("preview", "jpg", 1440)]


def _expected_keys(ids: list[Any]) -> list[str]:
    return sorted(
        key for i in ids for key in (f"thumbnails/{i}/grid.webp", f"thumbnails/{i}/preview.jpg")
    )


def _thumbnails_of(s3: Any, bucket: str, ids: list[Any]) -> list[str]:
    """The thumbnail objects under these photos' prefixes (the bucket is shared per module)."""
    wanted = {str(i) for i in ids}
    return [key for key in thumbnail_keys(s3, bucket) if key.split("/")[1] in wanted]


def _count(database_url: str, ids: list[Any], status: str) -> int:
    return sum(1 for s in statuses(database_url, ids).values() if s == status)


def test_photos_are_processed_and_bad_ones_fail_alone(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
    s3: Any,
    bucket: str,
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    good = [photos.create(jpeg_photo(i)) for i in range(5)]
    corrupt = photos.create(CORRUPT_JPEG)
    missing = photos.create(jpeg_photo(7), upload=False)
    publish(
        brokers,
        topics.events,
        [
            good[0].event,
            corrupt.event,
            good[1].event,
            b"{not json",
            good[2].event,
            missing.event,
            good[3].event,
            good[4].event,
        ],
    )
    run = start_processor(topics, unique("group-"), PHOTOSTORE_BATCH_SIZE="3")
    ids = [p.id for p in [*good, corrupt, missing]]
    wait_until(lambda: set(statuses(database_url, ids).values()) <= {"done", "failed"}, 120, run)

    with psycopg.connect(database_url) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                """SELECT id, processing_status, processing_error, width, height, ahash, dhash,
                          phash, blur_score, dominant_colors, color_histogram, thumbnails,
                          processed_at
                   FROM photos WHERE id = ANY(%s)""",
                (ids,),
            ).fetchall()
        }
    expected = process_image(jpeg_photo(0), SPECS).features.hashes
    for photo in good:
        status, error, width, height, ahash, dhash, phash, blur, colors, hist, thumbs, at = rows[
            photo.id
        ]
        assert (status, error, width, height) == ("done", None, 2000, 1500)
        assert thumbs == {
            "grid": f"thumbnails/{photo.id}/grid.webp",
            "preview": f"thumbnails/{photo.id}/preview.jpg",
        }
        assert blur > 0 and at is not None
        assert 1 <= len(colors) <= 5 and set(hist) == {"r", "g", "b"}
        assert all(-(2**63) <= h < 2**63 for h in (ahash, dhash, phash))
    first = rows[good[0].id]
    assert (first[4], first[5], first[6]) == (expected.ahash, expected.dhash, expected.phash)
    assert hamming(rows[good[0].id][6], rows[good[1].id][6]) >= 10

    assert rows[corrupt.id][:2] == ("failed", rows[corrupt.id][1])
    assert "undecodable" in rows[corrupt.id][1]
    assert rows[missing.id][0] == "failed"
    assert "missing_original" in rows[missing.id][1]

    assert _thumbnails_of(s3, bucket, ids) == _expected_keys([p.id for p in good])
    grid = s3.get_object(Bucket=bucket, Key=f"thumbnails/{good[0].id}/grid.webp")
    assert grid["ContentType"] == "image/webp"
    assert Image.open(io.BytesIO(grid["Body"].read())).size == (250, 188)
    preview = s3.get_object(Bucket=bucket, Key=f"thumbnails/{good[0].id}/preview.jpg")
    assert Image.open(io.BytesIO(preview["Body"].read())).size == (1440, 1080)

    letters = read_topic(brokers, topics.dead_letters, expected=3)
    reasons = {m.key(): dict(m.headers())["error.reason"] for m in letters}
    assert reasons == {
        str(corrupt.id).encode(): b"undecodable",
        str(missing.id).encode(): b"missing_original",
        b"garbage": b"invalid_event",
    }

    base = f"http://127.0.0.1:{run.metrics_port}"
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    assert "photostore_processor_photos_processed_total 5.0" in metrics
    assert 'photostore_processor_photos_failed_total{reason="undecodable"} 1.0' in metrics
    assert "photostore_processor_photo_duration_seconds_count 5.0" in metrics
    assert "photostore_processor_batch_size_sum 8.0" in metrics
    lag = f'photostore_processor_consumer_lag{{partition="0",topic="{topics.events}"}} 0.0'
    assert lag in metrics
    assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    assert run.stop() == 0, run.log()


def test_sigterm_finishes_the_batch_commits_and_exits(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    created = [photos.create(jpeg_photo(i)) for i in range(12)]
    ids = [p.id for p in created]
    publish(brokers, topics.events, [p.event for p in created])
    group = unique("group-")
    run = start_processor(topics, group, PHOTOSTORE_BATCH_SIZE="3", PHOTOSTORE_WORKERS="1")
    wait_until(lambda: _count(database_url, ids, "processing") >= 1, 120, run)

    assert run.stop(signal.SIGTERM, timeout=60) == 0, run.log()
    found = statuses(database_url, ids)
    assert "processing" not in found.values()
    done = sum(1 for s in found.values() if s == "done")
    assert 1 <= done < len(ids)
    consumer = Consumer(consumer_config(brokers, group))
    try:
        committed = consumer.committed([TopicPartition(topics.events, 0)], timeout=10)
    finally:
        consumer.close()
    # One partition, one event per photo, in order: the commit covers exactly the done ones.
    assert committed[0].offset == done


def test_processor_killed_mid_batch_and_restarted_processes_every_photo_once(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
    s3: Any,
    bucket: str,
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    created = [photos.create(jpeg_photo(i)) for i in range(12)]
    ids = [p.id for p in created]
    publish(brokers, topics.events, [p.event for p in created])
    group = unique("group-")
    settings = {"PHOTOSTORE_BATCH_SIZE": "3", "PHOTOSTORE_WORKERS": "1"}
    first = start_processor(topics, group, **settings)
    # A batch is in flight (rows marked 'processing') after at least one batch was written.
    wait_until(
        lambda: (
            _count(database_url, ids, "done") >= 1 and _count(database_url, ids, "processing") >= 1
        ),
        120,
        first,
    )
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    with psycopg.connect(database_url) as conn:
        done_before = dict(
            conn.execute(
                """SELECT id, processed_at FROM photos
                   WHERE id = ANY(%s) AND processing_status = 'done'""",
                (ids,),
            ).fetchall()
        )
    assert 1 <= len(done_before) < len(ids)

    second = start_processor(topics, group, **settings)
    wait_until(lambda: _count(database_url, ids, "done") == len(ids), 180, second)
    assert second.stop() == 0, second.log()

    with psycopg.connect(database_url) as conn:
        after = dict(
            conn.execute(
                "SELECT id, processed_at FROM photos WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        )
    # Photos written before the kill were not processed again after the restart.
    assert {i: after[i] for i in done_before} == done_before
    assert _thumbnails_of(s3, bucket, ids) == _expected_keys(ids)
    assert read_topic(brokers, topics.dead_letters, expected=0, timeout=3) == []
