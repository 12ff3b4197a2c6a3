"""KafkaTopicReady from what Kafka's metadata says of the replicas, against a fake admin
client: a broker cannot be stopped in the shared environment, so under-replication is
shown to the reconciler here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fake_kube import FakeKube

from photostore.operator import reasons, topic
from photostore.operator.metrics import OperatorMetrics
from photostore.operator.reconcilers import reporting
from photostore.operator.state import Operator

KEY = ("team", "photos")


@dataclass
class Partition:
    id: int
    replicas: list[int]
    isrs: list[int]


@dataclass
class Topic:
    partitions: dict[int, Partition]


class Done:
    def result(self, timeout: float | None = None) -> None:
        return None


@dataclass
class FakeAdmin:
    """list_topics answers the given topics; creations are recorded."""

    topics: dict[str, Topic]
    created: list[Any] = field(default_factory=list)

    def list_topics(self, timeout: float | None = None) -> Any:
        return type("Metadata", (), {"topics": self.topics})()

    def create_topics(self, new: list[Any], request_timeout: float | None = None) -> Any:
        self.created += new
        return {t.topic: Done() for t in new}


def _topic(replicas: int, isrs: list[int] | None = None, partitions: int = 3) -> Topic:
    listed = list(range(1, replicas + 1))
    return Topic(
        {i: Partition(i, listed, isrs if isrs is not None else listed) for i in range(partitions)}
    )


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> FakeAdmin:
    fake = FakeAdmin({})
    monkeypatch.setattr(topic, "_admin", lambda brokers, timeout: fake)
    return fake


def test_healthy_topics_are_ready(admin: FakeAdmin) -> None:
    admin.topics = {"up": _topic(3), "up.dlq": _topic(3)}
    found = topic.ensure_topics(["k:9092"], "up", 3, 3, 2)
    assert (found.status, found.reason) == (True, reasons.TOPIC_EXISTS)


def test_under_replicated_partitions_are_reported(admin: FakeAdmin) -> None:
    admin.topics = {"up": _topic(3, isrs=[1, 3]), "up.dlq": _topic(3)}
    found = topic.ensure_topics(["k:9092"], "up", 3, 3, 2)
    assert (found.status, found.reason) == (False, reasons.UNDER_REPLICATED_PARTITIONS)
    assert "up: 3 of 3 partitions under-replicated" in found.message
    assert "0 (in sync [1, 3] of [1, 2, 3])" in found.message


def test_a_replication_factor_other_than_the_specs_is_reported(admin: FakeAdmin) -> None:
    admin.topics = {"up": _topic(1), "up.dlq": _topic(1)}
    found = topic.ensure_topics(["k:9092"], "up", 3, 3, 2)
    assert (found.status, found.reason) == (False, reasons.REPLICATION_FACTOR_DIFFERS)
    assert "up has replication factor 1, the spec asks for 3" in found.message
    assert "up.dlq has replication factor 1" in found.message


def test_created_topics_get_the_factor_and_min_insync_replicas(admin: FakeAdmin) -> None:
    found = topic.ensure_topics(["k:9092"], "up", 4, 3, 2)
    assert (found.status, found.reason) == (True, reasons.TOPIC_CREATED)
    assert [(t.topic, t.num_partitions, t.replication_factor, t.config) for t in admin.created] == [
        ("up", 4, 3, {"min.insync.replicas": "2"}),
        ("up.dlq", 4, 3, {"min.insync.replicas": "2"}),
    ]


def test_many_lagging_partitions_are_summarised() -> None:
    lagging = [Partition(i, [1, 2, 3], [1]) for i in range(8)]
    (problem,) = topic.replication_problems("up", lagging, 3)
    assert problem[0] == reasons.UNDER_REPLICATED_PARTITIONS
    assert problem[1].endswith("and 3 more") and "8 of 8" in problem[1]


async def test_a_change_of_kafka_topic_ready_posts_an_event() -> None:
    kube = FakeKube()
    op = Operator(kube=kube, metrics=OperatorMetrics())  # type: ignore[arg-type]
    kube.put({"apiVersion": "photos.example.com/v1alpha1", "kind": "PhotoStorage",
              "metadata": {"name": "photos", "namespace": "team", "uid": "u"}})  # fmt: skip
    body = kube.objects[("photos.example.com/v1alpha1", "PhotoStorage", *KEY)]
    behind = {"type": "KafkaTopicReady", "status": "False",
              "reason": "UnderReplicatedPartitions", "message": "up: 1 of 3 ..."}  # fmt: skip
    await reporting.write_status(op, KEY, body, {"conditions": [behind]})
    events = [e for (_, k, _, _), e in kube.objects.items() if k == "Event"]
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "UnderReplicatedPartitions")]
