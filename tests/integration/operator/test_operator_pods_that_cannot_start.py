"""Processors whose containers cannot start turn the PhotoStorage Degraded, naming why.

hack/env/kwok-stages/pod-cannot-start.yaml makes the containers of each test image below
report what a kubelet reports for that failure (an environment started before those stages
existed needs kwok restarted: `make env-down env`)."""

from __future__ import annotations

import pytest
from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec

NAME = "photos"


@pytest.mark.parametrize(
    ("image", "reason", "detail"),
    [
        ("photostore-err-image-pull", "ImagePullBackOff", "failed to pull and unpack image"),
        ("photostore-image-pull-backoff", "ImagePullBackOff", "Back-off pulling image"),
        ("photostore-invalid-image-name", "InvalidImageName", "invalid reference format"),
        (
            "photostore-create-container-config-error",
            "CreateContainerConfigError",
            'secret "photostore-db" not found',
        ),
    ],
    ids=["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"],
)
def test_processors_that_cannot_start_are_degraded(
    cluster: Cluster,
    namespace: str,
    operator: KopfRunner,
    image: str,
    reason: str,
    detail: str,
) -> None:
    stuck = {"repository": f"registry.invalid/{image}", "tag": "test"}
    cluster.apply(photostorage(NAME, small_spec(images={"processor": stuck})), namespace)
    degraded = cluster.wait_condition(NAME, namespace, "Degraded", reason=reason, timeout=60)
    assert "photos-processor-" in degraded["message"]
    assert detail in degraded["message"]
    ready = cluster.condition(NAME, namespace, "Ready")
    assert ready is not None and ready["status"] == "False"
