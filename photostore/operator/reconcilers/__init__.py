"""What `reconcile` sequences, one module per concern: workloads (the children, wave by
wave), kafka (lag scaling, topic deletion), backup (status.backup and backup-now),
namespace (which PhotoStorage manages it) and reporting (status and its Events). Each is
unit-tested against a fake KubeClient."""
