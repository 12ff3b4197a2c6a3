"""A PhotoStorage whose pods run for real on the environment's kubelet node, sized for this
machine: the one `make demo` applies and the end-to-end tests apply.

2 API pods and 1 processor on the NumPy path (there is no GPU here). The pods reach every
server through the Services of the namespace `photostore`: the API reads from the PostgreSQL
replica and keeps its keys in the Redis Cluster, and the topic has three replicas. The
operator runs on this host, where those names do not resolve, so whoever applies it makes
the Kafka topic itself (`manageTopic: false`).
"""

from __future__ import annotations

from typing import Any

IMAGE_REPOSITORY = "photostore.local/photostore"
IMAGE_TAG = "dev"


def real_node_spec(database: str, bucket: str, topic: str, requests_per_10s: int) -> dict[str, Any]:
    image = {"repository": IMAGE_REPOSITORY, "tag": IMAGE_TAG}
    return {
        "images": {"api": image, "processor": image, "backup": image, "pullPolicy": "Never"},
        "api": {
            "replicas": 2,
            "autoscaling": {"enabled": False},
            "resources": {
                "requests": {"cpu": "50m", "memory": "192Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            "rateLimit": {"requests": requests_per_10s, "windowSeconds": 10},
        },
        "processor": {
            "replicas": 1,
            "gpu": {"enabled": False},
            "resources": {
                "requests": {"cpu": "100m", "memory": "384Mi"},
                "limits": {"cpu": "2", "memory": "3Gi"},
            },
        },
        "quota": {
            "requests": {"cpu": "4", "memory": "8Gi"},
            "limits": {"cpu": "16", "memory": "24Gi"},
            "gpus": 0,
        },
        "database": {
            "host": "postgres.photostore.svc",
            "name": database,
            "sslMode": "disable",
            "secretName": "photostore-db",
            "replicas": [{"host": "postgres-replica.photostore.svc"}],
        },
        # A startup node; the cluster's nodes announce addresses pods reach.
        "redis": {
            "cluster": ["redis-cluster.photostore.svc:6379"],
            "secretName": "photostore-redis",
        },
        "kafka": {
            "brokers": [f"kafka-{i}.photostore.svc:9092" for i in (1, 2, 3)],
            "topic": topic,
            "partitions": 2,
            "replicationFactor": 3,
            "manageTopic": False,
        },
        "storage": {
            "bucket": bucket,
            "endpoint": "http://s3.photostore.svc:80",
            "secretName": "photostore-s3",
        },
    }


def secret(name: str, data: dict[str, str], namespace: str | None = None) -> dict[str, Any]:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "stringData": data,
    }
