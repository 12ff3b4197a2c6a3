"""The apiserver itself rejects bad PhotoStorages (schema + CEL), naming the field and saying
what is wrong, and admits the valid edge cases: every value is checked the way the system that
consumes it checks it (Kubernetes, Kafka, S3, the image registry), so nothing the apiserver
admits fails later as ApplyFailed."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.error import KafkaException
from ps_cluster import REPO_ROOT, Cluster, photostorage, small_spec

AT_LEAST = "should be greater than or equal to"
AT_MOST = "should be less than or equal to"
CRON = "must be a cron schedule of 5 fields"
QUANTITY = "must be a quantity"
NEGATIVE = "must not be negative"
BROKER = "must be host:port"
PORT = "port must be 1-65535"
TOPIC = "must be a Kafka topic name"
BUCKET = "must be an S3 bucket name"
REPOSITORY = "must be an image repository without tag or digest"
TAG = "must be an image tag"
HOST = "must be a DNS name or an IP address"
SECRET = "must be a Secret name"
NAMESPACE = "must be a DNS label"
URL = "must be an http:// or https:// URL"
INGRESS_HOST = "must be a lowercase DNS name such as photos.example.com"


def _storage(**fields: Any) -> dict[str, Any]:
    return {"storage": {"bucket": "photos", "secretName": "photostore-s3", **fields}}


def _resources(section: str, part: str, cpu: Any = "1", memory: Any = "1Gi") -> dict[str, Any]:
    amounts = {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    amounts[part] = {"cpu": cpu, "memory": memory}
    return {section: {"resources": amounts}}


# (case, spec overrides, field the error names, what the error says), one fault each: the
# apiserver checks the CEL rules only once the OpenAPI bounds pass.
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # cross-field rules
    (
        "api-min-over-max",
        {"api": {"autoscaling": {"enabled": True, "minReplicas": 9, "maxReplicas": 3}}},
        "spec.api.autoscaling.minReplicas",
        "minReplicas must not exceed maxReplicas",
    ),
    (
        "processor-min-over-max",
        {"processor": {"autoscaling": {"enabled": True, "minReplicas": 9, "maxReplicas": 3}}},
        "spec.processor.autoscaling.minReplicas",
        "minReplicas must not exceed maxReplicas",
    ),
    (
        "processors-over-partitions",
        {"processor": {"autoscaling": {"enabled": True, "maxReplicas": 200}}},
        "spec.processor.autoscaling.maxReplicas",
        "must not exceed kafka.partitions",
    ),
    (
        "gpu-quota-below-one-pod",
        {"quota": {"gpus": 0}},
        "spec.quota.gpus",
        "at least one processor pod",
    ),
    (
        "ia-after-glacier",
        _storage(lifecycle={"daysToIA": 90, "daysToGlacier": 60}),
        "spec.storage.lifecycle.daysToIA",
        "daysToIA must be less than daysToGlacier",
    ),
    (
        "requests-over-limits",
        _resources("api", "requests", cpu="4"),
        "spec.api.resources",
        "requests.cpu must not exceed limits.cpu",
    ),
    (
        "quota-requests-over-limits",
        {
            "quota": {
                "requests": {"cpu": "500", "memory": "1Gi"},
                "limits": {"cpu": "400", "memory": "2Gi"},
            }
        },
        "spec.quota",
        "requests.cpu must not exceed limits.cpu",
    ),
    (
        "rollout-cannot-move",
        {"api": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}},
        "spec.api.rollingUpdate",
        "must not both be zero",
    ),
    (
        "no-api-pods",
        {"api": {"replicas": 0, "autoscaling": {"enabled": False}}},
        "spec.api.replicas",
        "at least 1 when api.autoscaling is disabled",
    ),
    # counts, ports, percentages, durations
    (
        "gpu-per-pod-zero",
        {"processor": {"gpu": {"perPod": 0}}},
        "spec.processor.gpu.perPod",
        AT_LEAST,
    ),
    (
        "gpu-per-pod-nine",
        {"processor": {"gpu": {"perPod": 9}}},
        "spec.processor.gpu.perPod",
        AT_MOST,
    ),
    (
        "ia-under-30-days",
        _storage(lifecycle={"daysToIA": 10}),
        "spec.storage.lifecycle.daysToIA",
        AT_LEAST,
    ),
    (
        "glacier-over-100-years",
        _storage(lifecycle={"daysToGlacier": 40000}),
        "spec.storage.lifecycle.daysToGlacier",
        AT_MOST,
    ),
    ("database-port-high", {"database": {"port": 70000}}, "spec.database.port", AT_MOST),
    ("redis-port-zero", {"redis": {"port": 0}}, "spec.redis.port", AT_LEAST),
    ("redis-database-16", {"redis": {"database": 16}}, "spec.redis.database", AT_MOST),
    ("backup-retention", {"backup": {"retentionDays": 0}}, "spec.backup.retentionDays", AT_LEAST),
    (
        "rate-limit-zero",
        {"api": {"rateLimit": {"requests": 0}}},
        "spec.api.rateLimit.requests",
        AT_LEAST,
    ),
    (
        "rate-window-zero",
        {"api": {"rateLimit": {"windowSeconds": 0}}},
        "spec.api.rateLimit.windowSeconds",
        AT_LEAST,
    ),
    ("api-replicas-over-1000", {"api": {"replicas": 1001}}, "spec.api.replicas", AT_MOST),
    (
        "processor-replicas-negative",
        {"processor": {"replicas": -1}},
        "spec.processor.replicas",
        AT_LEAST,
    ),
    (
        "hpa-target-over-100",
        {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 101}}},
        "spec.api.autoscaling.targetCPUUtilizationPercentage",
        AT_MOST,
    ),
    (
        "progress-deadline-5s",
        {"api": {"progressDeadlineSeconds": 5}},
        "spec.api.progressDeadlineSeconds",
        AT_LEAST,
    ),
    ("kafka-partitions-zero", {"kafka": {"partitions": 0}}, "spec.kafka.partitions", AT_LEAST),
    (
        "kafka-replication-11",
        {"kafka": {"replicationFactor": 11}},
        "spec.kafka.replicationFactor",
        AT_MOST,
    ),
    ("quota-gpus-negative", {"quota": {"gpus": -1}}, "spec.quota.gpus", AT_LEAST),
    (
        "max-unavailable-over-100-percent",
        {"api": {"rollingUpdate": {"maxUnavailable": "101%"}}},
        "spec.api.rollingUpdate.maxUnavailable",
        "a percentage must be at most 100%",
    ),
    (
        "max-unavailable-150-percent",
        {"api": {"rollingUpdate": {"maxUnavailable": "150%"}}},
        "spec.api.rollingUpdate.maxUnavailable",
        "a percentage must be at most 100%",
    ),
    (
        "max-surge-not-percent",
        {"api": {"rollingUpdate": {"maxSurge": "25"}}},
        "spec.api.rollingUpdate.maxSurge",
        "non-negative integer or a percentage",
    ),
    (
        "max-surge-negative-percent",
        {"api": {"rollingUpdate": {"maxSurge": "-5%"}}},
        "spec.api.rollingUpdate.maxSurge",
        "non-negative integer or a percentage",
    ),
    (
        "max-unavailable-negative",
        {"api": {"rollingUpdate": {"maxUnavailable": -1}}},
        "spec.api.rollingUpdate.maxUnavailable",
        "non-negative integer or a percentage",
    ),
    # quantities
    (
        "memory-not-a-quantity",
        _resources("processor", "requests", memory="lots"),
        "spec.processor.resources.requests.memory",
        QUANTITY,
    ),
    (
        "memory-with-space",
        _resources("processor", "limits", memory="4 GB"),
        "spec.processor.resources.limits.memory",
        QUANTITY,
    ),
    (
        "negative-memory-string",
        _resources("api", "requests", memory="-1Gi"),
        "spec.api.resources.requests.memory",
        NEGATIVE,
    ),
    (
        "negative-cpu-millis",
        _resources("api", "requests", cpu="-500m"),
        "spec.api.resources.requests.cpu",
        NEGATIVE,
    ),
    (
        "negative-cpu-int",
        _resources("api", "requests", cpu=-1),
        "spec.api.resources.requests.cpu",
        NEGATIVE,
    ),
    (
        "quota-negative-memory",
        {"quota": {"requests": {"cpu": "200", "memory": "-400Gi"}}},
        "spec.quota.requests.memory",
        NEGATIVE,
    ),
    # cron (the CronJob's grammar)
    ("backup-schedule-words", {"backup": {"schedule": "every day"}}, "spec.backup.schedule", CRON),
    ("cron-minute-60", {"backup": {"schedule": "60 * * * *"}}, "spec.backup.schedule", CRON),
    ("cron-hour-24", {"backup": {"schedule": "0 24 * * *"}}, "spec.backup.schedule", CRON),
    ("cron-day-0", {"backup": {"schedule": "0 0 0 * *"}}, "spec.backup.schedule", CRON),
    ("cron-day-32", {"backup": {"schedule": "0 0 32 * *"}}, "spec.backup.schedule", CRON),
    ("cron-month-13", {"backup": {"schedule": "0 0 1 13 *"}}, "spec.backup.schedule", CRON),
    ("cron-weekday-7", {"backup": {"schedule": "0 0 * * 7"}}, "spec.backup.schedule", CRON),
    (
        "cron-weekday-range-to-7",
        {"backup": {"schedule": "0 0 * * 1-7"}},
        "spec.backup.schedule",
        CRON,
    ),
    ("cron-weekday-name", {"backup": {"schedule": "0 0 * * FUN"}}, "spec.backup.schedule", CRON),
    ("cron-step-zero", {"backup": {"schedule": "*/0 * * * *"}}, "spec.backup.schedule", CRON),
    ("cron-four-fields", {"backup": {"schedule": "0 2 * *"}}, "spec.backup.schedule", CRON),
    ("cron-six-fields", {"backup": {"schedule": "0 0 2 * * *"}}, "spec.backup.schedule", CRON),
    (
        "cron-empty-list-item",
        {"backup": {"schedule": "1,,2 * * * *"}},
        "spec.backup.schedule",
        CRON,
    ),
    ("cron-quartz-last-day", {"backup": {"schedule": "0 2 L * *"}}, "spec.backup.schedule", CRON),
    (
        "cron-quartz-nth-weekday",
        {"backup": {"schedule": "0 2 * * MON#2"}},
        "spec.backup.schedule",
        CRON,
    ),
    (
        "cron-range-backwards",
        {"backup": {"schedule": "0 22-6 * * *"}},
        "spec.backup.schedule",
        "must not end before it starts",
    ),
    (
        "cron-stepped-range-backwards",
        {"backup": {"schedule": "50-10/5 * * * *"}},
        "spec.backup.schedule",
        "must not end before it starts",
    ),
    ("cron-reboot", {"backup": {"schedule": "@reboot"}}, "spec.backup.schedule", CRON),
    (
        "cron-time-zone",
        {"backup": {"schedule": "TZ=UTC 0 2 * * *"}},
        "spec.backup.schedule",
        "must not set a time zone",
    ),
    (
        "cron-cron-tz",
        {"backup": {"schedule": "CRON_TZ=Europe/Berlin 0 2 * * *"}},
        "spec.backup.schedule",
        "must not set a time zone",
    ),
    # Kafka
    (
        "kafka-no-brokers",
        {"kafka": {"brokers": []}},
        "spec.kafka.brokers",
        "should have at least 1 items",
    ),
    ("kafka-broker-no-port", {"kafka": {"brokers": ["kafka"]}}, "spec.kafka.brokers[0]", BROKER),
    (
        "kafka-broker-url",
        {"kafka": {"brokers": ["kafka://kafka:9092"]}},
        "spec.kafka.brokers[0]",
        BROKER,
    ),
    (
        "kafka-brokers-comma",
        {"kafka": {"brokers": ["k1:9092,k2:9092"]}},
        "spec.kafka.brokers[0]",
        BROKER,
    ),
    ("kafka-broker-port-zero", {"kafka": {"brokers": ["kafka:0"]}}, "spec.kafka.brokers[0]", PORT),
    (
        "kafka-broker-port-65536",
        {"kafka": {"brokers": ["k:9092", "kafka:65536"]}},
        "spec.kafka.brokers[1]",
        PORT,
    ),
    (
        "kafka-broker-port-99999",
        {"kafka": {"brokers": ["10.0.0.1:99999"]}},
        "spec.kafka.brokers[0]",
        PORT,
    ),
    ("kafka-topic-dot", {"kafka": {"topic": "."}}, "spec.kafka.topic", "must not be '.' or '..'"),
    (
        "kafka-topic-dot-dot",
        {"kafka": {"topic": ".."}},
        "spec.kafka.topic",
        "must not be '.' or '..'",
    ),
    ("kafka-topic-space", {"kafka": {"topic": "photo uploads"}}, "spec.kafka.topic", TOPIC),
    ("kafka-topic-slash", {"kafka": {"topic": "photos/uploads"}}, "spec.kafka.topic", TOPIC),
    (
        "kafka-topic-250",
        {"kafka": {"topic": "t" * 250}},
        "spec.kafka.topic",
        "may not be more than 249",
    ),
    ("kafka-topic-empty", {"kafka": {"topic": ""}}, "spec.kafka.topic", "at least 1 chars long"),
    (
        "kafka-group-space",
        {"kafka": {"consumerGroup": "my group"}},
        "spec.kafka.consumerGroup",
        "must be a consumer group id",
    ),
    # S3 bucket names
    ("bucket-name", _storage(bucket="Bad_Bucket"), "spec.storage.bucket", BUCKET),
    ("bucket-two-chars", _storage(bucket="ab"), "spec.storage.bucket", "at least 3 chars long"),
    (
        "bucket-64-chars",
        _storage(bucket="b" * 64),
        "spec.storage.bucket",
        "may not be more than 63",
    ),
    ("bucket-starts-with-dash", _storage(bucket="-photos"), "spec.storage.bucket", BUCKET),
    ("bucket-ends-with-dot", _storage(bucket="photos."), "spec.storage.bucket", BUCKET),
    (
        "bucket-double-dot",
        _storage(bucket="my..photos"),
        "spec.storage.bucket",
        "two adjacent periods",
    ),
    (
        "bucket-ip-address",
        _storage(bucket="192.168.5.4"),
        "spec.storage.bucket",
        "formatted as an IP address",
    ),
    (
        "bucket-xn-prefix",
        _storage(bucket="xn--photos"),
        "spec.storage.bucket",
        "must not start with",
    ),
    (
        "bucket-sthree-prefix",
        _storage(bucket="sthree-photos"),
        "spec.storage.bucket",
        "must not start with",
    ),
    (
        "bucket-s3alias-suffix",
        _storage(bucket="photos-s3alias"),
        "spec.storage.bucket",
        "must not end with",
    ),
    (
        "bucket-ol-s3-suffix",
        _storage(bucket="photos--ol-s3"),
        "spec.storage.bucket",
        "must not end with",
    ),
    ("backup-bucket-uppercase", {"backup": {"bucket": "Photos"}}, "spec.backup.bucket", BUCKET),
    # images
    (
        "repository-with-tag",
        {"images": {"api": {"repository": "ghcr.io/photostore/photostore:1.0"}}},
        "spec.images.api.repository",
        REPOSITORY,
    ),
    (
        "repository-with-digest",
        {"images": {"processor": {"repository": "ghcr.io/p/gpu@sha256:" + "a" * 64}}},
        "spec.images.processor.repository",
        REPOSITORY,
    ),
    (
        "repository-uppercase-path",
        {"images": {"api": {"repository": "ghcr.io/PhotoStore/photostore"}}},
        "spec.images.api.repository",
        REPOSITORY,
    ),
    (
        "repository-with-scheme",
        {"images": {"api": {"repository": "https://ghcr.io/photostore"}}},
        "spec.images.api.repository",
        REPOSITORY,
    ),
    (
        "repository-double-slash",
        {"images": {"backup": {"repository": "ghcr.io//pg-backup"}}},
        "spec.images.backup.repository",
        REPOSITORY,
    ),
    (
        "repository-trailing-slash",
        {"images": {"api": {"repository": "photostore/"}}},
        "spec.images.api.repository",
        REPOSITORY,
    ),
    (
        "repository-space",
        {"images": {"api": {"repository": "ghcr.io/photo store"}}},
        "spec.images.api.repository",
        REPOSITORY,
    ),
    (
        "tag-leading-dash",
        {"images": {"api": {"repository": "nginx", "tag": "-latest"}}},
        "spec.images.api.tag",
        TAG,
    ),
    (
        "tag-plus",
        {"images": {"api": {"repository": "nginx", "tag": "1.0+build"}}},
        "spec.images.api.tag",
        TAG,
    ),
    (
        "tag-129-chars",
        {"images": {"api": {"repository": "nginx", "tag": "t" * 129}}},
        "spec.images.api.tag",
        "may not be more than 128",
    ),
    ("version", {"version": "latest"}, "spec.version", "must be a release such as 1.2.3"),
    ("version-build-metadata", {"version": "1.2.3+build.5"}, "spec.version", "no '+build'"),
    # hosts, names, labels, URLs
    (
        "database-host-with-port",
        {"database": {"host": "postgres:5432"}},
        "spec.database.host",
        HOST,
    ),
    ("database-host-url", {"database": {"host": "postgresql://db"}}, "spec.database.host", HOST),
    ("redis-host-space", {"redis": {"host": "redis cache"}}, "spec.redis.host", HOST),
    (
        "trusted-proxy-not-a-cidr",
        {"api": {"trustedProxies": ["10.0.0.1"]}},
        "spec.api.trustedProxies[0]",
        "must be a CIDR",
    ),
    ("redis-host-dash", {"redis": {"host": "-redis"}}, "spec.redis.host", HOST),
    (
        "database-sslmode",
        {"database": {"sslMode": "sometimes"}},
        "spec.database.sslMode",
        "Unsupported value",
    ),
    (
        "database-secret-missing",
        {"database": {"secretName": None}},
        "spec.database.secretName",
        "Required value",
    ),
    (
        "database-secret-uppercase",
        {"database": {"secretName": "DB-Secret"}},
        "spec.database.secretName",
        SECRET,
    ),
    ("storage-secret-space", _storage(secretName="s3 creds"), "spec.storage.secretName", SECRET),
    ("redis-secret-bang", {"redis": {"secretName": "redis!"}}, "spec.redis.secretName", SECRET),
    (
        "monitoring-namespace-uppercase",
        {"monitoring": {"namespace": "Monitoring"}},
        "spec.monitoring.namespace",
        NAMESPACE,
    ),
    (
        "ingress-namespace-underscore",
        {"api": {"ingress": {"namespace": "ingress_nginx"}}},
        "spec.api.ingress.namespace",
        NAMESPACE,
    ),
    (
        "gpu-node-type-empty",
        {"processor": {"gpu": {"nodeType": ""}}},
        "spec.processor.gpu.nodeType",
        "at least 1 chars long",
    ),
    (
        "gpu-node-type-space",
        {"processor": {"gpu": {"nodeType": "tesla t4"}}},
        "spec.processor.gpu.nodeType",
        "must be a label value",
    ),
    (
        "ingress-label-key",
        {"api": {"ingress": {"podLabels": {"bad key!": "x"}}}},
        "spec.api.ingress.podLabels",
        "pod label keys must be valid Kubernetes label keys",
    ),
    (
        "ingress-label-value",
        {"api": {"ingress": {"podLabels": {"role": "not valid!"}}}},
        "spec.api.ingress.podLabels[role]",
        "must be a label value",
    ),
    ("endpoint-no-scheme", _storage(endpoint="s3.example.com"), "spec.storage.endpoint", URL),
    ("endpoint-ftp", _storage(endpoint="ftp://s3.example.com"), "spec.storage.endpoint", URL),
    ("endpoint-no-host", _storage(endpoint="https://"), "spec.storage.endpoint", URL),
    # read replicas, Redis Cluster, Kafka replication, the Ingress
    (
        "redis-host-and-cluster",
        {"redis": {"cluster": ["redis-0.redis:6379"]}},
        "spec.redis",
        "exactly one of redis.host (one Redis server) or redis.cluster",
    ),
    (
        "redis-neither-host-nor-cluster",
        {"redis": {"host": None}},
        "spec.redis",
        "exactly one of redis.host (one Redis server) or redis.cluster",
    ),
    (
        "redis-cluster-database-1",
        {"redis": {"host": None, "cluster": ["redis-0:6379"], "database": 1}},
        "spec.redis.database",
        "must be 0 with redis.cluster",
    ),
    (
        "redis-cluster-node-no-port",
        {"redis": {"host": None, "cluster": ["redis-0:6379", "redis-1"]}},
        "spec.redis.cluster[1]",
        BROKER,
    ),
    (
        "redis-cluster-empty",
        {"redis": {"host": None, "cluster": []}},
        "spec.redis.cluster",
        "should have at least 1 items",
    ),
    (
        "database-replica-url",
        {"database": {"replicas": [{"host": "postgresql://replica"}]}},
        "spec.database.replicas[0].host",
        HOST,
    ),
    (
        "database-replica-port",
        {"database": {"replicas": [{"host": "replica", "port": 0}]}},
        "spec.database.replicas[0].port",
        AT_LEAST,
    ),
    (
        "database-17-replicas",
        {"database": {"replicas": [{"host": f"replica-{i}"} for i in range(17)]}},
        "spec.database.replicas",
        "must have at most 16 items",
    ),
    (
        "replica-lag-zero",
        {"database": {"replicaMaxLagSeconds": 0}},
        "spec.database.replicaMaxLagSeconds",
        AT_LEAST,
    ),
    (
        "min-insync-over-replication",
        {"kafka": {"replicationFactor": 2, "minInSyncReplicas": 3}},
        "spec.kafka.minInSyncReplicas",
        "must not exceed kafka.replicationFactor",
    ),
    ("ingress-host-ip", {"ingress": {"host": "10.0.0.1"}}, "spec.ingress.host", INGRESS_HOST),
    (
        "ingress-host-url",
        {"ingress": {"host": "https://photos.example.com"}},
        "spec.ingress.host",
        INGRESS_HOST,
    ),
    (
        "ingress-host-uppercase",
        {"ingress": {"host": "Photos.example.com"}},
        "spec.ingress.host",
        INGRESS_HOST,
    ),
    (
        "ingress-host-missing",
        {"ingress": {"tlsSecretName": "photos-tls"}},
        "spec.ingress.host",
        "Required value",
    ),
    (
        "ingress-burst-not-a-multiple",
        {"ingress": {"host": "p.example.com", "rateLimit": {"requestsPerSecond": 10, "burst": 25}}},
        "spec.ingress.rateLimit.burst",
        "burst must be a multiple of requestsPerSecond",
    ),
    (
        "ingress-controller-traefik",
        {"ingress": {"host": "p.example.com", "controller": "traefik"}},
        "spec.ingress.controller",
        "Unsupported value",
    ),
    (
        "ingress-controller-address",
        {"ingress": {"host": "p.example.com", "controllerAddresses": ["10.1.2.3"]}},
        "spec.ingress.controllerAddresses[0]",
        "must be a CIDR",
    ),
    (
        "ingress-class-uppercase",
        {"ingress": {"host": "p.example.com", "ingressClassName": "NGINX"}},
        "spec.ingress.ingressClassName",
        "must be an IngressClass name",
    ),
    (
        "ingress-tls-secret",
        {"ingress": {"host": "p.example.com", "tlsSecretName": "photos_tls"}},
        "spec.ingress.tlsSecretName",
        SECRET,
    ),
    (
        "ingress-rate-zero",
        {"ingress": {"host": "p.example.com", "rateLimit": {"requests": 0}}},
        "spec.ingress.rateLimit.requests",
        AT_LEAST,
    ),
    (
        "replication-role-not-an-arn",
        _storage(
            replication={
                "roleArn": "photos-replication",
                "destinations": [{"bucket": "photos-dr", "region": "eu-west-1"}],
            }
        ),
        "spec.storage.replication.roleArn",
        "must be an IAM role ARN",
    ),
    (
        "replication-no-destination",
        _storage(replication={"roleArn": "arn:aws:iam::123456789012:role/r", "destinations": []}),
        "spec.storage.replication.destinations",
        "should have at least 1 items",
    ),
    (
        "replication-destination-bucket",
        _storage(
            replication={
                "roleArn": "arn:aws:iam::123456789012:role/r",
                "destinations": [{"bucket": "Photos_DR", "region": "eu-west-1"}],
            }
        ),
        "spec.storage.replication.destinations[0].bucket",
        BUCKET,
    ),
    ("unknown-field", {"api": {"replica": 3}}, "spec.api.replica", "unknown field"),
]

# Edge cases the consuming systems accept, so the apiserver must admit them too.
VALID: list[tuple[str, dict[str, Any]]] = [
    ("trusted-proxies-v4-and-v6", {"api": {"trustedProxies": ["10.0.0.0/8", "fd00::/8"]}}),
    ("cron-business-hours", {"backup": {"schedule": "*/15 9-17 * * MON-FRI"}}),
    ("cron-names-any-case", {"backup": {"schedule": "0 0 1 jan sun"}}),
    ("cron-lists-ranges-steps", {"backup": {"schedule": "5,35 */2 1-15/3 1,6,12 0-6"}}),
    ("cron-question-mark", {"backup": {"schedule": "0 0 ? * *"}}),
    ("cron-leading-zeros", {"backup": {"schedule": "00 02 01 01 *"}}),
    ("cron-value-with-step", {"backup": {"schedule": "5/10 * * * *"}}),
    ("cron-one-value-range", {"backup": {"schedule": "0 0-0 * * *"}}),
    ("cron-extremes", {"backup": {"schedule": "59 23 31 12 6"}}),
    ("cron-daily", {"backup": {"schedule": "@daily"}}),
    ("cron-midnight", {"backup": {"schedule": "@midnight"}}),
    ("cron-annually", {"backup": {"schedule": "@annually"}}),
    ("cron-every", {"backup": {"schedule": "@every 6h30m"}}),
    ("max-unavailable-100-percent", {"api": {"rollingUpdate": {"maxUnavailable": "100%"}}}),
    ("max-surge-200-percent", {"api": {"rollingUpdate": {"maxSurge": "200%"}}}),
    (
        "max-surge-zero-unavailable-percent",
        {"api": {"rollingUpdate": {"maxSurge": "0%", "maxUnavailable": "25%"}}},
    ),
    ("quantity-decimal-and-exponent", _resources("api", "requests", cpu="0.5", memory="1e9")),
    ("quantity-integers", _resources("api", "requests", cpu=1, memory=536870912)),
    ("quantity-zero", _resources("api", "requests", cpu="0", memory=0)),
    (
        "kafka-brokers-all-forms",
        {
            "kafka": {
                "brokers": [
                    "kafka-0.kafka.svc:9092",
                    "10.0.0.5:9093",
                    "[fd00::1]:9092",
                    "kafka:65535",
                    "k:1",
                ]
            }
        },
    ),
    ("kafka-topic-one-char", {"kafka": {"topic": "a"}}),
    ("kafka-topic-249", {"kafka": {"topic": "t" * 249}}),
    ("kafka-topic-dots-and-more", {"kafka": {"topic": "...photo_uploads.v2-x"}}),
    ("bucket-three-chars", _storage(bucket="abc")),
    ("bucket-63-chars", _storage(bucket="b" * 63)),
    ("bucket-dots-and-dashes", _storage(bucket="my.photos-2")),
    ("bucket-starts-with-digit", _storage(bucket="1photos")),
    ("bucket-looks-almost-like-ip", _storage(bucket="192.168.5.4a")),
    ("bucket-xn-single-dash", _storage(bucket="xn-photos")),
    ("endpoint-http-with-port", _storage(endpoint="http://127.0.0.1:17070")),
    ("endpoint-https", _storage(endpoint="https://s3.eu-central-1.amazonaws.com")),
    ("repository-single-name", {"images": {"api": {"repository": "nginx"}}}),
    ("repository-registry-port", {"images": {"api": {"repository": "localhost:5000/photostore"}}}),
    (
        "repository-separators",
        {
            "images": {
                "api": {"repository": "registry.example.com:5000/team/photo_store/a__b/c---d.e"}
            }
        },
    ),
    ("repository-ipv6-registry", {"images": {"api": {"repository": "[fd00::1]:5000/photostore"}}}),
    ("tag-underscore-first", {"images": {"api": {"repository": "nginx", "tag": "_build-1.2"}}}),
    ("tag-128-chars", {"images": {"api": {"repository": "nginx", "tag": "t" * 128}}}),
    ("version-prerelease", {"version": "v1.2.3-rc.1"}),
    ("database-host-ipv4", {"database": {"host": "10.0.0.5"}}),
    ("database-host-ipv6", {"database": {"host": "fd00::5"}}),
    ("redis-host-fqdn-mixed-case", {"redis": {"host": "Redis.Example.COM"}}),
    (
        "ingress-labels-prefixed",
        {"api": {"ingress": {"podLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}},
    ),
    ("gpu-node-type", {"processor": {"gpu": {"nodeType": "nvidia-a100-80gb"}}}),
    ("ports-at-the-bounds", {"database": {"port": 1}, "redis": {"port": 65535}}),
    (
        "redis-cluster",
        {
            "redis": {
                "host": None,
                "cluster": ["redis-0.redis:6379", "10.0.0.5:7000", "[fd00::1]:6379"],
            }
        },
    ),
    (
        "database-16-replicas",
        {
            "database": {
                "replicas": [{"host": f"replica-{i}.db"} for i in range(15)]
                + [{"host": "fd00::7", "port": 6432}]
            }
        },
    ),
    (
        "min-insync-equal-to-replication",
        {"kafka": {"replicationFactor": 3, "minInSyncReplicas": 3}},
    ),
    ("ingress-host-only", {"ingress": {"host": "photos.example.com"}}),
    (
        "ingress-everything",
        {
            "ingress": {
                "host": "photos-api.eu-1.example.com",
                "tlsSecretName": "photos-tls",
                "ingressClassName": "haproxy",
                "controller": "haproxy",
                "rateLimit": {
                    "requestsPerSecond": 7,
                    "burst": 21,
                    "requests": 100,
                    "periodSeconds": 60,
                },
                "controllerAddresses": ["10.244.0.0/16", "fd00:10:244::/56"],
            }
        },
    ),
]


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` merged in, dicts recursively; None removes a key."""
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def spec_with(overrides: dict[str, Any]) -> dict[str, Any]:
    return _merged(small_spec(), overrides)


@pytest.mark.parametrize(
    ("case", "overrides", "field", "what"), INVALID, ids=[c[0] for c in INVALID]
)
def test_invalid_photostorage_is_rejected_naming_the_field(
    cluster: Cluster, case: str, overrides: dict[str, Any], field: str, what: str
) -> None:
    result = cluster.dry_run_create(photostorage(f"invalid-{case}", spec_with(overrides)))
    assert result.returncode != 0, f"{case} was accepted"
    # "spec.x: Invalid value ..." or, for an unknown field, 'unknown field "spec.x"'
    assert f"{field}: " in result.stderr or f'"{field}"' in result.stderr, result.stderr
    assert what in result.stderr, result.stderr


@pytest.mark.parametrize(("case", "overrides"), VALID, ids=[c[0] for c in VALID])
def test_valid_edge_case_is_admitted(
    cluster: Cluster, case: str, overrides: dict[str, Any]
) -> None:
    result = cluster.dry_run_create(photostorage(f"valid-{case}", spec_with(overrides)))
    assert result.returncode == 0, result.stderr


def _cases_setting(*path: str) -> list[tuple[str, Any, bool]]:
    """(case, value, admitted) for every table case that sets the value at `path`."""
    found = []
    for case, overrides, admitted in [(c[0], c[1], False) for c in INVALID] + [
        (c[0], c[1], True) for c in VALID
    ]:
        node: Any = overrides
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            found.append((case, node, admitted))
    return found


# Where the schema is deliberately stricter than the system behind the field.
STRICTER_THAN_THE_CRONJOB = {"cron-empty-list-item"}


def _cronjob(schedule: str) -> dict[str, Any]:
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "schedule-check"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }


def test_schedules_are_judged_as_the_cronjob_judges_them(cluster: Cluster) -> None:
    cases = _cases_setting("backup", "schedule")
    assert len(cases) > 25
    for case, schedule, admitted in cases:
        cronjob = cluster.dry_run_create(_cronjob(schedule))
        expected = admitted or case in STRICTER_THAN_THE_CRONJOB
        assert (cronjob.returncode == 0) == expected, f"{case}: {schedule!r} {cronjob.stderr}"


def _deployment(rolling_update: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": "rollout-check"}
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 1}}
    strategy["rollingUpdate"].update(rolling_update)
    container = {"name": "c", "image": "busybox"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "rollout-check"},
        "spec": {
            "selector": {"matchLabels": labels},
            "strategy": strategy,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def test_rolling_updates_are_judged_as_the_deployment_judges_them(cluster: Cluster) -> None:
    cases = _cases_setting("api", "rollingUpdate")
    assert len(cases) >= 8
    for case, rolling_update, admitted in cases:
        deployment = cluster.dry_run_create(_deployment(rolling_update))
        assert (deployment.returncode == 0) == admitted, f"{case}: {deployment.stderr}"


def _pod(resources: dict[str, Any]) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox", "resources": resources}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "resources-check"},
        "spec": {"containers": [container]},
    }


def test_container_resources_are_judged_as_the_pod_judges_them(cluster: Cluster) -> None:
    cases = _cases_setting("api", "resources") + _cases_setting("processor", "resources")
    assert len(cases) >= 9
    for case, resources, admitted in cases:
        pod = cluster.dry_run_create(_pod(resources))
        assert (pod.returncode == 0) == admitted, f"{case}: {pod.stderr}"


def test_topic_names_are_judged_as_kafka_judges_them(env: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": env["PHOTOSTORE_KAFKA_BROKERS"]})
    cases = [c for c in _cases_setting("kafka", "topic") if c[1]]  # the client refuses ""
    assert len(cases) >= 7
    for case, topic, admitted in cases:
        future = admin.create_topics([NewTopic(topic, 1, 1)], validate_only=True)[topic]
        try:
            future.result(timeout=10)
            accepted = True
        except KafkaException:
            accepted = False
        assert accepted == admitted, case


def test_kafka_partitions_cannot_shrink(cluster: Cluster, namespace: str) -> None:
    spec = small_spec(kafka={"partitions": 64})
    cluster.apply(photostorage("photos", spec), namespace)
    fewer = photostorage("photos", _merged(spec, {"kafka": {"partitions": 32}}))
    result = cluster.run(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=yaml.safe_dump(fewer),
        check=False,
    )
    assert result.returncode != 0
    assert "spec.kafka.partitions: " in result.stderr
    assert "kafka.partitions cannot shrink" in result.stderr


@pytest.mark.parametrize(
    "change",
    [{"partitions": 64}, {"partitions": 96}, {"partitions": 16, "topic": "photoUploadV2"}],
    ids=["unchanged", "grown", "shrunk-with-a-new-topic"],
)
def test_kafka_partitions_may_stay_grow_or_start_over_on_a_new_topic(
    cluster: Cluster, namespace: str, change: dict[str, Any]
) -> None:
    spec = small_spec(kafka={"partitions": 64})
    cluster.apply(photostorage("photos", spec), namespace)
    changed = photostorage("photos", _merged(spec, {"kafka": change}))
    result = cluster.run(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=yaml.safe_dump(changed),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_name_longer_than_children_allow_is_rejected(cluster: Cluster) -> None:
    result = cluster.dry_run_create(photostorage("p" * 41, small_spec()))
    assert result.returncode != 0
    assert "metadata.name must be at most 40 characters" in result.stderr


def test_the_small_sample_is_valid(cluster: Cluster) -> None:
    result = cluster.dry_run_create(photostorage("valid", small_spec()))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("sample", ["photostorage.yaml", "photostorage-topology.yaml"])
def test_the_committed_sample_is_valid(cluster: Cluster, sample: str) -> None:
    path = REPO_ROOT / "manifests" / sample
    result = cluster.run(
        "create", "--dry-run=server", "-n", "default", "-f", str(path), check=False
    )
    assert result.returncode == 0, result.stderr
