"""A small PhotoStorage shared by the operator's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from photostore.operator.spec import PhotoStorage, parse

UID = "0b1c2d3e-0000-4000-8000-000000000001"


def minimal_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "database": {"host": "db.example", "secretName": "db-creds"},
        "redis": {"host": "redis.example"},
        "kafka": {"brokers": ["kafka-0:9092", "kafka-1:9092"]},
        "storage": {"bucket": "photos", "secretName": "s3-creds"},
    }
    spec.update(overrides)
    return spec


def make_ps(**overrides: Any) -> PhotoStorage:
    body = {
        "metadata": {"name": "photos", "namespace": "team", "uid": UID, "generation": 3},
        "spec": minimal_spec(**overrides),
    }
    return parse(body)


MakePs = Callable[..., PhotoStorage]


def photostorage_body() -> dict[str, Any]:
    """The whole object of a new PhotoStorage (generation 1) as the apiserver holds it, with a
    topic it does not manage, so that a pass needs no Kafka."""
    return {
        "apiVersion": "photos.example.com/v1alpha1",
        "kind": "PhotoStorage",
        "metadata": {"name": "photos", "namespace": "team", "uid": "u", "generation": 1},
        "spec": minimal_spec(kafka={"brokers": ["k:9092"], "manageTopic": False}),
    }


@pytest.fixture
def ps() -> PhotoStorage:
    return make_ps()


@pytest.fixture(name="make_ps")
def make_ps_fixture() -> MakePs:
    return make_ps


@pytest.fixture(name="minimal_spec")
def minimal_spec_fixture() -> Callable[..., dict[str, Any]]:
    return minimal_spec
