"""The photo bucket: made when missing, spec.storage.lifecycle applied as lifecycle rules
(originals to STANDARD_IA, then GLACIER; thumbnails stay STANDARD) and spec.storage.replication
as replication rules (one per destination bucket). The outcome is the StorageReady condition.
A store that does not implement lifecycle rules, versioning or replication says so
(NotSupportedByStore) rather than being reported as applied.

The operator reads the Secret named by spec.storage.secretName for this: the same keys the
API uses. Blocking boto3 calls, run in the background (`background`).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from photostore.operator import reasons
from photostore.operator.background import check_in_background, stop_check
from photostore.operator.builders.common import digest
from photostore.operator.conditions import Finding
from photostore.operator.kube import Obj
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import KeptSecret, Operator
from photostore.operator.workqueue import Key
from photostore.storage import create_s3_client

STORAGE_READY = reasons.STORAGE_READY
RULE_ID = "photostore-originals-to-colder-classes"
ORIGINALS_PREFIX = "originals/"
NOT_IMPLEMENTED = {"NotImplemented", "501"}
REPLICATION_RULE_PREFIX = "photostore-to-"
SECRET_REREAD = 60.0  # seconds, as a failed check's RETRY


@dataclass(frozen=True)
class BucketAccess:
    region: str
    endpoint: str | None
    access_key: str
    secret_key: str


def lifecycle_rules(ps: PhotoStorage) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules as S3 takes them: only originals change class."""
    lifecycle = ps.spec.storage.lifecycle
    return [
        {
            "ID": RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ORIGINALS_PREFIX},
            "Transitions": [
                {"Days": lifecycle.days_to_ia, "StorageClass": "STANDARD_IA"},
                {"Days": lifecycle.days_to_glacier, "StorageClass": "GLACIER"},
            ],
        }
    ]


def replication_configuration(ps: PhotoStorage) -> dict[str, Any] | None:
    """storage.replication as S3's ReplicationConfiguration: every photo, one rule and
    priority per destination, deletions not replicated (a replica is a copy to restore from)."""
    replication = ps.spec.storage.replication
    if replication is None:
        return None
    partition = replication.role_arn.split(":")[1]  # aws, aws-cn, aws-us-gov
    return {
        "Role": replication.role_arn,
        "Rules": [
            {
                "ID": f"{REPLICATION_RULE_PREFIX}{d.bucket}",
                "Priority": priority,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": f"arn:{partition}:s3:::{d.bucket}"},
            }
            for priority, d in enumerate(replication.destinations, start=1)
        ],
    }


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _not_implemented(error: ClientError) -> bool:
    """versitygw answers 501 with NotImplemented, or VersioningNotConfigured for versioning."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _code(error) in NOT_IMPLEMENTED or status == 501


@dataclass(frozen=True)
class Outcome:
    """What one managed part of the bucket (lifecycle, replication) came to."""

    applied: bool
    reason: str
    message: str


def _apply_lifecycle(s3: Any, bucket: str, rules: list[dict[str, Any]]) -> Outcome:
    try:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
    except ClientError as error:
        if _not_implemented(error):
            message = (
                "the store does not implement lifecycle rules"
                f" (PutBucketLifecycleConfiguration: {_code(error)}): originals are not moved"
                " to colder classes; set storage.lifecycle.enabled=false to stop asking"
            )
            return Outcome(False, reasons.NOT_SUPPORTED_BY_STORE, message)
        raise
    applied = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    if [r.get("ID") for r in applied] != [r["ID"] for r in rules]:
        return Outcome(False, reasons.LIFECYCLE_NOT_APPLIED, f"lifecycle read back {applied}")
    return Outcome(True, reasons.LIFECYCLE_APPLIED, "lifecycle rules applied")


def _apply_replication(s3: Any, bucket: str, configuration: dict[str, Any]) -> Outcome:
    targets = ", ".join(r["Destination"]["Bucket"] for r in configuration["Rules"])
    try:
        # S3 refuses replication from a bucket without versioning.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=configuration)
    except ClientError as error:
        if _not_implemented(error):
            message = (
                f"the store does not implement bucket replication ({error.operation_name}:"
                f" {_code(error)}): photos are not copied to {targets}; remove"
                " storage.replication to stop asking"
            )
            return Outcome(False, reasons.NOT_SUPPORTED_BY_STORE, message)
        raise
    rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    if sorted(r.get("ID", "") for r in rules) != sorted(r["ID"] for r in configuration["Rules"]):
        return Outcome(False, reasons.REPLICATION_NOT_APPLIED, f"replication read back {rules}")
    return Outcome(True, reasons.REPLICATION_APPLIED, f"replicating to {targets}")


def ensure_bucket(
    access: BucketAccess,
    bucket: str,
    rules: list[dict[str, Any]] | None,
    replication: dict[str, Any] | None = None,
) -> Finding:
    s3 = create_s3_client(
        region=access.region,
        endpoint=access.endpoint,
        access_key=access.access_key,
        secret_key=access.secret_key,
    )
    try:
        made = False
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if _code(error) not in {"404", "NoSuchBucket", "NotFound"}:
                raise
            where = (
                {}
                if access.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": access.region}}
            )
            s3.create_bucket(Bucket=bucket, **where)  # type: ignore[arg-type]
            made = True
        said = [f"bucket {bucket} {'created' if made else 'exists'}"]
        outcomes: list[Outcome] = []
        if rules is None:
            said.append("lifecycle not managed")
        else:
            outcomes.append(_apply_lifecycle(s3, bucket, rules))
        if replication is not None:
            outcomes.append(_apply_replication(s3, bucket, replication))
        message = "; ".join(said + [o.message for o in outcomes])
        failed = [o for o in outcomes if not o.applied]
        if failed:
            return Finding(STORAGE_READY, False, failed[0].reason, message)
        reason = outcomes[0].reason if outcomes else reasons.BUCKET_READY
        return Finding(STORAGE_READY, True, reason, message)
    except ClientError as error:
        return Finding(STORAGE_READY, False, reasons.STORAGE_UNAVAILABLE, f"{bucket}: {error}")
    except BotoCoreError as error:
        return Finding(STORAGE_READY, False, reasons.STORAGE_UNAVAILABLE, f"{bucket}: {error}")


def _decoded(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode((secret.get("data") or {}).get(key, "")).decode()


async def storage_secret(op: Operator, key: Key, name: str) -> Obj | None:
    """The storage Secret (None: there is none), read again only once SECRET_REREAD has
    passed: every status pass asks for it, and a key rotation, or a missing Secret made at
    last, is still seen within that time, as a failed check is retried (`background`)."""
    now = time.monotonic()
    kept = op.secrets.get(key)
    if kept is not None and kept.name == name and now - kept.read_at < SECRET_REREAD:
        return kept.secret
    secret = await op.kube.get("v1", "Secret", key[0], name)
    data = None if secret is None else {"data": secret.get("data") or {}}
    op.secrets[key] = KeptSecret(name, now, data)
    return data


async def check_bucket(op: Operator, key: Key, ps: PhotoStorage) -> Finding | None:
    """The StorageReady finding; the check runs in the background. None until the first."""
    storage = ps.spec.storage
    if not storage.manage_bucket:
        stop_check(op, key, "bucket")
        return None
    secret = await storage_secret(op, key, storage.secret_name)
    if secret is None:
        stop_check(op, key, "bucket")
        message = f"Secret {storage.secret_name} (spec.storage.secretName) not found"
        return Finding(STORAGE_READY, False, reasons.SECRET_NOT_FOUND, message)
    access = BucketAccess(
        storage.region,
        storage.endpoint,
        _decoded(secret, "accessKeyId"),
        _decoded(secret, "secretAccessKey"),
    )
    rules = lifecycle_rules(ps) if storage.lifecycle.enabled else None
    version = (ps.generation, digest(secret.get("data") or {}))
    work = partial(ensure_bucket, access, storage.bucket, rules, replication_configuration(ps))
    return check_in_background(op, key, "bucket", version, work)
