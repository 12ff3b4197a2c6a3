"""The process-wide clients of the API, created once in the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from photostore.api.config import Settings
from photostore.api.credentials import CredentialCache
from photostore.api.redis_client import RedisClient, create_redis
from photostore.api.redis_keys import RedisKeys
from photostore.api.row_values import register_tolerant_timestamps
from photostore.db.pool import Pool, create_pool
from photostore.db.read_router import ReadRouter, Replica, replica_name
from photostore.events import producer_config
from photostore.metrics import HttpMetrics, ReadMetrics
from photostore.storage import create_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class Services:
    settings: Settings
    # The primary: writes, and reads that must see them (credentials, a photo just changed).
    pool: Pool
    # Reads that a read replica may serve (list, search, similar, download links).
    reads: ReadRouter
    redis: RedisClient
    keys: RedisKeys
    s3: S3Client
    producer: Producer
    registry: CollectorRegistry
    http_metrics: HttpMetrics
    credentials: CredentialCache
    # Set after an upload commits, so the relay publishes at once instead of at its next poll.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)


def create_services(
    settings: Settings,
    registry: CollectorRegistry,
    http_metrics: HttpMetrics,
    read_metrics: ReadMetrics,
) -> Services:
    """Clients for every dependency, made at each lifespan start (a closed pool cannot reopen).

    The pools are returned closed; the caller opens them (`pool.open`, `reads.open`). The
    metrics are the app's, made once: a registry refuses a second metric of one name.
    """
    timeout = settings.dependency_timeout_seconds
    redis = create_redis(settings)
    keys = RedisKeys(settings.redis_prefix)

    def pool(url: str, name: str) -> Pool:
        return create_pool(
            url,
            max_size=settings.database_pool_max,
            timeout=timeout,
            name=name,
            application_name="photostore-api",
            # Every multi-statement write in the API uses an explicit transaction.
            autocommit=True,
            configure=register_tolerant_timestamps,
        )

    primary = pool(settings.database_url.get_secret_value(), "api")
    replicas = [
        Replica(replica_name(url), pool(url, f"api-replica-{index}"))
        for index, url in enumerate(u.get_secret_value() for u in settings.database_replica_urls)
    ]
    return Services(
        settings=settings,
        pool=primary,
        reads=ReadRouter(
            primary,
            replicas,
            read_metrics,
            max_lag_s=settings.database_replica_max_lag_seconds,
            probe_s=settings.database_replica_probe_seconds,
            replica_wait_s=min(1.0, timeout),
        ),
        redis=redis,
        keys=keys,
        s3=create_s3_client(
            region=settings.s3_region,
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value()
            if settings.s3_access_key
            else None,
            secret_key=settings.s3_secret_key.get_secret_value()
            if settings.s3_secret_key
            else None,
            connect_timeout=timeout,
            caller_checksums=True,
        ),
        producer=Producer(
            producer_config(
                settings.kafka_brokers,
                # librdkafka's own log lines go through Python logging, not raw stderr.
                **{"client.id": "photostore-api", "logger": logging.getLogger("photostore.kafka")},
            )
        ),
        registry=registry,
        http_metrics=http_metrics,
        credentials=CredentialCache(redis, keys, timeout=timeout),
    )
