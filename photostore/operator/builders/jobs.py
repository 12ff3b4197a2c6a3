"""The schema migration Job and the pg_dump backup CronJob."""

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

# Dumps go to s3://BUCKET/backups/INSTANCE/<UTC time>.dump; older than the retention go away.
BACKUP_SCRIPT = """\
set -euo pipefail
endpoint=()
if [[ -n "${PHOTOSTORE_S3_ENDPOINT:-}" ]]; then
  endpoint=(--endpoint-url "$PHOTOSTORE_S3_ENDPOINT")
fi
prefix="s3://${BACKUP_BUCKET}/backups/${BACKUP_INSTANCE}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
pg_dump --format=custom --no-owner | aws "${endpoint[@]}" s3 cp - "${prefix}/${stamp}.dump"
cutoff=$(date -u -d "-${BACKUP_RETENTION_DAYS} days" +%Y%m%dT%H%M%SZ)
aws "${endpoint[@]}" s3 ls "${prefix}/" | awk '{print $4}' | while read -r name; do
  if [[ -n "$name" && "${name%.dump}" < "$cutoff" ]]; then
    aws "${endpoint[@]}" s3 rm "${prefix}/${name}"
  fi
done
"""


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


def _backup_env(ps: PhotoStorage) -> list[Obj]:
    s = ps.spec
    pairs = {
        "PGHOST": s.database.host,
        "PGPORT": str(s.database.port),
        "PGDATABASE": s.database.name,
        "PGSSLMODE": s.database.ssl_mode,
        "BACKUP_BUCKET": s.backup.bucket or s.storage.bucket,
        "BACKUP_INSTANCE": ps.name,
        "BACKUP_RETENTION_DAYS": str(s.backup.retention_days),
        "AWS_DEFAULT_REGION": s.storage.region,
    }
    if s.storage.endpoint:
        pairs["PHOTOSTORE_S3_ENDPOINT"] = s.storage.endpoint
    return [{"name": k, "value": v} for k, v in pairs.items()] + config.secret_env(ps)


def build_backup_cronjob(ps: PhotoStorage) -> Obj:
    backup = ps.spec.backup
    container = {
        "name": "backup",
        "image": image(ps, ps.spec.images.backup),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["/bin/bash", "-c", BACKUP_SCRIPT],
        "env": _backup_env(ps),
        "securityContext": {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": False},
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
