"""The variables the operator gives the workloads are ones their settings classes read.

Both settings classes ignore unknown variables (the ConfigMap is shared), so a misspelt or
renamed variable would be dropped without a word; these tests catch that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from pydantic_settings import BaseSettings

from photostore.api.config import Settings as ApiSettings
from photostore.operator.builders import api, config, processor
from photostore.operator.spec import PhotoStorage
from photostore.processor.config import Settings as ProcessorSettings

MakePs = Callable[..., PhotoStorage]


def known(settings: type[BaseSettings]) -> set[str]:
    return {f"PHOTOSTORE_{name.upper()}" for name in settings.model_fields}


def container_env(deployment: dict[str, Any]) -> dict[str, str]:
    """The literal variables of the first container; secret references get a stand-in."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "from-a-secret") for e in container["env"]}


def load(
    settings: type[BaseSettings],
    ps: PhotoStorage,
    deployment: dict[str, Any],
    mp: pytest.MonkeyPatch,
) -> Any:
    for name, value in {**config.settings(ps), **container_env(deployment)}.items():
        mp.setenv(name, value)
    return settings()


def test_every_configmap_variable_is_read_by_a_workload(make_ps: MakePs) -> None:
    ps = make_ps(
        storage={"bucket": "photos", "secretName": "s3", "endpoint": "http://s3.local:9000"}
    )
    unknown = set(config.settings(ps)) - known(ApiSettings) - known(ProcessorSettings)
    assert unknown == set()


@pytest.mark.parametrize(("gpu", "device"), [(True, "gpu"), (False, "cpu")])
def test_processor_reads_what_its_deployment_sets(
    make_ps: MakePs, monkeypatch: pytest.MonkeyPatch, gpu: bool, device: str
) -> None:
    ps = make_ps(processor={"gpu": {"enabled": gpu}})
    deployment = processor.build_processor_deployment(ps)
    photostore_vars = {n for n in container_env(deployment) if n.startswith("PHOTOSTORE_")}
    assert photostore_vars <= known(ProcessorSettings)
    settings = load(ProcessorSettings, ps, deployment, monkeypatch)
    assert settings.processor_device == device
    assert settings.kafka_group == ps.spec.kafka.consumer_group


def test_api_reads_what_its_deployment_sets(
    make_ps: MakePs, monkeypatch: pytest.MonkeyPatch
) -> None:
    ps = make_ps(api={"rateLimit": {"requests": 7, "windowSeconds": 3}})
    deployment = api.build_api_deployment(ps)
    photostore_vars = {n for n in container_env(deployment) if n.startswith("PHOTOSTORE_")}
    assert photostore_vars <= known(ApiSettings)
    settings = load(ApiSettings, ps, deployment, monkeypatch)
    assert (settings.rate_limit_requests, settings.rate_limit_window_seconds) == (7, 3)
    assert settings.kafka_topic == ps.spec.kafka.topic


def test_api_reads_the_replicas_and_the_redis_cluster_its_deployment_sets(
    make_ps: MakePs, monkeypatch: pytest.MonkeyPatch
) -> None:
    ps = make_ps(
        database={
            "host": "db.example",
            "secretName": "db-creds",
            "replicas": [{"host": "db-replica-0.example"}, {"host": "db-replica-1", "port": 6432}],
            "replicaMaxLagSeconds": 7,
        },
        redis={"cluster": ["redis-0.example:6379", "redis-1.example:6379"]},
    )
    deployment = api.build_api_deployment(ps)
    photostore_vars = {n for n in container_env(deployment) if n.startswith("PHOTOSTORE_")}
    assert photostore_vars <= known(ApiSettings)
    settings = load(ApiSettings, ps, deployment, monkeypatch)
    replicas = [urlparse(url.get_secret_value()) for url in settings.database_replica_urls]
    assert [url.netloc for url in replicas] == [
        "db-replica-0.example:5432",
        "db-replica-1:6432",
    ]
    assert {url.path for url in replicas} == {f"/{ps.spec.database.name}"}
    assert settings.database_replica_max_lag_seconds == 7
    assert [str(node) for node in settings.redis_cluster_nodes] == [
        "redis-0.example:6379",
        "redis-1.example:6379",
    ]
