"""Settings of `photostore import`, from PHOTOSTORE_* variables; flags override them."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ImportSettings(BaseSettings):
    """The API key is a SecretStr, so it never prints; prefer the variable to the flag,
    which other users of the machine can read in the process list."""

    model_config = SettingsConfigDict(env_prefix="PHOTOSTORE_", extra="ignore")

    api_url: str = "http://127.0.0.1:8080"
    api_key: SecretStr | None = None
    import_concurrency: int = Field(default=4, ge=1, le=64)
    import_retries: int = Field(default=5, ge=0)
    import_timeout_seconds: float = Field(default=120.0, gt=0)
