"""The processor's settings, read from PHOTOSTORE_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from photostore.events import DEFAULT_TOPIC, dead_letter_topic
from photostore.processor.cpus import available_cpus
from photostore.processor.decode import DEFAULT_MAX_PIXELS
from photostore.processor.pipeline import ThumbnailFormat, ThumbnailSpec

MAX_WORKERS = 64


class Settings(BaseSettings):
    """Everything the processor needs; secrets are SecretStr so they never reach a log line."""

    model_config = SettingsConfigDict(env_prefix="PHOTOSTORE_", extra="ignore")

    database_url: SecretStr
    kafka_brokers: str
    kafka_topic: str = DEFAULT_TOPIC
    kafka_group: str = "photo-processors"
    kafka_dlq_topic: str | None = Field(
        default=None, description="dead-letter topic; default '<kafka_topic>.dlq'"
    )
    s3_bucket: str
    s3_region: str = "us-east-1"
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None

    processor_device: Literal["auto", "cpu", "gpu"] = "auto"
    batch_size: int = Field(default=16, ge=1, le=512)
    batch_wait_s: float = Field(default=1.0, gt=0, description="longest wait to fill a batch")
    workers: int = Field(
        default_factory=lambda: min(MAX_WORKERS, available_cpus()),
        ge=1,
        le=MAX_WORKERS,
        description="threads that fetch, decode, resize (on the CPU device), encode and upload "
        "photos, one photo each; default: the CPUs this process may use (affinity and cgroup "
        "quota), so a batch uses every core",
    )
    metrics_port: int = Field(default=9090, ge=0, le=65535, description="0 disables the server")
    max_photo_pixels: int = Field(
        default=DEFAULT_MAX_PIXELS,
        ge=1,
        description="a photo with more pixels (width x height, read from its header before "
        "decoding) fails as 'too_large'",
    )
    memory_budget_bytes: int = Field(
        default=2 << 30,
        ge=64 << 20,
        description="estimated peak memory of the photos processed at once; a batch is "
        "processed in parts that fit (2 GiB leaves a 4Gi container room for the rest)",
    )
    max_processing_attempts: int = Field(
        default=3,
        ge=1,
        description="a photo whose processing started this many times without finishing "
        "(the processor died on it) fails as 'too_many_attempts' on its next delivery",
    )

    thumbnail_grid_size: int = Field(default=250, ge=16, le=4096)
    thumbnail_grid_format: ThumbnailFormat = "webp"
    thumbnail_preview_size: int = Field(default=1440, ge=16, le=8192)
    thumbnail_preview_format: ThumbnailFormat = "jpg"
    thumbnail_quality: int = Field(default=82, ge=1, le=100)

    @property
    def dlq_topic(self) -> str:
        return self.kafka_dlq_topic or dead_letter_topic(self.kafka_topic)

    def thumbnail_specs(self) -> list[ThumbnailSpec]:
        return [
            ThumbnailSpec(
                "grid", self.thumbnail_grid_format, self.thumbnail_grid_size, self.thumbnail_quality
            ),
            ThumbnailSpec(
                "preview",
                self.thumbnail_preview_format,
                self.thumbnail_preview_size,
                self.thumbnail_quality,
            ),
        ]
