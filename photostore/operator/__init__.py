"""The PhotoStorage operator. Importing the package registers its kopf handlers, so
`kopf run -m photostore.operator` (or `python -m photostore operator`) runs it.

    spec        pydantic models: the CRD's only source (`crd` renders crds/photostorage.yaml)
    builders/   pure `build_*(ps) -> dict` for every child object
    handlers    kopf: startup settings, and watch events turned into work-queue keys
    workqueue   keyed, coalescing queue with backoff (one reconcile per object at a time)
    reconcile   apply children (server-side apply), read health, write status
    health      a Deployment's health and what is wrong with it
    conditions  Ready / Progressing / Degraded / ApiReady / ProcessorReady
    status      the status object, assembled in one place
    state       what the operator remembers between passes (kept in kopf's memo)
    kube        small asyncio REST client; recorder posts Events
    lag, topic  Kafka: consumer lag for processor scaling; the topic (KafkaTopicReady)
    metrics     the operator's Prometheus metrics; main the CLI; demo for `make demo`

Settings from the environment: PHOTOSTORE_OPERATOR_METRICS_PORT (8000, 0 turns it off),
PHOTOSTORE_OPERATOR_LIVENESS (http://0.0.0.0:8081/healthz, empty turns it off),
PHOTOSTORE_OPERATOR_WORKERS (8), PHOTOSTORE_OPERATOR_PRIORITY (peering; random if unset).
"""

from photostore.operator import handlers as handlers
