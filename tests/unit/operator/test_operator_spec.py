from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from photostore.operator.spec import PhotoStorage, PhotoStorageSpec

MakePs = Callable[..., PhotoStorage]
SpecFactory = Callable[..., dict[str, Any]]


def test_defaults_follow_the_deployment_guide(make_ps: MakePs) -> None:
    s = make_ps().spec
    assert s.api.replicas == 10
    assert (s.api.autoscaling.min_replicas, s.api.autoscaling.max_replicas) == (10, 50)
    assert s.api.autoscaling.target_cpu_utilization_percentage == 70
    assert (s.api.rolling_update.max_surge, s.api.rolling_update.max_unavailable) == (3, 1)
    assert (s.api.rate_limit.requests, s.api.rate_limit.window_seconds) == (20, 10)
    assert s.processor.replicas == 20
    assert (s.processor.gpu.node_type, s.processor.gpu.per_pod) == ("nvidia-tesla-t4", 1)
    assert (s.quota.requests.cpu, s.quota.limits.cpu) == ("200", "400")
    assert (s.quota.requests.memory, s.quota.limits.memory) == ("400Gi", "800Gi")
    assert s.quota.persistent_volume_claims == 50
    assert (s.kafka.topic, s.kafka.partitions, s.kafka.replication_factor) == (
        "photoUpload",
        128,
        3,
    )
    assert s.backup.retention_days == 30


def test_camel_case_names_on_the_wire(minimal_spec: SpecFactory) -> None:
    spec = PhotoStorageSpec.model_validate(
        minimal_spec(
            api={"autoscaling": {"targetCPUUtilizationPercentage": 55}},
            storage={
                "bucket": "b-1",
                "secretName": "s",
                "lifecycle": {"daysToIA": 40, "daysToGlacier": 100},
            },
        )
    )
    assert spec.api.autoscaling.target_cpu_utilization_percentage == 55
    assert spec.storage.lifecycle.days_to_ia == 40


def test_missing_database_is_rejected(minimal_spec: SpecFactory) -> None:
    spec = minimal_spec()
    del spec["database"]
    with pytest.raises(ValidationError, match="database"):
        PhotoStorageSpec.model_validate(spec)
