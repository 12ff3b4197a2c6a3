"""The PhotoStorage operator. Importing the package registers its kopf handlers, so
`kopf run -m photostore.operator` (or `python -m photostore operator`) runs it.

    spec, grammars  pydantic models: the CRD's only source (`crd` renders it); field checks
    children        the one registry of kinds the operator touches (paths, watches, waves, RBAC)
    builders/       pure `build_*(ps) -> dict` for every child object
    handlers        kopf: login, startup, and watch events turned into work-queue keys
    workqueue       keyed, coalescing queue with backoff (one reconcile per object at a time)
    reconcile       sequences one pass; reconcilers/ do it, one module per concern:
                    workloads (apply waves, migration gate, handover, pruning), kafka (lag
                    scaling, topic deletion), backup (backup-now, status.backup), reporting
    pure findings   health, migration, scaling, backups, bucket rules, drift, api_scaling,
                    namespace_owner, finalizers; conditions turns them into conditions
    background      checks outside Kubernetes in threads: topic (Kafka), bucket (S3)
    status, state   the status object; what the operator remembers between passes
    kube, login     small asyncio REST client; ServiceAccount token or kubeconfig
    recorder        Events, repeats counted on one object
    rbac            the ClusterRole / namespaced Roles derived from `children`
    settings        OperatorSettings: the only reader of the operator's environment
    metrics, main   the operator's Prometheus metrics; the CLI
"""

from photostore.operator import handlers as handlers
