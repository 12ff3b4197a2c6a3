"""storage.replication as S3 replication rules, and StorageReady from what a store answers,
against a fake S3 client (the environment's store implements no replication at all)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import MakePs

from photostore.operator import bucket, reasons
from photostore.operator.bucket import BucketAccess, ensure_bucket, replication_configuration

ROLE = "arn:aws:iam::123456789012:role/photos-replication"
REPLICATION = {
    "roleArn": ROLE,
    "destinations": [
        {"bucket": "photos-dr", "region": "eu-west-1"},
        {"bucket": "photos-copy", "region": "us-east-1"},
    ],
}
ACCESS = BucketAccess("us-east-1", None, "key", "secret")


def _storage(**fields: Any) -> dict[str, Any]:
    return {"bucket": "photos", "secretName": "s3", **fields}


class FakeS3:
    """Answers what it is told to; `refuse` maps an operation to the error code it returns."""

    def __init__(self, refuse: dict[str, tuple[str, int]] | None = None) -> None:
        self.refuse = refuse or {}
        self.replication: dict[str, Any] | None = None
        self.calls: list[str] = []

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.refuse:
            code, status = self.refuse[operation]
            response: Any = {
                "Error": {"Code": code},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            raise ClientError(response, operation)

    def head_bucket(self, Bucket: str) -> None:  # noqa: N803 - boto3's names
        self._call("HeadBucket")

    def put_bucket_lifecycle_configuration(self, **_: Any) -> None:
        self._call("PutBucketLifecycleConfiguration")

    def put_bucket_versioning(self, **_: Any) -> None:
        self._call("PutBucketVersioning")

    def put_bucket_replication(self, ReplicationConfiguration: Any, **_: Any) -> None:  # noqa: N803
        self._call("PutBucketReplication")
        self.replication = ReplicationConfiguration

    def get_bucket_replication(self, **_: Any) -> Any:
        self._call("GetBucketReplication")
        return {"ReplicationConfiguration": self.replication}


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(fake: FakeS3) -> FakeS3:
        monkeypatch.setattr(bucket, "create_s3_client", lambda **_: fake)
        return fake

    return install


def test_one_rule_per_destination_for_every_photo(make_ps: MakePs) -> None:
    configuration = replication_configuration(make_ps(storage=_storage(replication=REPLICATION)))
    assert configuration == {
        "Role": ROLE,
        "Rules": [
            {
                "ID": "photostore-to-photos-dr",
                "Priority": 1,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::photos-dr"},
            },
            {
                "ID": "photostore-to-photos-copy",
                "Priority": 2,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::photos-copy"},
            },
        ],
    }
    china = {**REPLICATION, "roleArn": "arn:aws-cn:iam::123456789012:role/r"}
    configuration = replication_configuration(make_ps(storage=_storage(replication=china)))
    assert configuration is not None
    assert configuration["Rules"][0]["Destination"]["Bucket"] == "arn:aws-cn:s3:::photos-dr"
    assert replication_configuration(make_ps(storage=_storage())) is None


def test_replication_is_applied_after_versioning(make_ps: MakePs, use: Any) -> None:
    s3 = use(FakeS3())
    configuration = replication_configuration(make_ps(storage=_storage(replication=REPLICATION)))
    found = ensure_bucket(ACCESS, "photos", None, configuration)
    assert (found.status, found.reason) == (True, reasons.REPLICATION_APPLIED)
    assert "replicating to arn:aws:s3:::photos-dr, arn:aws:s3:::photos-copy" in found.message
    assert s3.calls == [
        "HeadBucket",
        "PutBucketVersioning",
        "PutBucketReplication",
        "GetBucketReplication",
    ]


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ("PutBucketReplication", "NotImplemented"),
        ("PutBucketVersioning", "VersioningNotConfigured"),
    ],
)
def test_a_store_without_replication_is_not_supported(
    make_ps: MakePs, use: Any, operation: str, code: str
) -> None:
    use(FakeS3(refuse={operation: (code, 501)}))
    configuration = replication_configuration(make_ps(storage=_storage(replication=REPLICATION)))
    found = ensure_bucket(ACCESS, "photos", None, configuration)
    assert (found.status, found.reason) == (False, reasons.NOT_SUPPORTED_BY_STORE)
    assert f"does not implement bucket replication ({operation}: {code})" in found.message
    assert "remove storage.replication to stop asking" in found.message


def test_lifecycle_and_replication_are_both_said(make_ps: MakePs, use: Any) -> None:
    use(FakeS3(refuse={"PutBucketLifecycleConfiguration": ("NotImplemented", 501)}))
    configuration = replication_configuration(make_ps(storage=_storage(replication=REPLICATION)))
    found = ensure_bucket(ACCESS, "photos", [{"ID": "x"}], configuration)
    assert (found.status, found.reason) == (False, reasons.NOT_SUPPORTED_BY_STORE)
    assert "PutBucketLifecycleConfiguration" in found.message
    assert "replicating to" in found.message, "replication is still applied"


def test_a_refusal_that_is_no_501_is_the_store_unavailable(make_ps: MakePs, use: Any) -> None:
    use(FakeS3(refuse={"PutBucketReplication": ("InvalidRequest", 400)}))
    configuration = replication_configuration(make_ps(storage=_storage(replication=REPLICATION)))
    found = ensure_bucket(ACCESS, "photos", None, configuration)
    assert (found.status, found.reason) == (False, reasons.STORAGE_UNAVAILABLE)
    assert "InvalidRequest" in found.message
