"""Settings of the API, from PHOTOSTORE_* environment variables (the operator sets them)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any

from pydantic import Field, SecretStr, StringConstraints, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from photostore.events import DEFAULT_TOPIC


class Settings(BaseSettings):
    """Every knob of the API process. Secrets are SecretStr so they never print or log."""

    model_config = SettingsConfigDict(env_prefix="PHOTOSTORE_", extra="ignore")

    # libpq URL; user/password may instead come from PGUSER/PGPASSWORD (libpq reads them).
    database_url: SecretStr = SecretStr("")
    database_pool_max: int = Field(default=20, ge=1)
    # Read replicas (comma-separated libpq URLs, credentials as for database_url) for list,
    # search, similar and download-link reads; empty: every read goes to the primary.
    database_replica_urls: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # A replica further behind the primary than this is skipped (reads go to the primary).
    database_replica_max_lag_seconds: float = Field(default=5.0, gt=0)
    # How often each replica's lag is measured.
    database_replica_probe_seconds: float = Field(default=1.0, gt=0)
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    # Prefix of every Redis key, so several deployments (or test runs) can share one Redis.
    # No braces: the keys' hash tags (redis_keys.py) must be the only `{...}` in them.
    redis_prefix: str = Field(default="photostore:", pattern=r"^[^{}]*$")
    # host:port of Redis Cluster nodes (comma-separated; any few are enough to find the rest).
    # Set: the cluster client is used, with the password and TLS of redis_url. Empty: redis_url.
    redis_cluster_nodes: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^\S+:\d{1,5}$")]], NoDecode
    ] = Field(default_factory=list)
    kafka_brokers: str = "127.0.0.1:9092"
    kafka_topic: str = DEFAULT_TOPIC
    s3_bucket: str = "photos"
    s3_region: str = "us-east-1"
    s3_endpoint: str | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None

    api_port: int = Field(default=8080, ge=1, le=65535)
    # /metrics is served on this port only, never on api_port; 0 serves no metrics.
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - a container's port
    service_name: str = "api"
    # Peers (CIDRs, comma-separated) whose X-Forwarded-For is believed: the client is then
    # the right-most address in it that is not one of them. Empty: the peer is the client.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    # Per user (all of their sessions and API keys together).
    rate_limit_requests: int = Field(default=20, ge=1)
    rate_limit_window_seconds: int = Field(default=10, ge=1)
    api_keys_max_per_user: int = Field(default=20, ge=1)
    # Failed logins per account, and login attempts per client address, in one window.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_attempts_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    registrations_per_address: int = Field(default=5, ge=1)
    registration_window_seconds: int = Field(default=3600, ge=1)
    # Requests with an unknown, expired or revoked bearer token, per client address.
    bad_tokens_per_address: int = Field(default=10, ge=1)
    bad_token_window_seconds: int = Field(default=60, ge=1)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    # An image whose header declares more pixels is refused (413) before it reaches S3.
    max_image_pixels: int = Field(default=100_000_000, ge=1)
    # Files up to this size go to S3 in one PUT, checked by S3 against their SHA-256;
    # larger ones as a multipart upload of `upload_part_bytes` parts (at most 3 in memory).
    upload_single_put_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    upload_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    # User JSON (photo metadata, metadata search filters): larger or deeper is refused (422).
    metadata_max_bytes: int = Field(default=16 * 1024, ge=2, le=60 * 1024)
    metadata_max_depth: int = Field(default=20, ge=1, le=100)
    session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    cache_ttl_seconds: int = Field(default=300, ge=1)
    presign_ttl_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    # How long a request waits on PostgreSQL, Redis or S3 before answering 503.
    dependency_timeout_seconds: float = Field(default=3.0, gt=0)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # An upload in flight older than this is abandoned; the sweeper deletes its object.
    upload_grace_seconds: int = Field(default=3600, ge=1)
    cleanup_poll_seconds: float = Field(default=30.0, gt=0)
    # Run the outbox relay and the object sweeper in this process (off in some tests).
    background_tasks: bool = True

    @field_validator(
        "trusted_proxies", "database_replica_urls", "redis_cluster_nodes", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
