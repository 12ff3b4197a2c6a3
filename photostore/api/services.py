"""The process-wide clients of the API, created once in the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from photostore.api.config import Settings
from photostore.api.credentials import CredentialCache
from photostore.api.row_values import register_tolerant_timestamps
from photostore.db.pool import Pool, create_pool
from photostore.events import producer_config
from photostore.metrics import HttpMetrics
from photostore.storage import create_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class Services:
    settings: Settings
    pool: Pool
    redis: aioredis.Redis[bytes]
    s3: S3Client
    producer: Producer
    registry: CollectorRegistry
    http_metrics: HttpMetrics
    credentials: CredentialCache
    # Set after an upload commits, so the relay publishes at once instead of at its next poll.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def key(self, *parts: str) -> str:
        """A Redis key under this deployment's prefix."""
        return self.settings.redis_prefix + ":".join(parts)


def create_services(
    settings: Settings, registry: CollectorRegistry, http_metrics: HttpMetrics
) -> Services:
    """Clients for every dependency, made at each lifespan start (a closed pool cannot reopen).

    The pool is returned closed; the caller opens it.
    """
    timeout = settings.dependency_timeout_seconds
    redis: aioredis.Redis[bytes] = aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
    return Services(
        settings=settings,
        pool=create_pool(
            settings.database_url.get_secret_value(),
            max_size=settings.database_pool_max,
            timeout=timeout,
            name="api",
            application_name="photostore-api",
            # Every multi-statement write in the API uses an explicit transaction.
            autocommit=True,
            configure=register_tolerant_timestamps,
        ),
        redis=redis,
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
        credentials=CredentialCache(redis, settings.redis_prefix),
    )
