"""Pure functions from a PhotoStorage to the child objects it wants.

No API calls here: the reconciler applies what these return and deletes the optional
children that `unwanted` names.
"""

from __future__ import annotations

from photostore.operator.builders import (
    api,
    config,
    ingress,
    jobs,
    monitoring,
    network,
    processor,
    quota,
)
from photostore.operator.builders.common import Obj, child_name
from photostore.operator.spec import PhotoStorage


def build_children(
    ps: PhotoStorage, lag_replicas: int | None = None, service_monitors: bool = False
) -> list[Obj]:
    """Every child wanted now, in apply order (config before the pods that read it).

    `service_monitors` says whether the cluster serves the Prometheus Operator's CRDs."""
    s = ps.spec
    children: list[Obj] = []
    if s.quota.enabled:
        children += [quota.build_resource_quota(ps), quota.build_limit_range(ps)]
    children += network.build_network_policies(ps)
    children += [
        config.build_configmap(ps),
        jobs.build_migration_job(ps),
        api.build_api_deployment(ps),
        api.build_api_service(ps),
        api.build_api_pdb(ps),
    ]
    if s.api.autoscaling.enabled:
        children.append(api.build_api_hpa(ps))
    if s.ingress is not None:
        children.append(ingress.build_ingress(ps, s.ingress))
    children += [
        processor.build_processor_deployment(ps, lag_replicas),
        processor.build_processor_pdb(ps),
    ]
    if s.backup.enabled:
        children.append(jobs.build_backup_cronjob(ps))
        if s.backup.verification.enabled:
            children.append(jobs.build_verify_cronjob(ps))
    if s.monitoring.enabled:
        children += monitoring.build_metrics_services(ps)
        if service_monitors:
            children.append(monitoring.build_service_monitor(ps))
    return children


def optional_children(ps: PhotoStorage) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, name) of every child a spec change can switch off."""
    return [
        ("v1", "ResourceQuota", quota.quota_name(ps)),
        ("v1", "LimitRange", child_name(ps, "limits")),
        ("autoscaling/v2", "HorizontalPodAutoscaler", api.api_name(ps)),
        ("networking.k8s.io/v1", "Ingress", ingress.ingress_name(ps)),
        ("batch/v1", "CronJob", child_name(ps, jobs.BACKUP_COMPONENT)),
        ("batch/v1", "CronJob", child_name(ps, jobs.VERIFY_COMPONENT)),
        ("networking.k8s.io/v1", "NetworkPolicy", child_name(ps, "processor-metrics")),
        ("networking.k8s.io/v1", "NetworkPolicy", child_name(ps, "api-metrics")),
        ("v1", "Service", monitoring.metrics_service_name(ps, processor.COMPONENT)),
        ("v1", "Service", monitoring.metrics_service_name(ps, api.COMPONENT)),
        (monitoring.SERVICE_MONITOR_API, "ServiceMonitor", ps.name),
    ]


def unwanted(ps: PhotoStorage, wanted: list[Obj]) -> list[tuple[str, str, str]]:
    names = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in wanted}
    return [ref for ref in optional_children(ps) if ref not in names]
