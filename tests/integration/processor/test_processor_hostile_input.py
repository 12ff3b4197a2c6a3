"""The processor against hostile photos and an S3 outage, on the real Kafka, PostgreSQL, S3.

Pixel bombs (tiny PNGs of huge size), a photo that kills the processor every time, EXIF
fields out of range, and S3 cut off by a proxy in front of the environment's versitygw
(which keeps running for everyone else).
"""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from PIL import ExifTags, Image
from processor_harness import (
    PhotoFactory,
    ProcessorRun,
    SwitchableProxy,
    Topics,
    flat_png,
    jpeg_photo,
    memory_kib,
    publish,
    read_topic,
    statuses,
    unique,
    wait_until,
)

from photostore.processor.memory_budget import photo_cost

MiB = 1 << 20


def _reasons(brokers: str, topic: str, expected: int) -> dict[bytes, bytes]:
    letters = read_topic(brokers, topic, expected=expected)
    return {m.key(): dict(m.headers())["error.reason"] for m in letters}


def _ready_status(run: ProcessorRun) -> int | None:
    """The status /ready answers, or None while the server is not listening yet."""
    try:
        return httpx.get(f"http://127.0.0.1:{run.metrics_port}/ready", timeout=5).status_code
    except httpx.TransportError:
        return None


def _settled(database_url: str, ids: list[Any]) -> Callable[[], bool]:
    return lambda: set(statuses(database_url, ids).values()) <= {"done", "failed"}


def test_pixel_heavy_batch_stays_within_the_memory_budget(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    budget = 700 * MiB
    heavy_png = flat_png((5000, 5000))  # 25 MP: about 330 MiB at its decoding peak
    heavy = [photos.create(heavy_png) for _ in range(4)]
    bomb = photos.create(flat_png((6000, 6000)))  # 36 MP, over the limit below
    assert len(heavy_png) < 200_000
    run = start_processor(
        topics,
        unique("group-"),
        PHOTOSTORE_BATCH_SIZE="8",
        PHOTOSTORE_WORKERS="4",
        PHOTOSTORE_MAX_PHOTO_PIXELS="30000000",
        PHOTOSTORE_MEMORY_BUDGET_BYTES=str(budget),
    )
    # Idle, connected and subscribed: what the process holds before any photo.
    wait_until(lambda: _ready_status(run) == 200, 30, run)
    time.sleep(2)
    idle = memory_kib(run.process.pid)["VmRSS"] * 1024
    publish(brokers, topics.events, [p.event for p in [*heavy, bomb]])
    ids = [p.id for p in [*heavy, bomb]]
    wait_until(_settled(database_url, ids), 240, run)

    peak = memory_kib(run.process.pid)["VmHWM"] * 1024
    print(f"idle RSS {idle / MiB:.0f} MiB, peak RSS {peak / MiB:.0f} MiB, budget 700 MiB")
    assert peak - idle <= budget, run.log()
    # Two photos never fit the budget together, so they went one at a time, and the estimate
    # of one bounds what one took (freed pixels went back to the system between photos).
    assert 2 * photo_cost(len(heavy_png), 5000, 5000, 1440) > budget
    assert peak - idle <= photo_cost(len(heavy_png), 5000, 5000, 1440)
    found = statuses(database_url, ids)
    assert [found[p.id] for p in heavy] == ["done"] * 4
    assert found[bomb.id] == "failed"
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT processing_error FROM photos WHERE id = %s", (bomb.id,)
        ).fetchone()
    assert row is not None
    assert row[0] == "too_large: 6000x6000 is 36000000 pixels, over the limit of 30000000"
    assert _reasons(brokers, topics.dead_letters, 1) == {str(bomb.id).encode(): b"too_large"}
    assert run.stop() == 0, run.log()


def test_a_photo_that_kills_the_processor_is_dead_lettered_after_max_attempts(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
) -> None:
    """The kill is simulated: SIGKILL as soon as the photo's attempt is on record."""
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    killer = photos.create(flat_png((7000, 7000)))  # seconds of decoding: time to kill it
    innocent = [photos.create(jpeg_photo(i, (800, 600))) for i in range(2)]
    publish(brokers, topics.events, [killer.event, *(p.event for p in innocent)])

    def attempts() -> tuple[str, int]:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT processing_status, processing_attempts FROM photos WHERE id = %s",
                (killer.id,),
            ).fetchone()
        assert row is not None
        return row[0], row[1]

    for attempt in (1, 2, 3):
        # A fresh group each time reads the uncommitted events again, as a restarted pod would
        # (without waiting out the dead member's session).
        run = start_processor(topics, unique("group-"), PHOTOSTORE_MAX_PROCESSING_ATTEMPTS="3")
        wait_until(lambda n=attempt: attempts() == ("processing", n), 120, run)
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(10)

    last = start_processor(topics, unique("group-"), PHOTOSTORE_MAX_PROCESSING_ATTEMPTS="3")
    ids = [killer.id, *(p.id for p in innocent)]
    wait_until(_settled(database_url, ids), 120, last)
    found = statuses(database_url, ids)
    assert found == {killer.id: "failed", **{p.id: "done" for p in innocent}}
    assert attempts() == ("failed", 3)  # given up without a fourth attempt
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT processing_error FROM photos WHERE id = %s", (killer.id,)
        ).fetchone()
    assert row is not None and row[0].startswith("too_many_attempts: processing started 3 times")
    assert _reasons(brokers, topics.dead_letters, 1) == {
        str(killer.id).encode(): b"too_many_attempts"
    }
    assert last.stop() == 0, last.log()


def _exif_jpeg(date: str, offset: str) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    detail = exif.get_ifd(ExifTags.IFD.Exif)
    detail[0x9003] = date
    detail[0x9011] = offset
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg_photo(0, (640, 480)))).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_out_of_range_exif_is_dropped_and_the_photo_processed(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
) -> None:
    far_offset = photos.create(_exif_jpeg("2024:05:06 07:08:09", "+25:00"))
    year_10000 = photos.create(_exif_jpeg("9999:12:31 23:00:00", "-05:00"))
    publish(env["PHOTOSTORE_KAFKA_BROKERS"], topics.events, [far_offset.event, year_10000.event])
    run = start_processor(topics, unique("group-"))
    ids = [far_offset.id, year_10000.id]
    wait_until(_settled(database_url, ids), 120, run)
    with psycopg.connect(database_url) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                """SELECT id, processing_status, taken_at, camera_make, exif->'exif_warnings'
                   FROM photos WHERE id = ANY(%s)""",
                (ids,),
            ).fetchall()
        }
    status, taken_at, make, warnings = rows[far_offset.id]
    assert (status, taken_at, make) == ("done", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), "Canon")
    assert warnings == ["OffsetTimeOriginal dropped: time offset '+25:00' is outside ±24 h"]
    status, taken_at, make, warnings = rows[year_10000.id]
    # Stored within what Python (and so the API) can read back: year 9999, not 10000.
    assert (status, taken_at) == ("done", datetime(9999, 12, 31, 23, tzinfo=UTC))
    assert len(warnings) == 1 and "outside years 1..9999" in warnings[0]
    assert run.stop() == 0, run.log()


@pytest.fixture
def s3_proxy(env: dict[str, str]) -> Iterator[SwitchableProxy]:
    target = urlsplit(env["PHOTOSTORE_S3_ENDPOINT"])
    assert target.hostname is not None and target.port is not None
    proxy = SwitchableProxy((target.hostname, target.port))
    yield proxy
    proxy.close()


def test_an_s3_outage_is_waited_out_alive_and_unready(
    env: dict[str, str],
    photos: PhotoFactory,
    topics: Topics,
    start_processor: Callable[..., ProcessorRun],
    database_url: str,
    s3_proxy: SwitchableProxy,
) -> None:
    created = [photos.create(jpeg_photo(i, (800, 600))) for i in range(3)]
    ids = [p.id for p in created]
    run = start_processor(topics, unique("group-"), PHOTOSTORE_S3_ENDPOINT=s3_proxy.endpoint)
    base = f"http://127.0.0.1:{run.metrics_port}"
    wait_until(lambda: _ready_status(run) == 200, 30, run)

    s3_proxy.down()
    publish(env["PHOTOSTORE_KAFKA_BROKERS"], topics.events, [p.event for p in created])
    wait_until(lambda: _ready_status(run) == 503, 60, run)
    assert "unready: batch failing" in httpx.get(f"{base}/ready").text
    # Longer than the four attempts (about 7 s of backoff) after which it used to exit.
    outage_end = time.monotonic() + 25
    while time.monotonic() < outage_end:
        assert run.process.poll() is None, run.log()
        assert httpx.get(f"{base}/health").status_code == 200
        time.sleep(0.5)
    assert set(statuses(database_url, ids).values()) <= {"pending", "processing"}

    s3_proxy.up()
    wait_until(lambda: set(statuses(database_url, ids).values()) == {"done"}, 90, run)
    wait_until(lambda: _ready_status(run) == 200, 10, run)
    assert "batch attempt" in run.log()
    assert run.stop() == 0, run.log()
