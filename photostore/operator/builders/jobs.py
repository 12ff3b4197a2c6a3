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
VERIFY_COMPONENT = "backup-verify"
BACKUP_NOW_ANNOTATION = "photos.example.com/backup-now"
WORK_DIR = "/var/tmp/photostore"  # noqa: S108 - an emptyDir; the root filesystem is read-only

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
    """What `photostore backup` and `backup verify` read (photostore/backup/config.py). The
    bucket's keys come from backup.secretName when it is set, else from the photos' Secret."""
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
    bucket_keys = s.backup.secret_name or s.storage.secret_name
    secrets = [
        config.secret_ref(e["name"], bucket_keys, e["valueFrom"]["secretKeyRef"]["key"])
        if e["name"].startswith("AWS_")
        else e
        for e in config.secret_env(ps)
        if e["name"] in BACKUP_SECRET_ENV
    ]
    return [{"name": k, "value": v} for k, v in pairs.items()] + secrets


def _backup_job_spec(ps: PhotoStorage, component: str, args: list[str]) -> Obj:
    env = _backup_env(ps)
    container: Obj = {
        "name": component,
        "image": image(ps, ps.spec.images.backup),
        "imagePullPolicy": ps.spec.images.pull_policy,
        "command": ["python", "-m", "photostore", *args],
        "env": env,
        "securityContext": RESTRICTED_CONTAINER,
    }
    pod: Obj = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "containers": [container],
    }
    if component == VERIFY_COMPONENT:  # the dump is fetched to a file before pg_restore
        env.append({"name": "PHOTOSTORE_BACKUP_WORK_DIR", "value": WORK_DIR})
        container["volumeMounts"] = [{"name": "work", "mountPath": WORK_DIR}]
        pod["volumes"] = [{"name": "work", "emptyDir": {}}]
    return {
        "backoffLimit": 2,
        "template": {"metadata": {"labels": labels(ps, component)}, "spec": pod},
    }


def _cronjob(ps: PhotoStorage, component: str, schedule: str, args: list[str]) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(ps, child_name(ps, component), component),
        "spec": {
            "schedule": schedule,
            "suspend": ps.spec.backup.suspend,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels(ps, component)},
                "spec": _backup_job_spec(ps, component, args),
            },
        },
    }


def build_backup_cronjob(ps: PhotoStorage) -> Obj:
    """`photostore backup`: the dump streams from pg_dump to S3, nothing touches the disk."""
    return _cronjob(ps, BACKUP_COMPONENT, ps.spec.backup.schedule, ["backup"])


def build_verify_cronjob(ps: PhotoStorage) -> Obj:
    """`photostore backup verify`: the newest backup restored into a scratch database and
    compared with its manifest; needs CREATEDB for the database user."""
    schedule = ps.spec.backup.verification.schedule
    return _cronjob(ps, VERIFY_COMPONENT, schedule, ["backup", "verify"])


def backup_now_name(ps: PhotoStorage, request: str) -> str:
    """One Job per value of the backup-now annotation: asking twice makes one backup."""
    return child_name(ps, f"backup-now-{digest({'request': request})}")


def build_backup_now_job(ps: PhotoStorage, request: str) -> Obj:
    """An on-demand backup: the CronJob's Job, created now (as kubectl create job --from)."""
    job_meta = metadata(ps, backup_now_name(ps, request), BACKUP_COMPONENT)
    job_meta.setdefault("annotations", {})[BACKUP_NOW_ANNOTATION] = request
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": job_meta,
        "spec": _backup_job_spec(ps, BACKUP_COMPONENT, ["backup"]),
    }
