"""The schema migration gate. Pure.

Each pod template of the workloads has its own migration Job (`jobs.migration_name`). The
API and processor Deployments are applied only once that Job has succeeded: a release
whose migration fails never replaces the pods that run, and a first install starts no pod
before its schema exists. While the Job runs the PhotoStorage is Progressing; once one of
its pods has failed it is Degraded with `MigrationFailed`, naming the Job and what its pod
said, while the Job retries up to its backoff limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class MigrationState:
    done: bool
    failed: bool
    message: str


def _condition(job: Obj, kind: str) -> Obj | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            found: Obj = condition
            return found
    return None


def last_termination(pods: list[Obj]) -> str:
    """What the newest failed pod's container said when it ended."""
    ended = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or (
                (status.get("lastState") or {}).get("terminated")
            )
            if terminated and terminated.get("exitCode", 0) != 0:
                ended.append(terminated)
    if not ended:
        return ""
    last = max(ended, key=lambda t: t.get("finishedAt") or "")
    words = f"exit code {last.get('exitCode')}"
    if last.get("reason"):
        words += f" ({last['reason']})"
    message = (last.get("message") or "").strip()
    return f"{words}: {message[-300:]}" if message else words


def migration_state(job: Obj | None, pods: list[Obj]) -> MigrationState:
    if job is None:
        return MigrationState(False, False, "the migration Job is not there yet")
    name = job["metadata"]["name"]
    status = job.get("status") or {}
    if _condition(job, "Complete") or status.get("succeeded", 0) >= 1:
        return MigrationState(True, False, f"Job {name} succeeded")
    said = last_termination(pods)
    failed = _condition(job, "Failed")
    if failed:
        message = f"Job {name} failed ({failed.get('reason')}: {failed.get('message', '')})"
        return MigrationState(False, True, f"{message}; last pod {said}" if said else message)
    if status.get("failed", 0) >= 1:
        attempts = status["failed"]
        message = f"Job {name}: {attempts} attempt(s) failed, retrying"
        return MigrationState(False, True, f"{message}; last pod {said}" if said else message)
    return MigrationState(False, False, f"Job {name} is migrating the schema")
