"""The apiserver itself rejects bad PhotoStorages (schema + CEL), naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from ps_cluster import REPO_ROOT, Cluster, photostorage, small_spec

INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "api-min-over-max",
        {"api": {"autoscaling": {"enabled": True, "minReplicas": 9, "maxReplicas": 3}}},
        "spec.api.autoscaling.minReplicas",
    ),
    (
        "processor-min-over-max",
        {"processor": {"autoscaling": {"enabled": True, "minReplicas": 9, "maxReplicas": 3}}},
        "spec.processor.autoscaling.minReplicas",
    ),
    (
        "processors-over-partitions",
        {"processor": {"autoscaling": {"enabled": True, "maxReplicas": 200}}},
        "spec.processor.autoscaling.maxReplicas",
    ),
    ("gpu-per-pod-zero", {"processor": {"gpu": {"perPod": 0}}}, "spec.processor.gpu.perPod"),
    ("gpu-per-pod-nine", {"processor": {"gpu": {"perPod": 9}}}, "spec.processor.gpu.perPod"),
    (
        "gpu-node-type-empty",
        {"processor": {"gpu": {"nodeType": ""}}},
        "spec.processor.gpu.nodeType",
    ),
    ("gpu-quota-below-one-pod", {"quota": {"gpus": 0}}, "spec.quota.gpus"),
    (
        "ia-after-glacier",
        {
            "storage": {
                "bucket": "photos",
                "secretName": "s",
                "lifecycle": {"daysToIA": 90, "daysToGlacier": 60},
            }
        },
        "spec.storage.lifecycle.daysToIA",
    ),
    (
        "ia-under-30-days",
        {"storage": {"bucket": "photos", "secretName": "s", "lifecycle": {"daysToIA": 10}}},
        "spec.storage.lifecycle.daysToIA",
    ),
    (
        "requests-over-limits",
        {
            "api": {
                "resources": {
                    "requests": {"cpu": "4", "memory": "1Gi"},
                    "limits": {"cpu": "2", "memory": "2Gi"},
                }
            }
        },
        "requests.cpu must not exceed limits.cpu",
    ),
    (
        "memory-not-a-quantity",
        {
            "processor": {
                "resources": {
                    "requests": {"cpu": 1, "memory": "lots"},
                    "limits": {"cpu": 2, "memory": "4Gi"},
                }
            }
        },
        "spec.processor.resources.requests.memory",
    ),
    (
        "quota-requests-over-limits",
        {
            "quota": {
                "requests": {"cpu": "500", "memory": "1Gi"},
                "limits": {"cpu": "400", "memory": "2Gi"},
            }
        },
        "requests.cpu must not exceed limits.cpu",
    ),
    (
        "database-port",
        {"database": {"host": "db", "secretName": "s", "port": 70000}},
        "spec.database.port",
    ),
    (
        "database-sslmode",
        {"database": {"host": "db", "secretName": "s", "sslMode": "sometimes"}},
        "spec.database.sslMode",
    ),
    ("database-secret-missing", {"database": {"host": "db"}}, "spec.database.secretName"),
    ("kafka-no-brokers", {"kafka": {"brokers": []}}, "spec.kafka.brokers"),
    ("kafka-broker-no-port", {"kafka": {"brokers": ["kafka"]}}, "spec.kafka.brokers[0]"),
    (
        "bucket-name",
        {"storage": {"bucket": "Bad_Bucket", "secretName": "s"}},
        "spec.storage.bucket",
    ),
    ("backup-schedule", {"backup": {"schedule": "every day"}}, "spec.backup.schedule"),
    ("backup-retention", {"backup": {"retentionDays": 0}}, "spec.backup.retentionDays"),
    (
        "rollout-cannot-move",
        {"api": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}},
        "spec.api.rollingUpdate",
    ),
    (
        "max-surge-not-percent",
        {"api": {"rollingUpdate": {"maxSurge": "25"}}},
        "spec.api.rollingUpdate.maxSurge",
    ),
    ("rate-limit-zero", {"api": {"rateLimit": {"requests": 0}}}, "spec.api.rateLimit.requests"),
    (
        "no-api-pods",
        {"api": {"replicas": 0, "autoscaling": {"enabled": False}}},
        "spec.api.replicas",
    ),
    ("version", {"version": "latest"}, "spec.version"),
    (
        "ingress-label-key",
        {"api": {"ingress": {"podLabels": {"bad key!": "x"}}}},
        "spec.api.ingress.podLabels",
    ),
    (
        "ingress-label-value",
        {"api": {"ingress": {"podLabels": {"role": "not valid!"}}}},
        "spec.api.ingress.podLabels.role",
    ),
    ("unknown-field", {"api": {"replica": 3}}, "spec.api.replica"),
]


@pytest.mark.parametrize(("case", "overrides", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_photostorage_is_rejected_naming_the_field(
    cluster: Cluster, case: str, overrides: dict[str, Any], field: str
) -> None:
    spec = small_spec()
    for key, value in overrides.items():
        merge = isinstance(value, dict) and key in ("api", "processor", "quota", "backup")
        spec[key] = {**spec.get(key, {}), **value} if merge else value
    result = cluster.dry_run_create(photostorage(f"invalid-{case}", spec))
    assert result.returncode != 0, f"{case} was accepted"
    assert field in result.stderr, result.stderr


def test_name_longer_than_children_allow_is_rejected(cluster: Cluster) -> None:
    result = cluster.dry_run_create(photostorage("p" * 41, small_spec()))
    assert result.returncode != 0
    assert "metadata.name must be at most 40 characters" in result.stderr


def test_the_small_sample_is_valid(cluster: Cluster) -> None:
    result = cluster.dry_run_create(photostorage("valid", small_spec()))
    assert result.returncode == 0, result.stderr


def test_the_committed_sample_is_valid(cluster: Cluster) -> None:
    sample = REPO_ROOT / "manifests" / "photostorage.yaml"
    result = cluster.run(
        "create", "--dry-run=server", "-n", "default", "-f", str(sample), check=False
    )
    assert result.returncode == 0, result.stderr
