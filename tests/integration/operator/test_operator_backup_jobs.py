"""Backups on the control plane: the backup-now annotation fires exactly once per value, a
completed backup Job makes BackupHealthy True, a failed one False naming it. (kwok completes
Job pods without running them; tests/e2e runs the backup for real.)"""

from __future__ import annotations

import json
from typing import Any

from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"
BACKUP = "app.kubernetes.io/instance=photos,app.kubernetes.io/component=backup"


def backup_jobs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    return cluster.list("jobs", namespace, BACKUP)


def test_backup_now_fires_once_per_value_and_reports_the_backup(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    assert cluster.get("cronjob", "photos-backup-verify", namespace) is not None
    verified = cluster.wait_condition(NAME, namespace, "BackupVerified", status="False")
    assert verified["reason"] == "NotVerifiedYet"

    annotate = ["annotate", "--overwrite", "photostorage", NAME, "-n", namespace]
    cluster.run(*annotate, "photos.example.com/backup-now=first")
    wait_for("one on-demand backup Job", lambda: len(backup_jobs(cluster, namespace)) == 1)
    healthy = cluster.wait_condition(NAME, namespace, "BackupHealthy", reason="LastBackupSucceeded")
    (job,) = backup_jobs(cluster, namespace)
    assert job["metadata"]["name"] in healthy["message"]
    status = (cluster.get("photostorage", NAME, namespace) or {})["status"]["backup"]
    assert status["lastRequest"] == "first"
    assert status["lastSuccessfulJob"] == job["metadata"]["name"]

    # The same value again, and a spec change that re-reconciles: no second Job.
    cluster.run(*annotate, "photos.example.com/backup-now=first")
    cluster.run("patch", "photostorage", NAME, "-n", namespace, "--type=merge",
                "-p", '{"spec": {"backup": {"retentionDays": 31}}}')  # fmt: skip
    cluster.wait_condition(NAME, namespace, "Ready", timeout=60)
    assert len(backup_jobs(cluster, namespace)) == 1
    cluster.run(*annotate, "photos.example.com/backup-now=second")
    wait_for("a second backup Job", lambda: len(backup_jobs(cluster, namespace)) == 2)


def test_a_failed_backup_job_makes_backups_unhealthy(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    # A backup Job as the CronJob makes them, ended as a failed pg_dump ends it.
    labels = {"app.kubernetes.io/name": "photostore", "app.kubernetes.io/instance": NAME,
              "app.kubernetes.io/component": "backup"}  # fmt: skip
    cluster.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "photos-backup-29000000", "labels": labels},
            "spec": {
                "suspend": True,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"restartPolicy": "Never",
                             "containers": [{"name": "backup", "image": "unused"}]},
                },
            },
        },
        namespace,
    )  # fmt: skip
    now = "2099-01-01T00:00:00Z"  # after anything else this test made
    failed = {
        "status": {
            "startTime": now,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastTransitionTime": now},
            ],
        }
    }  # fmt: skip
    cluster.run("patch", "job", "photos-backup-29000000", "-n", namespace, "--subresource=status",
                "--type=merge", "-p", json.dumps(failed))  # fmt: skip
    # The CronJob's status is untouched: nudge a pass the way an SRE's edit would.
    cluster.run("annotate", "--overwrite", "photostorage", NAME, "-n", namespace, "nudge=1")
    unhealthy = cluster.wait_condition(
        NAME, namespace, "BackupHealthy", status="False", reason="LastBackupFailed", timeout=330
    )
    assert "photos-backup-29000000" in unhealthy["message"]
    cluster.wait_event(namespace, "LastBackupFailed")
