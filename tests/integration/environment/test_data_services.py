"""PostgreSQL (PostGIS, pg_trgm), Redis, Kafka and S3 of the local environment are real servers."""

from __future__ import annotations

import time
import urllib.request
import uuid

import boto3
import psycopg
import pytest
import redis
from botocore.config import Config
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def test_postgis_distance_query(env: dict[str, str]) -> None:
    with psycopg.connect(env["PHOTOSTORE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        # Paris to London along the ellipsoid is about 344 km.
        (metres,) = conn.execute(
            "SELECT ST_Distance("
            "ST_SetSRID(ST_MakePoint(2.3522, 48.8566), 4326)::geography, "
            "ST_SetSRID(ST_MakePoint(-0.1276, 51.5072), 4326)::geography)"
        ).fetchone()
    assert 340_000 < metres < 350_000


def test_pg_trgm_similarity_finds_misspelt_name(env: dict[str, str]) -> None:
    with psycopg.connect(env["PHOTOSTORE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE TEMP TABLE names (name text)")
        conn.execute("CREATE INDEX ON names USING gin (name gin_trgm_ops)")
        for name in ("beach_sunset.jpg", "mountain_lake.png", "birthday_cake.jpg"):
            conn.execute("INSERT INTO names VALUES (%s)", (name,))
        rows = conn.execute(
            "SELECT name FROM names WHERE name %% %s ORDER BY similarity(name, %s) DESC",
            ("beach sunst", "beach sunst"),
        ).fetchall()
    assert rows[0][0] == "beach_sunset.jpg"
    assert "birthday_cake.jpg" not in [r[0] for r in rows]


def test_redis_round_trip(env: dict[str, str]) -> None:
    r = redis.Redis.from_url(env["PHOTOSTORE_REDIS_URL"])
    key = f"smoke:{uuid.uuid4().hex}"
    assert r.set(key, b"hello", ex=30)
    assert r.get(key) == b"hello"
    assert r.incr(f"{key}:n") == 1
    assert 0 < r.ttl(key) <= 30
    r.delete(key, f"{key}:n")


def test_redis_rejects_wrong_password(env: dict[str, str]) -> None:
    url = env["PHOTOSTORE_REDIS_URL"]
    wrong = redis.Redis(
        host="127.0.0.1", port=int(url.rsplit(":", 1)[1].split("/")[0]), password="wrong"
    )
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()


def test_kafka_produce_and_consume_through_a_consumer_group(env: dict[str, str]) -> None:
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)

    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True})
    sent = {f"photo-{i}": f"payload-{i}".encode() for i in range(20)}
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"{topic}-group",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: dict[str, bytes] = {}
    deadline = time.monotonic() + 60
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            received[message.key().decode()] = message.value()
        consumer.commit(asynchronous=False)
        committed = consumer.committed(consumer.assignment(), timeout=10)
    finally:
        consumer.close()
    assert received == sent
    assert sum(tp.offset for tp in committed) == len(sent)
    admin.delete_topics([topic])


def test_s3_put_get_list_and_presigned_get(env: dict[str, str]) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=env["PHOTOSTORE_S3_ENDPOINT"],
        region_name=env["PHOTOSTORE_S3_REGION"],
        aws_access_key_id=env["PHOTOSTORE_S3_ACCESS_KEY"],
        aws_secret_access_key=env["PHOTOSTORE_S3_SECRET_KEY"],
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    bucket = f"smoke-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    body = b"\xff\xd8\xff" + bytes(range(256)) * 64
    s3.put_object(Bucket=bucket, Key="originals/u1/p1", Body=body, ContentType="image/jpeg")
    s3.put_object(Bucket=bucket, Key="originals/u1/p2", Body=b"second")

    assert s3.get_object(Bucket=bucket, Key="originals/u1/p1")["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="originals/u1/")
    assert [o["Key"] for o in listed["Contents"]] == ["originals/u1/p1", "originals/u1/p2"]

    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "originals/u1/p1"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL we signed
        assert response.status == 200
        assert response.read() == body
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url.replace("Signature=", "Signature=0"), timeout=10)  # noqa: S310
    assert denied.value.code == 403

    for key in ("originals/u1/p1", "originals/u1/p2"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
