"""Settings of the backup commands, from the environment (the operator's backup Job sets them).

The database comes from `PHOTOSTORE_DATABASE_URL`, or from its parts; a part that is set
overrides the URL's. The parts also answer to the libpq names (`PGHOST`, `PGPORT`,
`PGDATABASE`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`) that a Job fills from the database Secret.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from photostore.backup.errors import BackupError

MIB = 1024 * 1024


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of `photostore backup` and `photostore restore`; secrets are SecretStr."""

    model_config = SettingsConfigDict(
        env_prefix="PHOTOSTORE_", extra="ignore", populate_by_name=True
    )

    database_url: SecretStr = SecretStr("")
    database_host: str | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_DATABASE_HOST", "PGHOST")
    )
    database_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=_env("PHOTOSTORE_DATABASE_PORT", "PGPORT")
    )
    database_name: str | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_DATABASE_NAME", "PGDATABASE")
    )
    database_user: str | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_DATABASE_USER", "PGUSER")
    )
    database_password: SecretStr | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_DATABASE_PASSWORD", "PGPASSWORD")
    )
    database_sslmode: str | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_DATABASE_SSLMODE", "PGSSLMODE")
    )

    # The backups' bucket; the photos' bucket when not set.
    backup_bucket: str = Field(
        default="", validation_alias=_env("PHOTOSTORE_BACKUP_BUCKET", "PHOTOSTORE_S3_BUCKET")
    )
    # Every object of one installation's backups lives under this prefix.
    backup_prefix: str = "backups/"
    s3_region: str = "us-east-1"
    s3_endpoint: str | None = None
    s3_access_key: SecretStr | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
    )
    s3_secret_key: SecretStr | None = Field(
        default=None, validation_alias=_env("PHOTOSTORE_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
    )

    # Backups whose manifest is older than this go; the newest successful one always stays.
    backup_retention_days: int = Field(default=30, ge=1, le=3650)
    # A dump object without a manifest older than this is a leftover of a failed run.
    backup_leftover_hours: float = Field(default=24.0, gt=0)
    # The dump goes to S3 in parts of this size, at most `backup_parts_in_flight` at once;
    # S3 allows 10,000 parts, so 16 MiB parts cover dumps up to about 156 GiB.
    backup_part_bytes: int = Field(default=16 * MIB, ge=5 * MIB, le=5 * 1024 * MIB)
    backup_parts_in_flight: int = Field(default=2, ge=1, le=16)
    # Where `restore` and `verify` keep the downloaded dump (the system's temp dir if unset).
    backup_work_dir: str | None = None
    # Folder of pg_dump, pg_restore (PATH when unset), e.g. /usr/lib/postgresql/15/bin.
    pg_bin_dir: str | None = None

    @field_validator("backup_prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.lstrip("/")
        return value if not value or value.endswith("/") else value + "/"

    def database_params(self, dbname: str | None = None) -> dict[str, str]:
        """libpq connection parameters, the password included; `dbname` picks another database."""
        from psycopg.conninfo import conninfo_to_dict

        params = {
            k: str(v)
            for k, v in conninfo_to_dict(self.database_url.get_secret_value()).items()
            if v is not None
        }
        parts = {
            "host": self.database_host,
            "port": str(self.database_port) if self.database_port else None,
            "dbname": self.database_name,
            "user": self.database_user,
            "password": (
                self.database_password.get_secret_value() if self.database_password else None
            ),
            "sslmode": self.database_sslmode,
        }
        params.update({k: v for k, v in parts.items() if v})
        if dbname is not None:
            params["dbname"] = dbname
        if not params.get("dbname"):
            raise BackupError(
                "no database named: set PHOTOSTORE_DATABASE_URL or PGDATABASE "
                "(PHOTOSTORE_DATABASE_NAME)"
            )
        return params

    def conninfo(self, dbname: str | None = None) -> str:
        """The libpq conninfo of `database_params`, for this process's own connections."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**self.database_params(dbname))

    @property
    def database_name_resolved(self) -> str:
        return self.database_params()["dbname"]

    def bucket(self) -> str:
        if not self.backup_bucket:
            raise BackupError("no bucket: set PHOTOSTORE_BACKUP_BUCKET (or PHOTOSTORE_S3_BUCKET)")
        return self.backup_bucket
