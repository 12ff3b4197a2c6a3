"""The PhotoStorage custom resource: the only place its fields are declared.

`photostore.operator.crd` turns these models into the CRD's OpenAPI schema, so field names,
defaults, bounds, descriptions (what `kubectl explain` shows) and the CEL rules for
cross-field checks all live here. The operator parses the live object with the same models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "photos.example.com"
VERSION = "v1alpha1"
KIND = "PhotoStorage"
PLURAL = "photostorages"
SINGULAR = "photostorage"
SHORT_NAMES = ["ps", "photostore"]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"
LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"


def rule(expression: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One `x-kubernetes-validations` entry; `field_path` points the error at a field."""
    entry = {"rule": expression, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def rules(*entries: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(entries)}


QUANTITY_RULE = rule("type(self) == int ? self >= 0 : isQuantity(self)", "must be a quantity")

# Kubernetes quantity: an integer or a string such as "500m" or "2Gi".
Quantity = Annotated[
    int | str,
    Field(json_schema_extra={"x-kubernetes-int-or-string": True, **rules(QUANTITY_RULE)}),
]
# An integer count or a percentage such as "25%" (Deployment rollingUpdate, PDB).
IntOrPercent = Annotated[
    int | str,
    Field(
        json_schema_extra={
            "x-kubernetes-int-or-string": True,
            **rules(
                rule(
                    "type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",
                    "must be a non-negative integer or a percentage like '25%'",
                )
            ),
        }
    ),
]
SecretName = Annotated[
    str,
    Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN),
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
    repository: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[^\s:@]+(:[0-9]+)?(/[^\s:@]+)*$",
        description="Image repository, without tag.",
    )
    tag: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Image tag; spec.version when empty.",
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
    max_surge: IntOrPercent = Field(default=3, description="Extra pods allowed during a rollout.")
    max_unavailable: IntOrPercent = Field(
        default=1, description="Pods that may be unavailable during a rollout."
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
        description="Average CPU utilisation the HPA aims for.",
    )


class RateLimit(Model):
    requests: int = Field(default=20, ge=1, le=100000, description="Per client per window.")
    window_seconds: int = Field(default=10, ge=1, le=3600, description="Length of the window.")


class IngressPeers(Model):
    namespace: str = Field(
        default="ingress-nginx",
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="Namespace of the ingress controller / load balancer allowed to reach the API.",
    )
    pod_labels: dict[str, Annotated[str, Field(max_length=63, pattern=LABEL_VALUE)]] = Field(
        default_factory=lambda: {"photos.example.com/ingress": "true"},
        max_length=16,
        json_schema_extra=rules(
            rule(
                f"self.all(k, k.size() <= 253 && k.matches('{LABEL_KEY}'))",
                "pod label keys must be valid Kubernetes label keys",
            )
        ),
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
    rolling_update: RollingUpdate = Field(default_factory=RollingUpdate)
    autoscaling: ApiAutoscaling = Field(default_factory=ApiAutoscaling)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    ingress: IngressPeers = Field(default_factory=IngressPeers)


class Gpu(Model):
    enabled: bool = Field(default=True, description="Schedule the processor on the GPU pool.")
    node_type: str = Field(
        default="nvidia-tesla-t4",
        min_length=1,
        max_length=63,
        pattern=LABEL_VALUE,
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


class ProcessorSpec(Workload):
    replicas: int = Field(default=20, ge=0, le=1000, description="Processor pods.")
    resources: Resources = Field(
        default_factory=lambda: Resources(
            requests=ComputeResources(cpu="1", memory="2Gi"),
            limits=ComputeResources(cpu="2", memory="4Gi"),
        ),
        description="CPU and memory of each processor container (GPUs come from gpu).",
    )
    gpu: Gpu = Field(default_factory=Gpu)
    autoscaling: LagAutoscaling = Field(default_factory=LagAutoscaling)


class QuotaAmounts(Model):
    cpu: Quantity
    memory: Quantity


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
    persistent_volume_claims: int = Field(default=50, ge=0, le=10000, description="PVC count.")


class Database(Model):
    host: str = Field(min_length=1, max_length=253, description="PostgreSQL host.")
    port: int = Field(default=5432, ge=1, le=65535, description="PostgreSQL port.")
    name: str = Field(default="photostore", min_length=1, max_length=63, description="Database.")
    ssl_mode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        default="require", description="libpq sslmode."
    )
    secret_name: SecretName = Field(
        description="Secret with keys `username` and `password` (never inlined)."
    )


class Redis(Model):
    host: str = Field(min_length=1, max_length=253, description="Redis host.")
    port: int = Field(default=6379, ge=1, le=65535, description="Redis port.")
    database: int = Field(default=0, ge=0, le=15, description="Redis database number.")
    tls: bool = Field(default=False, description="Connect with rediss://.")
    secret_name: SecretName | None = Field(
        default=None, description="Secret with key `password`, when Redis needs one."
    )


class Kafka(Model):
    brokers: list[Annotated[str, Field(max_length=260, pattern=r"^[^\s:,]+:[0-9]{1,5}$")]] = Field(
        min_length=1, max_length=32, description="Bootstrap brokers, host:port."
    )
    topic: str = Field(
        default="photoUpload",
        min_length=1,
        max_length=249,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Topic the API publishes uploads to and the processors consume.",
    )
    partitions: int = Field(default=128, ge=1, le=10000, description="Partitions of the topic.")
    replication_factor: int = Field(default=3, ge=1, le=10, description="Topic replicas.")
    consumer_group: str = Field(
        default="photostore-processor",
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Consumer group of the processors (its lag drives lag autoscaling).",
    )
    manage_topic: bool = Field(
        default=True,
        description="Create the topic when missing and add partitions when `partitions`"
        " grows (condition KafkaTopicReady); off when the topic is managed elsewhere.",
    )


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
    days_to_ia: int = Field(
        default=30,
        ge=30,
        le=36500,
        alias="daysToIA",
        description="Days before originals move to STANDARD_IA (S3 requires at least 30).",
    )
    days_to_glacier: int = Field(default=90, ge=1, le=36500, description="Days to GLACIER.")


S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class Storage(Model):
    bucket: str = Field(
        min_length=3, max_length=63, pattern=S3_BUCKET, description="Bucket of the photos."
    )
    region: str = Field(default="us-east-1", min_length=1, max_length=32, description="S3 region.")
    endpoint: str | None = Field(
        default=None,
        max_length=255,
        pattern=r"^https?://[^\s]+$",
        description="S3 endpoint for non-AWS stores.",
    )
    secret_name: SecretName = Field(
        description="Secret with keys `accessKeyId` and `secretAccessKey`."
    )
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)


CRON = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"


class Backup(Model):
    enabled: bool = Field(default=True, description="Manage the pg_dump CronJob.")
    schedule: str = Field(
        default="0 2 * * *", max_length=100, pattern=CRON, description="Cron schedule."
    )
    retention_days: int = Field(default=30, ge=1, le=3650, description="Days a dump is kept.")
    bucket: str | None = Field(
        default=None,
        min_length=3,
        max_length=63,
        pattern=S3_BUCKET,
        description="Bucket for dumps; storage.bucket when empty.",
    )
    suspend: bool = Field(default=False, description="Pause scheduling without deleting.")


class Monitoring(Model):
    enabled: bool = Field(default=False, description="Open the metrics ports to Prometheus.")
    namespace: str = Field(
        default="monitoring",
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="Namespace whose Prometheus may scrape the pods.",
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
    version: str = Field(
        default="0.1.0",
        max_length=64,
        pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$",
        description="Release to run; the default image tag.",
    )
    images: Images = Field(default_factory=Images)
    api: ApiSpec = Field(default_factory=ApiSpec)
    processor: ProcessorSpec = Field(default_factory=ProcessorSpec)
    quota: Quota = Field(default_factory=Quota)
    database: Database
    redis: Redis
    kafka: Kafka
    storage: Storage
    backup: Backup = Field(default_factory=Backup)
    monitoring: Monitoring = Field(default_factory=Monitoring)


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(Model):
    type: str = Field(max_length=64)
    status: ConditionStatus
    reason: str = Field(max_length=128, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(default="", max_length=4096)
    last_transition_time: str = Field(json_schema_extra={"format": "date-time"})
    observed_generation: int | None = Field(default=None, ge=0)


class WorkloadStatus(Model):
    replicas: int = Field(default=0, description="Pods that exist now (scale subresource).")
    ready_replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    selector: str = Field(default="", description="Label selector of the pods (scale subresource).")
    summary: str = Field(default="", description="ready/wanted, for kubectl get.")


class ProcessorStatus(WorkloadStatus):
    lag: int | None = Field(default=None, description="Kafka consumer lag last seen.")
    desired_replicas: int | None = Field(default=None, description="Replicas the lag asks for.")


class BackupStatus(Model):
    last_schedule_time: str | None = None
    last_successful_time: str | None = None


class PhotoStorageStatus(Model):
    """Observed state, written only by the operator."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    api: WorkloadStatus | None = None
    processor: ProcessorStatus | None = None
    backup: BackupStatus | None = None


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
