"""The operator's apiserver client against the real apiserver's answers."""

from __future__ import annotations

import uuid

import pytest

from photostore.operator.kube import ApiError, KubeClient


async def test_kind_of_an_unserved_api_group_reads_as_absent(kubeconfig: str) -> None:
    # The apiserver answers an unknown group with a plain-text "404 page not found".
    kube = KubeClient()
    try:
        assert await kube.get("absent.photos.example.com/v1", "ConfigMap", "default", "x") is None
        assert not await kube.serves("absent.photos.example.com/v1", "ConfigMap")
    finally:
        await kube.close()


async def test_rejection_carries_the_apiservers_message(kubeconfig: str) -> None:
    kube = KubeClient()
    name = f"Bad_Name_{uuid.uuid4().hex[:6]}"
    try:
        with pytest.raises(ApiError) as rejected:
            await kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": "default"},
                }
            )
    finally:
        await kube.close()
    assert rejected.value.status == 422
    assert "a lowercase RFC 1123 subdomain" in str(rejected.value)
