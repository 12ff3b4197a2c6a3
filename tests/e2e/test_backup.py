"""The backup CronJob, started now as `kubectl create job --from=cronjob/...` does: its Job
reports `photostore backup`'s real exit status, and the dump and its manifest are in S3."""

from __future__ import annotations

import json
import uuid

from installation import NAME, Installation
from ps_cluster import wait_for


def finished(installation: Installation, job: str) -> dict[str, str] | None:
    status = installation.cluster.run_json("get", "job", job, "-n", installation.namespace)
    for condition in status.get("status", {}).get("conditions") or []:
        if condition["type"] in ("Complete", "Failed") and condition["status"] == "True":
            return {"type": condition["type"], "reason": condition.get("reason", "")}
    return None


def exit_codes(installation: Installation, job: str) -> list[int]:
    pods = installation.cluster.list("pods", installation.namespace, f"job-name={job}")
    return [
        s["state"]["terminated"]["exitCode"]
        for p in pods
        for s in p["status"].get("containerStatuses", [])
        if "terminated" in s["state"]
    ]


def test_backup_job_started_now_writes_a_dump_to_s3(installation: Installation) -> None:
    job = f"{NAME}-backup-now-{uuid.uuid4().hex[:6]}"
    installation.cluster.run(
        "create", "job", job, f"--from=cronjob/{NAME}-backup", "-n", installation.namespace
    )

    outcome = wait_for(f"job {job} finished", lambda: finished(installation, job), timeout=300)
    codes = exit_codes(installation, job)
    print(f"backup job {job}: {json.dumps(outcome)}, pod exit codes {codes}")

    assert codes, "no backup pod terminated"
    # The Job's condition is the script's real exit status, not a simulated one.
    assert (outcome["type"] == "Complete") == (codes[-1] == 0)
    assert outcome["type"] == "Complete", f"exit codes {codes}"
    listed = installation.s3.list_objects_v2(Bucket=installation.bucket, Prefix=f"backups/{NAME}/")
    keys = {o["Key"]: o["Size"] for o in listed.get("Contents", [])}
    dumps = [k for k in keys if k.endswith(".dump")]
    assert dumps and all(keys[k] > 0 for k in dumps)
    # A dump counts as a backup once its manifest, written last, is there.
    for dump in dumps:
        assert dump.removesuffix(".dump") + ".manifest.json" in keys


def test_verification_restores_the_backup_and_the_photostorage_says_verified(
    installation: Installation,
) -> None:
    """After a backup, the verification CronJob's Job restores it into a scratch database in
    a real pod, and BackupVerified turns True naming that Job."""
    cluster, namespace = installation.cluster, installation.namespace
    backup = f"{NAME}-backup-first-{uuid.uuid4().hex[:6]}"
    cluster.run("create", "job", backup, f"--from=cronjob/{NAME}-backup", "-n", namespace)
    done = wait_for(f"job {backup} finished", lambda: finished(installation, backup), timeout=300)
    assert done["type"] == "Complete", exit_codes(installation, backup)

    verify = f"{NAME}-verify-now-{uuid.uuid4().hex[:6]}"
    cluster.run("create", "job", verify, f"--from=cronjob/{NAME}-backup-verify", "-n", namespace)
    outcome = wait_for(
        f"job {verify} finished", lambda: finished(installation, verify), timeout=300
    )
    codes = exit_codes(installation, verify)
    assert outcome["type"] == "Complete", f"verification exit codes {codes}"
    listed = installation.s3.list_objects_v2(Bucket=installation.bucket, Prefix=f"backups/{NAME}/")
    assert any(o["Key"].endswith(".verification.json") for o in listed.get("Contents", []))

    # Jobs made by hand are not the CronJob's: nudge a status pass as any edit would.
    cluster.run("annotate", "--overwrite", "photostorage", NAME, "-n", namespace,
                f"e2e/nudge={verify}")  # fmt: skip
    verified = cluster.wait_condition(
        NAME, namespace, "BackupVerified", reason="Verified", timeout=120
    )
    assert verify in verified["message"]
