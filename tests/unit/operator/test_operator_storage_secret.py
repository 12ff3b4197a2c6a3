"""The storage Secret is read once a SECRET_REREAD, not on every status pass."""

from __future__ import annotations

from dataclasses import replace

from fake_kube import FakeKube

from photostore.operator.bucket import SECRET_REREAD, storage_secret
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.state import Operator

KEY = ("team", "photos")


def operator() -> tuple[Operator, FakeKube]:
    kube = FakeKube()
    return Operator(kube=kube, metrics=OperatorMetrics()), kube  # type: ignore[arg-type]


def secret(name: str, access_key: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "team"},
            "data": {"accessKeyId": access_key}}  # fmt: skip


def reads(kube: FakeKube) -> int:
    return kube.calls.count(("", "secrets", "get"))


async def test_the_secret_is_read_again_only_after_the_reread_time() -> None:
    op, kube = operator()
    kube.put(secret("s3", "first"))
    assert await storage_secret(op, KEY, "s3") == {"data": {"accessKeyId": "first"}}
    kube.put(secret("s3", "rotated"))
    assert await storage_secret(op, KEY, "s3") == {"data": {"accessKeyId": "first"}}
    assert reads(kube) == 1
    kept = op.secrets[KEY]
    op.secrets[KEY] = replace(kept, read_at=kept.read_at - SECRET_REREAD)
    assert await storage_secret(op, KEY, "s3") == {"data": {"accessKeyId": "rotated"}}
    assert reads(kube) == 2


async def test_another_secret_name_is_read_at_once() -> None:
    op, kube = operator()
    kube.put(secret("s3", "first"))
    kube.put(secret("other", "second"))
    await storage_secret(op, KEY, "s3")
    assert await storage_secret(op, KEY, "other") == {"data": {"accessKeyId": "second"}}
    assert reads(kube) == 2


async def test_a_missing_secret_is_looked_for_again_after_the_reread_time() -> None:
    op, kube = operator()
    assert await storage_secret(op, KEY, "s3") is None
    kube.put(secret("s3", "made"))
    assert await storage_secret(op, KEY, "s3") is None
    assert reads(kube) == 1
    kept = op.secrets[KEY]
    op.secrets[KEY] = replace(kept, read_at=kept.read_at - SECRET_REREAD)
    assert await storage_secret(op, KEY, "s3") == {"data": {"accessKeyId": "made"}}
    assert reads(kube) == 2
