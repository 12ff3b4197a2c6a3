"""Pure functions from a PhotoStorage to the child objects it wants.

No API calls here: the reconciler applies what these return and deletes the optional
children that `unwanted` names.
"""

from __future__ import annotations

from photostore.operator.builders import api, config, jobs, network, processor, quota
from photostore.operator.builders.common import Obj, child_name
from photostore.operator.spec import PhotoStorage


def build_children(ps: PhotoStorage, processor_lag: int | None = None) -> list[Obj]:
    """Every child wanted now, in apply order (config before the pods that read it)."""
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
    children += [
        processor.build_processor_deployment(ps, processor_lag),
        processor.build_processor_pdb(ps),
    ]
    if s.backup.enabled:
        children.append(jobs.build_backup_cronjob(ps))
    return children


def optional_children(ps: PhotoStorage) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, name) of every child a spec change can switch off."""
    return [
        ("v1", "ResourceQuota", quota.quota_name(ps)),
        ("v1", "LimitRange", child_name(ps, "limits")),
        ("autoscaling/v2", "HorizontalPodAutoscaler", api.api_name(ps)),
        ("batch/v1", "CronJob", child_name(ps, jobs.BACKUP_COMPONENT)),
        ("networking.k8s.io/v1", "NetworkPolicy", child_name(ps, "processor-metrics")),
    ]


def unwanted(ps: PhotoStorage, wanted: list[Obj]) -> list[tuple[str, str, str]]:
    names = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in wanted}
    return [ref for ref in optional_children(ps) if ref not in names]
