"""The photo bucket: made when missing, and spec.storage.lifecycle applied as lifecycle rules
(originals to STANDARD_IA, then GLACIER; thumbnails stay STANDARD). The outcome is the
StorageReady condition. A store that does not implement lifecycle rules says so
(NotSupportedByStore) rather than being reported as applied.

The operator reads the Secret named by spec.storage.secretName for this: the same keys the
API uses. Blocking boto3 calls, run in the background (`background`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from photostore.operator import reasons
from photostore.operator.background import check_in_background, stop_check
from photostore.operator.builders.common import digest
from photostore.operator.conditions import Finding
from photostore.operator.spec import PhotoStorage
from photostore.operator.state import Operator
from photostore.operator.workqueue import Key
from photostore.storage import create_s3_client

STORAGE_READY = reasons.STORAGE_READY
RULE_ID = "photostore-originals-to-colder-classes"
ORIGINALS_PREFIX = "originals/"
NOT_IMPLEMENTED = {"NotImplemented", "501"}


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


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ensure_bucket(access: BucketAccess, bucket: str, rules: list[dict[str, Any]] | None) -> Finding:
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
        said = f"bucket {bucket} {'created' if made else 'exists'}"
        if rules is None:
            return Finding(
                STORAGE_READY, True, reasons.BUCKET_READY, f"{said}; lifecycle not managed"
            )
        try:
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket,
                LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
            )
        except ClientError as error:
            if _code(error) in NOT_IMPLEMENTED:
                message = (
                    f"{said}, but the store does not implement lifecycle rules"
                    f" (PutBucketLifecycleConfiguration: {_code(error)}): originals are not moved"
                    " to colder classes; set storage.lifecycle.enabled=false to stop asking"
                )
                return Finding(STORAGE_READY, False, reasons.NOT_SUPPORTED_BY_STORE, message)
            raise
        applied = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        if [r.get("ID") for r in applied] != [r["ID"] for r in rules]:
            return Finding(
                STORAGE_READY, False, reasons.LIFECYCLE_NOT_APPLIED, f"{said}; read back {applied}"
            )
        return Finding(
            STORAGE_READY, True, reasons.LIFECYCLE_APPLIED, f"{said}; lifecycle rules applied"
        )
    except ClientError as error:
        return Finding(STORAGE_READY, False, reasons.STORAGE_UNAVAILABLE, f"{bucket}: {error}")
    except BotoCoreError as error:
        return Finding(STORAGE_READY, False, reasons.STORAGE_UNAVAILABLE, f"{bucket}: {error}")


def _decoded(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode((secret.get("data") or {}).get(key, "")).decode()


async def check_bucket(op: Operator, key: Key, ps: PhotoStorage) -> Finding | None:
    """The StorageReady finding; the check runs in the background. None until the first."""
    storage = ps.spec.storage
    if not storage.manage_bucket:
        stop_check(op, key, "bucket")
        return None
    secret = await op.kube.get("v1", "Secret", ps.namespace, storage.secret_name)
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
    work = partial(ensure_bucket, access, storage.bucket, rules)
    return check_in_background(op, key, "bucket", version, work)
