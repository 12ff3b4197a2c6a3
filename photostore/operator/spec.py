"""The PhotoStorage custom resource: the only place its fields are declared.

`photostore.operator.crd` turns these models into the CRD's OpenAPI schema, so field names,
defaults, bounds, descriptions (what `kubectl explain` shows) and the CEL rules for
cross-field checks all live here. The operator parses the live object with the same models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from photostore.operator.grammars import (
    BROKER_RULES,
    CONSUMER_GROUP_RULES,
    CRON_RULES,
    DNS_LABEL_RULES,
    HOST_RULES,
    IMAGE_REPOSITORY_RULES,
    IMAGE_TAG_RULES,
    LABEL_KEY_RULE,
    LABEL_VALUE_RULES,
    QUANTITY_RULES,
    S3_BUCKET_RULES,
    SECRET_NAME_RULES,
    TOPIC_RULES,
    URL_RULES,
    VERSION_RULES,
    int_or_percent_rules,
    matches,
    rule,
    rules,
)

GROUP = "photos.example.com"
VERSION = "v1alpha1"
KIND = "PhotoStorage"
PLURAL = "photostorages"
SINGULAR = "photostorage"
SHORT_NAMES = ["ps", "photostore"]


def _checked(*entries: dict[str, str]) -> Any:
    """Type metadata carrying CEL rules (a field using the type must not set its own)."""
    return Field(json_schema_extra=rules(*entries))


def _int_or_string(max_length: int, *entries: dict[str, str]) -> Any:
    return Field(
        json_schema_extra={
            "x-kubernetes-int-or-string": True,
            "maxLength": max_length,
            **rules(*entries),
        }
    )


# Kubernetes quantity: an integer or a string such as "500m" or "2Gi", never negative.
Quantity = Annotated[int | str, _int_or_string(64, *QUANTITY_RULES)]
# An integer count or a percentage such as "25%", as Deployment's rollingUpdate takes them:
# maxUnavailable is at most 100%, maxSurge may exceed it.
CountOrPercent = Annotated[int | str, _int_or_string(16, *int_or_percent_rules(None))]
CountOrPercentUpTo100 = Annotated[int | str, _int_or_string(16, *int_or_percent_rules(100))]
SecretName = Annotated[str, Field(min_length=1, max_length=253), _checked(*SECRET_NAME_RULES)]
Host = Annotated[str, Field(min_length=1, max_length=253), _checked(*HOST_RULES)]
Namespace = Annotated[str, Field(min_length=1, max_length=63), _checked(*DNS_LABEL_RULES)]
LabelValue = Annotated[str, Field(max_length=63), _checked(*LABEL_VALUE_RULES)]
S3Bucket = Annotated[str, Field(min_length=3, max_length=63), _checked(*S3_BUCKET_RULES)]
Cidr = Annotated[
    str,
    Field(max_length=64),
    _checked(rule("isCIDR(self)", "must be a CIDR such as 10.0.0.0/8 or fd00::/8")),
]


class Model(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are the apiserver's job."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def quantity_le(left: str, right: str) -> str:
    """CEL: quantity `left` <= quantity `right`, for fields that are int-or-string."""
    return f"quantity(string(self.{left})).compareTo(quantity(string(self.{right}))) <= 0"


REQUESTS_WITHIN_LIMITS = rules(
    *(
        rule(
            quantity_le(f"requests.{r}", f"limits.{r}"), f"requests.{r} must not exceed limits.{r}"
        )
        for r in ("cpu", "memory")
    )
)


class ComputeResources(Model):
    cpu: Quantity = Field(description="CPU, in cores or millicores (e.g. 500m).")
    memory: Quantity = Field(description="Memory, in bytes or with a suffix (e.g. 512Mi).")


class Resources(Model):
    model_config = ConfigDict(json_schema_extra=REQUESTS_WITHIN_LIMITS)
    requests: ComputeResources = Field(description="What the scheduler reserves per container.")
    limits: ComputeResources = Field(description="The most a container may use.")


class ImageRef(Model):
    repository: Annotated[str, _checked(*IMAGE_REPOSITORY_RULES)] = Field(
        min_length=1,
        max_length=255,
        description="Image repository, without tag or digest (e.g. ghcr.io/photostore/photostore).",
    )
    tag: Annotated[str, _checked(*IMAGE_TAG_RULES)] | None = Field(
        default=None,
        max_length=128,
        description="Image tag. Default: spec.version.",
    )


class Images(Model):
    api: ImageRef = Field(
        default_factory=lambda: ImageRef(repository="ghcr.io/photostore/photostore"),
        description="Image of the HTTP API (also runs the schema migration Job).",
    )
    processor: ImageRef = Field(
        default_factory=lambda: ImageRef(repository="ghcr.io/photostore/photostore-gpu"),
        description="Image of the GPU processor.",
    )
    backup: ImageRef = Field(
        default_factory=lambda: ImageRef(repository="ghcr.io/photostore/photostore"),
        description="Image of the backup CronJob (`photostore backup`): the project image,"
        " built with the PostgreSQL client of the server's major version (PG_MAJOR).",
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="imagePullPolicy of every container."
    )


class RollingUpdate(Model):
    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "!(string(self.maxSurge) in ['0', '0%']"
                " && string(self.maxUnavailable) in ['0', '0%'])",
                "maxSurge and maxUnavailable must not both be zero",
            )
        )
    )
    max_surge: CountOrPercent = Field(
        default=3,
        description="Pods above the wanted count allowed during a rollout: a count or a"
        " percentage of the wanted pods (may exceed 100%).",
    )
    max_unavailable: CountOrPercentUpTo100 = Field(
        default=1,
        description="Pods that may be unavailable during a rollout: a count or a percentage"
        " of the wanted pods, at most 100%.",
    )


MIN_LE_MAX = rule(
    "self.minReplicas <= self.maxReplicas",
    "minReplicas must not exceed maxReplicas",
    ".minReplicas",
)


class ApiAutoscaling(Model):
    model_config = ConfigDict(json_schema_extra=rules(MIN_LE_MAX))
    enabled: bool = Field(default=True, description="Let a HorizontalPodAutoscaler own replicas.")
    min_replicas: int = Field(default=10, ge=1, le=1000, description="Fewest API pods.")
    max_replicas: int = Field(default=50, ge=1, le=1000, description="Most API pods.")
    target_cpu_utilization_percentage: int = Field(
        default=70,
        alias="targetCPUUtilizationPercentage",
        ge=1,
        le=100,
        description="Average CPU utilisation the HPA aims for, in percent of requests.cpu.",
    )


class RateLimit(Model):
    requests: int = Field(
        default=20, ge=1, le=100000, description="Uploads allowed per client per window."
    )
    window_seconds: int = Field(
        default=10, ge=1, le=3600, description="Length of the window, in seconds."
    )


class IngressPeers(Model):
    namespace: Namespace = Field(
        default="ingress-nginx",
        description="Namespace of the ingress controller / load balancer allowed to reach the API.",
    )
    pod_labels: dict[str, LabelValue] = Field(
        default_factory=lambda: {"photos.example.com/ingress": "true"},
        max_length=16,
        json_schema_extra=rules(LABEL_KEY_RULE),
        description="Pods with these labels, in any namespace, may also reach the API on 8080.",
    )


class Workload(Model):
    """What the API and the processor Deployments have in common."""

    progress_deadline_seconds: int = Field(
        default=600,
        ge=10,
        le=86400,
        description="Seconds a rollout may make no progress before it counts as stalled"
        " (Degraded, reason ProgressDeadlineExceeded).",
    )


class ApiSpec(Workload):
    replicas: int = Field(
        default=10, ge=0, le=1000, description="API pods when autoscaling is disabled."
    )
    resources: Resources = Field(
        default_factory=lambda: Resources(
            requests=ComputeResources(cpu="500m", memory="512Mi"),
            limits=ComputeResources(cpu="2", memory="2Gi"),
        ),
        description="Resources of each API container.",
    )
    rolling_update: RollingUpdate = Field(
        default_factory=RollingUpdate, description="How the API Deployment replaces its pods."
    )
    autoscaling: ApiAutoscaling = Field(
        default_factory=ApiAutoscaling, description="CPU-driven HorizontalPodAutoscaler."
    )
    rate_limit: RateLimit = Field(
        default_factory=RateLimit, description="Per-client upload rate limit of the API."
    )
    ingress: IngressPeers = Field(
        default_factory=IngressPeers,
        description="Who may reach the API pods (their NetworkPolicy).",
    )
    trusted_proxies: list[Cidr] = Field(
        default_factory=list,
        max_length=64,
        description="CIDRs of the ingress controllers or load balancers in front of the API"
        " (the addresses of the ingress controller's pods, or of the nodes when the controller"
        " runs on the host network): only from these is X-Forwarded-For believed, so that"
        " rate limits count real clients. spec.ingress.controllerAddresses are added to"
        " these. Empty: every client is its TCP peer.",
    )


class Gpu(Model):
    enabled: bool = Field(default=True, description="Schedule the processor on the GPU pool.")
    node_type: LabelValue = Field(
        default="nvidia-tesla-t4",
        min_length=1,
        description="Value of the nodes' `accelerator` label.",
    )
    per_pod: int = Field(default=1, ge=1, le=8, description="nvidia.com/gpu per processor pod.")


class LagAutoscaling(Model):
    model_config = ConfigDict(json_schema_extra=rules(MIN_LE_MAX))
    enabled: bool = Field(default=False, description="Scale processors from Kafka consumer lag.")
    min_replicas: int = Field(default=2, ge=0, le=1000, description="Fewest processor pods.")
    max_replicas: int = Field(default=40, ge=1, le=1000, description="Most processor pods.")
    target_lag_per_replica: int = Field(
        default=1000, ge=1, le=10_000_000, description="Unprocessed messages per processor pod."
    )
    scale_down_stabilization_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="Processors are removed only once the lag has asked for fewer for this long"
        " (the highest count asked for within the window is kept).",
    )


class ProcessorSpec(Workload):
    replicas: int = Field(
        default=20, ge=0, le=1000, description="Processor pods when autoscaling is disabled."
    )
    resources: Resources = Field(
        default_factory=lambda: Resources(
            requests=ComputeResources(cpu="1", memory="2Gi"),
            limits=ComputeResources(cpu="2", memory="4Gi"),
        ),
        description="CPU and memory of each processor container (GPUs come from gpu).",
    )
    gpu: Gpu = Field(default_factory=Gpu, description="GPUs of each processor pod.")
    autoscaling: LagAutoscaling = Field(
        default_factory=LagAutoscaling,
        description="Processor count from the Kafka consumer lag (operator-driven).",
    )


class QuotaAmounts(Model):
    cpu: Quantity = Field(description="CPU, in cores or millicores (e.g. 200).")
    memory: Quantity = Field(description="Memory, in bytes or with a suffix (e.g. 400Gi).")


class Quota(Model):
    model_config = ConfigDict(json_schema_extra=REQUESTS_WITHIN_LIMITS)
    enabled: bool = Field(default=True, description="Manage a ResourceQuota and LimitRange.")
    requests: QuotaAmounts = Field(
        default_factory=lambda: QuotaAmounts(cpu="200", memory="400Gi"),
        description="requests.cpu / requests.memory for the namespace.",
    )
    limits: QuotaAmounts = Field(
        default_factory=lambda: QuotaAmounts(cpu="400", memory="800Gi"),
        description="limits.cpu / limits.memory for the namespace.",
    )
    gpus: int = Field(default=40, ge=0, le=10000, description="requests.nvidia.com/gpu.")
    persistent_volume_claims: int = Field(
        default=50, ge=0, le=10000, description="PersistentVolumeClaims in the namespace."
    )


class DatabaseReplica(Model):
    host: Host = Field(description="Replica host: a DNS name or an IP address.")
    port: int = Field(default=5432, ge=1, le=65535, description="Replica port.")


class Database(Model):
    host: Host = Field(description="PostgreSQL host: a DNS name or an IP address.")
    port: int = Field(default=5432, ge=1, le=65535, description="PostgreSQL port.")
    name: str = Field(
        default="photostore", min_length=1, max_length=63, description="Database name."
    )
    ssl_mode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="require", description="libpq sslmode."
    )
    secret_name: SecretName = Field(
        description="Secret with keys `username` and `password` (never inlined)."
    )
    replicas: list[DatabaseReplica] = Field(
        default_factory=list,
        max_length=16,
        description="Streaming replicas of the database for read-only traffic: the API sends"
        " listing, search and download-URL reads there, writes and reads that must see them to"
        " the primary. Same database name, credentials Secret and sslMode as the primary. The"
        " schema migration and the backups always run on the primary.",
    )
    replica_max_lag_seconds: int = Field(
        default=10,
        ge=1,
        le=3600,
        description="How far, in seconds of replay, a replica may be behind the primary before"
        " the API stops reading from it and reads from the primary instead.",
    )


HostPort = Annotated[str, Field(max_length=260), _checked(*BROKER_RULES)]


class Redis(Model):
    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "has(self.host) != has(self.cluster)",
                "exactly one of redis.host (one Redis server) or redis.cluster (the nodes of a"
                " Redis Cluster) must be set",
            ),
            rule(
                "!has(self.cluster) || self.database == 0",
                "redis.database must be 0 with redis.cluster: a Redis Cluster has only database 0",
                ".database",
            ),
        )
    )
    host: Host | None = Field(
        default=None,
        description="Redis host: a DNS name or an IP address. Set this or cluster.",
    )
    port: int = Field(default=6379, ge=1, le=65535, description="Port of redis.host.")
    cluster: list[HostPort] | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="Nodes of a Redis Cluster, host:port each (some of them are enough: the"
        " client learns the others from the cluster). Set this or host.",
    )
    database: int = Field(
        default=0, ge=0, le=15, description="Redis database number (0 with redis.cluster)."
    )

    tls: bool = Field(default=False, description="Connect with rediss://.")
    secret_name: SecretName | None = Field(
        default=None,
        description="Secret with key `password`, when Redis needs one. Default: no password.",
    )

    @model_validator(mode="after")
    def _one_of_host_or_cluster(self) -> Redis:
        if (self.host is None) == (self.cluster is None):
            raise ValueError("exactly one of redis.host or redis.cluster must be set")
        return self


class Kafka(Model):
    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "self.topic != oldSelf.topic || self.partitions >= oldSelf.partitions",
                "kafka.partitions cannot shrink: Kafka cannot remove partitions from a topic"
                " (to have fewer, use a new topic name)",
                ".partitions",
            ),
            rule(
                "!has(self.minInSyncReplicas) || self.minInSyncReplicas <= self.replicationFactor",
                "kafka.minInSyncReplicas must not exceed kafka.replicationFactor (no write could"
                " ever succeed)",
                ".minInSyncReplicas",
            ),
        )
    )
    brokers: list[Annotated[str, Field(max_length=260), _checked(*BROKER_RULES)]] = Field(
        min_length=1, max_length=32, description="Bootstrap brokers, host:port."
    )
    topic: Annotated[str, _checked(*TOPIC_RULES)] = Field(
        default="photoUpload",
        min_length=1,
        max_length=249,
        description="Topic the API publishes uploads to and the processors consume.",
    )
    partitions: int = Field(
        default=128,
        ge=1,
        le=10000,
        description="Partitions of the topic; it can grow, never shrink (Kafka cannot remove"
        " partitions).",
    )
    replication_factor: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Topic replicas, set when the topic is created. KafkaTopicReady turns False"
        " when an existing topic has another replication factor (ReplicationFactorDiffers) or"
        " partitions whose in-sync replicas are fewer than their replicas"
        " (UnderReplicatedPartitions).",
    )
    min_in_sync_replicas: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="min.insync.replicas of the topics the operator creates: how many replicas"
        " must have an upload before the API's producer (acks=all) counts it as sent."
        " Default: min(2, replicationFactor).",
    )
    consumer_group: Annotated[str, _checked(*CONSUMER_GROUP_RULES)] = Field(
        default="photostore-processor",
        min_length=1,
        max_length=255,
        description="Consumer group of the processors (its lag drives lag autoscaling).",
    )
    manage_topic: bool = Field(
        default=True,
        description="Create the topic and its dead-letter topic (`<topic>.dlq`) when missing,"
        " with these partitions, replication and min.insync.replicas, and add partitions when"
        " `partitions` grows"
        " (condition KafkaTopicReady); off when the topics are managed elsewhere.",
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain",
        description="What deleting the PhotoStorage does to the topics it manages: Retain keeps"
        " them (and the events in them); Delete removes both, holding the deletion with a"
        " finalizer until Kafka confirms.",
    )

    @property
    def min_insync(self) -> int:
        """min.insync.replicas for the topics the operator creates."""
        if self.min_in_sync_replicas is not None:
            return self.min_in_sync_replicas
        return min(2, self.replication_factor)


class Lifecycle(Model):
    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "self.daysToIA < self.daysToGlacier",
                "daysToIA must be less than daysToGlacier",
                ".daysToIA",
            )
        )
    )
    enabled: bool = Field(
        default=True,
        description="Apply these as the bucket's lifecycle rules (condition StorageReady); off"
        " for a store without lifecycle rules or a bucket whose rules are managed elsewhere.",
    )
    days_to_ia: int = Field(
        default=30,
        ge=30,
        le=36500,
        alias="daysToIA",
        description="Days before originals move to STANDARD_IA (S3 requires at least 30).",
    )
    days_to_glacier: int = Field(
        default=90, ge=1, le=36500, description="Days before originals move to GLACIER."
    )


class ReplicationDestination(Model):
    bucket: S3Bucket = Field(
        description="Destination bucket: it must exist, with versioning enabled, before S3"
        " accepts the replication."
    )
    region: str = Field(
        min_length=1,
        max_length=32,
        description="Region of the destination bucket: another region than storage.region"
        " makes it cross-region replication.",
    )


class Replication(Model):
    role_arn: Annotated[
        str,
        _checked(
            matches(
                r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+",
                "must be an IAM role ARN such as arn:aws:iam::123456789012:role/photos-replication",
            )
        ),
    ] = Field(
        max_length=2048,
        description="IAM role S3 assumes to copy the photos: it reads object versions of"
        " storage.bucket and replicates into each destination.",
    )
    destinations: list[ReplicationDestination] = Field(
        min_length=1,
        max_length=16,
        description="Buckets every new photo is copied to, one replication rule each.",
    )


class Storage(Model):
    bucket: S3Bucket = Field(description="Bucket of the photos.")
    region: str = Field(default="us-east-1", min_length=1, max_length=32, description="S3 region.")
    endpoint: Annotated[str, _checked(*URL_RULES)] | None = Field(
        default=None,
        max_length=255,
        description="S3 endpoint for non-AWS stores. Default: AWS S3 of the region.",
    )
    secret_name: SecretName = Field(
        description="Secret with keys `accessKeyId` and `secretAccessKey`."
    )
    lifecycle: Lifecycle = Field(
        default_factory=Lifecycle, description="When originals move to colder storage classes."
    )
    manage_bucket: bool = Field(
        default=True,
        description="Make the bucket when missing and apply `lifecycle` (and `replication`) to"
        " it, with the keys of secretName (the operator reads that Secret; condition"
        " StorageReady).",
    )
    replication: Replication | None = Field(
        default=None,
        description="Copy new photos to other buckets with S3 replication"
        " (PutBucketReplication, versioning enabled on storage.bucket first, as S3 requires)."
        " A store without replication says so in StorageReady (NotSupportedByStore)."
        " Default: unset (replication not managed: a configuration made elsewhere is left"
        " alone, and removing this field leaves the last one in place).",
    )


class BackupVerification(Model):
    enabled: bool = Field(default=True, description="Run `photostore backup verify` on a schedule.")
    schedule: Annotated[str, _checked(*CRON_RULES)] = Field(
        default="0 4 * * *",
        min_length=1,
        max_length=100,
        description="Cron schedule of the verification CronJob (after the nightly backup).",
    )


class Backup(Model):
    enabled: bool = Field(default=True, description="Manage the pg_dump CronJob.")
    schedule: Annotated[str, _checked(*CRON_RULES)] = Field(
        default="0 2 * * *",
        min_length=1,
        max_length=100,
        description="Cron schedule of the CronJob (5 fields or a macro such as @daily), in"
        " the kube-controller-manager's time zone.",
    )
    retention_days: int = Field(default=30, ge=1, le=3650, description="Days a dump is kept.")
    bucket: S3Bucket | None = Field(
        default=None, description="Bucket for dumps. Default: storage.bucket."
    )
    secret_name: SecretName | None = Field(
        default=None,
        description="Secret with the backup bucket's S3 keys (accessKeyId, secretAccessKey),"
        " so that dumps need not share the photos' credentials. Default: storage.secretName.",
    )
    suspend: bool = Field(default=False, description="Pause scheduling without deleting.")
    max_age_hours: int | None = Field(
        default=None,
        ge=1,
        le=24 * 400,
        description="BackupHealthy turns False (NoBackupWithinSchedule) when the newest"
        " successful backup is older than this. Default: the schedule's period (a day for a"
        " daily schedule, a week for a weekly one...) plus two hours.",
    )
    verification: BackupVerification = Field(
        default_factory=lambda: BackupVerification(),
        description="A second CronJob restores the newest backup into a scratch database and"
        " compares its row counts with the backup's manifest (condition BackupVerified).",
    )


class Monitoring(Model):
    enabled: bool = Field(default=False, description="Open the metrics ports to Prometheus.")
    namespace: Namespace = Field(
        default="monitoring", description="Namespace whose Prometheus may scrape the pods."
    )


class IngressRateLimit(Model):
    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "self.burst % self.requestsPerSecond == 0",
                "burst must be a multiple of requestsPerSecond: ingress-nginx takes it as"
                " limit-burst-multiplier = burst / requestsPerSecond",
                ".burst",
            )
        )
    )
    enabled: bool = Field(
        default=True, description="Write the controller's per-client rate-limit annotations."
    )
    requests_per_second: int = Field(
        default=10,
        ge=1,
        le=100000,
        description="nginx: requests per second each client address may make"
        " (nginx.ingress.kubernetes.io/limit-rps).",
    )
    burst: int = Field(
        default=20,
        ge=1,
        le=1000000,
        description="nginx: requests a client address may make at once above the rate before"
        " it is refused (limit-burst-multiplier = burst / requestsPerSecond).",
    )
    requests: int = Field(
        default=20,
        ge=1,
        le=1000000,
        description="haproxy: requests each client address may make per periodSeconds"
        " (haproxy.org/rate-limit-requests); more are answered 429.",
    )
    period_seconds: int = Field(
        default=10,
        ge=1,
        le=86400,
        description="haproxy: the window of `requests` (haproxy.org/rate-limit-period).",
    )


IngressHost = Annotated[
    str,
    Field(min_length=1, max_length=253),
    _checked(
        rule(
            "!format.dns1123Subdomain().validate(self).hasValue() && !isIP(self)",
            "must be a lowercase DNS name such as photos.example.com: no IP address, scheme,"
            " port or path",
        )
    ),
]

IngressClassName = Annotated[
    str,
    Field(min_length=1, max_length=253),
    _checked(
        rule(
            "!format.dns1123Subdomain().validate(self).hasValue()",
            "must be an IngressClass name: lowercase letters, digits, '-' and '.', starting and"
            " ending with a letter or digit",
        )
    ),
]


class Ingress(Model):
    host: IngressHost = Field(description="Host name clients reach the API by.")
    tls_secret_name: SecretName | None = Field(
        default=None,
        description="Secret (type kubernetes.io/tls) with the certificate of host: the"
        " controller terminates TLS with it and redirects plain HTTP to HTTPS."
        " Default: unset (plain HTTP only; for trials, not for production).",
    )
    ingress_class_name: IngressClassName | None = Field(
        default=None,
        description="IngressClass of the controller that serves the Ingress."
        " Default: unset (the cluster's default IngressClass).",
    )
    controller: Literal["nginx", "haproxy"] = Field(
        default="nginx",
        description="Whose annotations to write: nginx (ingress-nginx: limit-rps,"
        " limit-burst-multiplier, proxy-body-size for uploads) or haproxy (the HAProxy"
        " Kubernetes Ingress Controller: rate-limit-requests and -period with status 429,"
        " leastconn balancing, a /health check of each pod).",
    )
    rate_limit: IngressRateLimit = Field(
        default_factory=IngressRateLimit,
        description="Per-client-address rate limit at the controller, in front of the API's"
        " own (api.rateLimit).",
    )
    controller_addresses: list[Cidr] = Field(
        default_factory=list,
        max_length=64,
        description="CIDRs the controller connects to the API pods from (its pods' addresses,"
        " or its nodes' with host networking). Added to api.trustedProxies, so that the API"
        " believes the X-Forwarded-For the controller sets and its own rate limit counts"
        " real clients, not the controller.",
    )


class PhotoStorageSpec(Model):
    """Desired state of one photo storage installation."""

    model_config = ConfigDict(
        json_schema_extra=rules(
            rule(
                "!self.processor.autoscaling.enabled"
                " || self.processor.autoscaling.maxReplicas <= self.kafka.partitions",
                "processor.autoscaling.maxReplicas must not exceed kafka.partitions"
                " (a consumer without a partition sits idle)",
                ".processor.autoscaling.maxReplicas",
            ),
            rule(
                "!self.processor.gpu.enabled || !self.quota.enabled"
                " || self.quota.gpus >= self.processor.gpu.perPod",
                "quota.gpus must allow at least one processor pod (processor.gpu.perPod)",
                ".quota.gpus",
            ),
            rule(
                "self.api.autoscaling.enabled || self.api.replicas >= 1",
                "api.replicas must be at least 1 when api.autoscaling is disabled",
                ".api.replicas",
            ),
        )
    )
    version: Annotated[str, _checked(*VERSION_RULES)] = Field(
        default="0.1.0",
        max_length=64,
        description="Release to run; the default image tag.",
    )
    images: Images = Field(default_factory=Images, description="Container images.")
    api: ApiSpec = Field(default_factory=ApiSpec, description="The HTTP API Deployment.")
    processor: ProcessorSpec = Field(
        default_factory=ProcessorSpec, description="The GPU image processor Deployment."
    )
    quota: Quota = Field(
        default_factory=Quota, description="ResourceQuota and LimitRange of the namespace."
    )
    database: Database = Field(description="PostgreSQL holding the photo metadata.")
    redis: Redis = Field(description="Redis for the rate limiter and the photo cache.")
    kafka: Kafka = Field(description="Kafka carrying uploads from the API to the processors.")
    storage: Storage = Field(description="S3 bucket holding the originals and derivatives.")
    backup: Backup = Field(
        default_factory=Backup, description="Nightly pg_dump of the database to S3."
    )
    monitoring: Monitoring = Field(
        default_factory=Monitoring, description="Prometheus scraping of the pods."
    )
    ingress: Ingress | None = Field(
        default=None,
        description="An Ingress for the API Service, with TLS and a per-client rate limit at"
        " the ingress controller. Removing it deletes the Ingress. Default: unset (no Ingress;"
        " the API is reached through its Service).",
    )


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(Model):
    type: str = Field(max_length=64, description="Ready, Progressing, Degraded, ...")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        max_length=128,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="Why, in CamelCase.",
    )
    message: str = Field(default="", max_length=4096, description="Details for a human.")
    last_transition_time: str = Field(
        json_schema_extra={"format": "date-time"}, description="When status last changed."
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was computed from."
    )


class WorkloadStatus(Model):
    replicas: int = Field(default=0, description="Pods that exist now (scale subresource).")
    ready_replicas: int = Field(default=0, description="Pods that are ready.")
    updated_replicas: int = Field(default=0, description="Pods running the latest spec.")
    available_replicas: int = Field(default=0, description="Pods available to serve.")
    selector: str = Field(default="", description="Label selector of the pods (scale subresource).")
    summary: str = Field(default="", description="ready/wanted, for kubectl get.")


class ProcessorStatus(WorkloadStatus):
    lag: int | None = Field(default=None, description="Kafka consumer lag last seen.")
    partitions: int | None = Field(default=None, description="Partitions of the topic last seen.")
    desired_replicas: int | None = Field(default=None, description="Replicas the lag asks for.")
    limited_by: str | None = Field(
        default=None,
        description="What decided desiredReplicas: Lag, MinReplicas, MaxReplicas, Partitions,"
        " GPUQuota or ScaleDownStabilization.",
    )
    scaling_message: str | None = Field(default=None, description="How desiredReplicas came about.")


class BackupStatus(Model):
    last_schedule_time: str | None = Field(
        default=None, description="When the CronJob last started a backup."
    )
    last_successful_time: str | None = Field(
        default=None, description="When a backup last completed."
    )
    last_successful_job: str | None = Field(default=None, description="The Job of that backup.")
    last_failed_time: str | None = Field(default=None, description="When a backup last failed.")
    last_failed_job: str | None = Field(default=None, description="The Job of that failure.")
    last_verified_time: str | None = Field(
        default=None, description="When a restore of a backup last matched its manifest."
    )
    last_verified_job: str | None = Field(default=None, description="The Job of that check.")
    last_request: str | None = Field(
        default=None,
        description="The last value of the photos.example.com/backup-now annotation acted on.",
    )


class PhotoStorageStatus(Model):
    """Observed state, written only by the operator."""

    observed_generation: int | None = Field(
        default=None, description="metadata.generation the status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Ready, Progressing, Degraded and one per dependency.",
    )
    api: WorkloadStatus | None = Field(default=None, description="The API Deployment.")
    processor: ProcessorStatus | None = Field(default=None, description="The processor Deployment.")
    backup: BackupStatus | None = Field(default=None, description="The backup CronJob.")


class PhotoStorage(Model):
    """A parsed PhotoStorage: just what the builders need from the object."""

    name: str
    namespace: str
    uid: str
    generation: int = 0
    spec: PhotoStorageSpec


def parse(body: Any) -> PhotoStorage:
    """Build the typed view from a raw object (a dict or kopf Body)."""
    meta = body["metadata"]
    return PhotoStorage(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta["uid"],
        generation=meta.get("generation", 0),
        spec=PhotoStorageSpec.model_validate(dict(body.get("spec") or {})),
    )
