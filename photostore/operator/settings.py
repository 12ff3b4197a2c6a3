"""The operator's own settings: the only reader of its environment.

Every knob is a PHOTOSTORE_OPERATOR_* variable; the Deployment in manifests/operator/ sets
the ones it changes. What a PhotoStorage asks for lives in its spec, never here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from photostore.operator.selection import parse_selector

IN_CLUSTER_SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class OperatorSettings(BaseSettings):
    """Settings of one operator process, read once at startup."""

    model_config = SettingsConfigDict(env_prefix="PHOTOSTORE_OPERATOR_", extra="ignore")

    metrics_port: int = Field(
        default=8000, ge=0, le=65535, description="Prometheus metrics port; 0 turns it off."
    )
    liveness: str = Field(
        default="http://0.0.0.0:8081/healthz",
        description="kopf's liveness endpoint; empty turns it off.",
    )
    workers: int = Field(
        default=32,
        ge=1,
        description="PhotoStorages reconciled at once. A pass mostly waits for the apiserver, "
        "so more workers cost little; too few queue a fleet's first passes behind each other.",
    )
    selector: str = Field(
        default="",
        description="Labels (key=value,...) of the PhotoStorages this process manages; "
        "empty: every one it can see.",
    )
    priority: int | None = Field(
        default=None,
        ge=1,
        description="Peering priority; random when unset, so exactly one replica is active.",
    )
    service_account_dir: Path = Field(
        default=IN_CLUSTER_SERVICE_ACCOUNT,
        description="Where the kubelet mounts the ServiceAccount's token, CA and namespace.",
    )

    @field_validator("selector")
    @classmethod
    def _selector_parses(cls, value: str) -> str:
        parse_selector(value)
        return value
