"""The photo bucket on the real S3 store (versitygw): made when missing, and the lifecycle
rules reported as the store answers them. versitygw answers NotImplemented to lifecycle and
replication calls, so StorageReady says NotSupportedByStore instead of pretending."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import boto3
import pytest
from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec

NAME = "photos"


@pytest.fixture
def store(env: dict[str, str], cluster: Cluster, namespace: str) -> Iterator[tuple[str, object]]:
    """A bucket name nobody made yet, and the Secret with the store's keys."""
    s3 = boto3.client("s3", endpoint_url=env["PHOTOSTORE_S3_ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id=env["PHOTOSTORE_S3_ACCESS_KEY"],
                      aws_secret_access_key=env["PHOTOSTORE_S3_SECRET_KEY"])  # fmt: skip
    cluster.run("create", "secret", "generic", "store-keys", "-n", namespace,
                f"--from-literal=accessKeyId={env['PHOTOSTORE_S3_ACCESS_KEY']}",
                f"--from-literal=secretAccessKey={env['PHOTOSTORE_S3_SECRET_KEY']}")  # fmt: skip
    bucket = f"ps-{uuid.uuid4().hex[:12]}"
    yield bucket, s3
    with contextlib.suppress(s3.exceptions.ClientError):
        s3.delete_bucket(Bucket=bucket)


def storage(env: dict[str, str], bucket: str, lifecycle: bool) -> dict[str, object]:
    return {"bucket": bucket, "secretName": "store-keys",
            "endpoint": env["PHOTOSTORE_S3_ENDPOINT"], "manageBucket": True,
            "lifecycle": {"enabled": lifecycle}}  # fmt: skip


def test_a_missing_bucket_is_made_and_unsupported_lifecycle_is_said(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner,
    store: tuple[str, object],
) -> None:  # fmt: skip
    bucket, s3 = store
    cluster.apply(photostorage(NAME, small_spec(storage=storage(env, bucket, True))), namespace)
    found = cluster.wait_condition(
        NAME, namespace, "StorageReady", status="False", reason="NotSupportedByStore"
    )
    assert f"bucket {bucket} created" in found["message"]
    assert "PutBucketLifecycleConfiguration" in found["message"]
    s3.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    ready = cluster.condition(NAME, namespace, "Ready")
    assert ready is not None, "storage does not gate Ready"

    cluster.apply(photostorage(NAME, small_spec(storage=storage(env, bucket, False))), namespace)
    found = cluster.wait_condition(NAME, namespace, "StorageReady", reason="BucketReady")
    assert f"bucket {bucket} exists" in found["message"]


def test_a_missing_secret_is_named(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner
) -> None:
    spec = small_spec(storage={**storage(env, "nowhere", False), "secretName": "absent"})
    cluster.apply(photostorage(NAME, spec), namespace)
    found = cluster.wait_condition(
        NAME, namespace, "StorageReady", status="False", reason="SecretNotFound"
    )
    assert "absent" in found["message"]


def test_replication_on_a_store_without_it_is_said(
    cluster: Cluster, env: dict[str, str], namespace: str, operator: KopfRunner,
    store: tuple[str, object],
) -> None:  # fmt: skip
    bucket, _ = store
    replication = {"roleArn": "arn:aws:iam::123456789012:role/photos-replication",
                   "destinations": [{"bucket": "photos-dr", "region": "eu-west-1"}]}  # fmt: skip
    spec = small_spec(storage={**storage(env, bucket, False), "replication": replication})
    cluster.apply(photostorage(NAME, spec), namespace)
    found = cluster.wait_condition(
        NAME, namespace, "StorageReady", status="False", reason="NotSupportedByStore"
    )
    # versitygw answers 501 to versioning (which S3 replication needs) and to replication.
    assert "the store does not implement bucket replication (PutBucket" in found["message"]
    assert "arn:aws:s3:::photos-dr" in found["message"]
    events = cluster.list("events", namespace, "")
    assert not any(e["reason"] == "ReplicationApplied" for e in events)

    cluster.apply(photostorage(NAME, small_spec(storage=storage(env, bucket, False))), namespace)
    found = cluster.wait_condition(NAME, namespace, "StorageReady", reason="BucketReady")
    assert "replication" not in found["message"]
