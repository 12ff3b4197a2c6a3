"""Every condition type the operator writes and every reason it gives, in one place.

Reasons are CamelCase words an SRE can alert on; Event reasons are listed too. A test keeps
the code honest: every Finding and Event the operator makes names its type and reason from
here, never from a string written where it is used.
"""

from __future__ import annotations

# Condition types.
READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
API_READY = "ApiReady"
PROCESSOR_READY = "ProcessorReady"
KAFKA_TOPIC_READY = "KafkaTopicReady"
STORAGE_READY = "StorageReady"
BACKUP_HEALTHY = "BackupHealthy"
BACKUP_VERIFIED = "BackupVerified"
REPLICAS_IGNORED = "ReplicasIgnored"

# Ready / Progressing / Degraded, and the parts.
ALL_COMPONENTS_READY = "AllComponentsReady"
COMPONENTS_NOT_READY = "ComponentsNotReady"
ROLLOUT_COMPLETE = "RolloutComplete"
ROLLING_OUT = "RollingOut"
ROLLOUT_STALLED = "RolloutStalled"
AS_EXPECTED = "AsExpected"
APPLY_FAILED = "ApplyFailed"
MIGRATION_FAILED = "MigrationFailed"
NAMESPACE_ALREADY_MANAGED = "NamespaceAlreadyManaged"
# What a Deployment or its pods show (health): Kubernetes' own words where it has them.
PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
INVALID_IMAGE_NAME = "InvalidImageName"
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_CONTAINER_ERROR = "CreateContainerError"
UNSCHEDULABLE = "Unschedulable"
QUOTA_EXCEEDED = "QuotaExceeded"
FAILED_CREATE = "FailedCreate"
GPU_QUOTA_EXCEEDED = "GPUQuotaExceeded"

# KafkaTopicReady.
TOPIC_EXISTS = "TopicExists"
TOPIC_CREATED = "TopicCreated"
PARTITIONS_ADDED = "PartitionsAdded"
PARTITIONS_CANNOT_SHRINK = "PartitionsCannotShrink"
KAFKA_UNAVAILABLE = "KafkaUnavailable"
TOPIC_CHANGE_FAILED = "TopicChangeFailed"
REPLICATION_FACTOR_DIFFERS = "ReplicationFactorDiffers"
UNDER_REPLICATED_PARTITIONS = "UnderReplicatedPartitions"

# StorageReady.
LIFECYCLE_APPLIED = "LifecycleApplied"
BUCKET_READY = "BucketReady"
NOT_SUPPORTED_BY_STORE = "NotSupportedByStore"
LIFECYCLE_NOT_APPLIED = "LifecycleNotApplied"
REPLICATION_APPLIED = "ReplicationApplied"
REPLICATION_NOT_APPLIED = "ReplicationNotApplied"
STORAGE_UNAVAILABLE = "StorageUnavailable"
SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 - a condition reason, no secret

# BackupHealthy and BackupVerified.
LAST_BACKUP_SUCCEEDED = "LastBackupSucceeded"
LAST_BACKUP_FAILED = "LastBackupFailed"
NO_BACKUP_WITHIN_SCHEDULE = "NoBackupWithinSchedule"
AWAITING_FIRST_BACKUP = "AwaitingFirstBackup"
VERIFIED = "Verified"
VERIFICATION_FAILED = "VerificationFailed"
NOT_VERIFIED_YET = "NotVerifiedYet"

# ReplicasIgnored.
AUTOSCALING_ENABLED = "AutoscalingEnabled"

# Events that are no condition's reason.
CREATED = "Created"
DELETED = "Deleted"
DRIFT_REPAIRED = "DriftRepaired"
INVALID_SPEC = "InvalidSpec"
BACKUP_REQUESTED = "BackupRequested"
TOPICS_DELETED = "TopicsDeleted"
TOPIC_DELETION_FAILED = "TopicDeletionFailed"

HEALTH_PROBLEMS = frozenset({
    PROGRESS_DEADLINE_EXCEEDED, CRASH_LOOP_BACK_OFF, IMAGE_PULL_BACK_OFF, INVALID_IMAGE_NAME,
    CREATE_CONTAINER_CONFIG_ERROR, CREATE_CONTAINER_ERROR, UNSCHEDULABLE, QUOTA_EXCEEDED,
    GPU_QUOTA_EXCEEDED, FAILED_CREATE,
})  # fmt: skip
PROBLEMS = HEALTH_PROBLEMS | {APPLY_FAILED, MIGRATION_FAILED, NAMESPACE_ALREADY_MANAGED}

# The reasons each condition type may carry.
REASONS: dict[str, frozenset[str]] = {
    READY: frozenset({ALL_COMPONENTS_READY, COMPONENTS_NOT_READY}) | PROBLEMS,
    PROGRESSING: frozenset({ROLLOUT_COMPLETE, ROLLING_OUT, ROLLOUT_STALLED,
                            NAMESPACE_ALREADY_MANAGED}),
    DEGRADED: frozenset({AS_EXPECTED}) | PROBLEMS,
    API_READY: frozenset({ROLLOUT_COMPLETE, ROLLING_OUT}) | HEALTH_PROBLEMS,
    PROCESSOR_READY: frozenset({ROLLOUT_COMPLETE, ROLLING_OUT}) | HEALTH_PROBLEMS,
    KAFKA_TOPIC_READY: frozenset({TOPIC_EXISTS, TOPIC_CREATED, PARTITIONS_ADDED,
                                  PARTITIONS_CANNOT_SHRINK, KAFKA_UNAVAILABLE,
                                  TOPIC_CHANGE_FAILED, REPLICATION_FACTOR_DIFFERS,
                                  UNDER_REPLICATED_PARTITIONS}),
    STORAGE_READY: frozenset({LIFECYCLE_APPLIED, BUCKET_READY, NOT_SUPPORTED_BY_STORE,
                              LIFECYCLE_NOT_APPLIED, STORAGE_UNAVAILABLE, SECRET_NOT_FOUND,
                              REPLICATION_APPLIED, REPLICATION_NOT_APPLIED}),
    BACKUP_HEALTHY: frozenset({LAST_BACKUP_SUCCEEDED, LAST_BACKUP_FAILED,
                               NO_BACKUP_WITHIN_SCHEDULE, AWAITING_FIRST_BACKUP}),
    BACKUP_VERIFIED: frozenset({VERIFIED, VERIFICATION_FAILED, NOT_VERIFIED_YET}),
    REPLICAS_IGNORED: frozenset({AS_EXPECTED, AUTOSCALING_ENABLED}),
}  # fmt: skip
# Events carry these, and the reason of each condition change they report.
EVENT_REASONS = frozenset(
    {CREATED, DELETED, DRIFT_REPAIRED, INVALID_SPEC, BACKUP_REQUESTED, TOPICS_DELETED,
     TOPIC_DELETION_FAILED, READY}
).union(*REASONS.values())  # fmt: skip
