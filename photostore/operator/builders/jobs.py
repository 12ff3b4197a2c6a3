"""The schema migration Job and the backup CronJob (`photostore backup`)."""

from __future__ import annotations

from photostore.operator.builders import config
from photostore.operator.builders.common import (
    RESTRICTED_CONTAINER,
    Obj,
    child_name,
    digest,
    image,
    labels,
    metadata,
)
from photostore.operator.spec import PhotoStorage

MIGRATION_COMPONENT = "migration"
BACKUP_COMPONENT = "backup"

# Credentials the backup needs from the referenced Secrets, and nothing else (no Redis).
BACKUP_SECRET_ENV = {"PGUSER", "PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def _migration_template(ps: PhotoStorage) -> Obj:
    container = {
        "name": "migrate",
        "image": image(ps, ps.spec.images.api),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["python", "-m", "photostore", "migrate"],
        "envFrom": config.env_from(ps),
        "env": config.secret_env(ps),
        "securityContext": RESTRICTED_CONTAINER,
    }
    return {
        "metadata": {"labels": labels(ps, MIGRATION_COMPONENT)},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [container],
        },
    }


def migration_name(ps: PhotoStorage) -> str:
    """A Job's pod template is immutable, so each template (image, secrets) gets its own
    Job: a new release migrates once, and nothing is left that cannot be applied."""
    return child_name(ps, f"migrate-{digest(_migration_template(ps))}")


def build_migration_job(ps: PhotoStorage) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(ps, migration_name(ps), MIGRATION_COMPONENT),
        "spec": {"backoffLimit": 6, "template": _migration_template(ps)},
    }


def backup_prefix(ps: PhotoStorage) -> str:
    """Each installation's backups under their own prefix, so two can share a bucket."""
    return f"backups/{ps.name}/"


def _backup_env(ps: PhotoStorage) -> list[Obj]:
    """What `photostore backup` reads (photostore/backup/config.py)."""
    s = ps.spec
    pairs = {
        "PHOTOSTORE_DATABASE_URL": config.database_url(ps),
        "PHOTOSTORE_BACKUP_BUCKET": s.backup.bucket or s.storage.bucket,
        "PHOTOSTORE_BACKUP_PREFIX": backup_prefix(ps),
        "PHOTOSTORE_BACKUP_RETENTION_DAYS": str(s.backup.retention_days),
        "PHOTOSTORE_S3_REGION": s.storage.region,
    }
    if s.storage.endpoint:
        pairs["PHOTOSTORE_S3_ENDPOINT"] = s.storage.endpoint
    secrets = [e for e in config.secret_env(ps) if e["name"] in BACKUP_SECRET_ENV]
    return [{"name": k, "value": v} for k, v in pairs.items()] + secrets


def build_backup_cronjob(ps: PhotoStorage) -> Obj:
    backup = ps.spec.backup
    container = {
        "name": "backup",
        "image": image(ps, ps.spec.images.backup),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["python", "-m", "photostore", "backup"],
        "env": _backup_env(ps),
        # The dump streams from pg_dump to S3: nothing is written to the filesystem.
        "securityContext": RESTRICTED_CONTAINER,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(ps, child_name(ps, BACKUP_COMPONENT), BACKUP_COMPONENT),
        "spec": {
            "schedule": backup.schedule,
            "suspend": backup.suspend,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels(ps, BACKUP_COMPONENT)},
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "metadata": {"labels": labels(ps, BACKUP_COMPONENT)},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "containers": [container],
                        },
                    },
                },
            },
        },
    }
