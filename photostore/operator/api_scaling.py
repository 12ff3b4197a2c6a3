"""What `kubectl scale photostorage/NAME` does. Pure.

The scale subresource writes spec.api.replicas. With autoscaling off that is the API
Deployment's replicas. With autoscaling on the HorizontalPodAutoscaler owns the count, so
the value is parked: the ReplicasIgnored condition (and a Warning Event when it turns True)
says so and names what would move the pods, instead of the value being dropped silently or
jumping in when autoscaling is later switched off.
"""

from __future__ import annotations

from photostore.operator import reasons
from photostore.operator.conditions import Finding
from photostore.operator.spec import ApiSpec, PhotoStorage

REPLICAS_IGNORED = reasons.REPLICAS_IGNORED
DEFAULT_REPLICAS = ApiSpec.model_fields["replicas"].default


def replicas_finding(ps: PhotoStorage) -> Finding | None:
    api = ps.spec.api
    scaling = api.autoscaling
    if not scaling.enabled:
        return None
    if api.replicas == DEFAULT_REPLICAS:
        message = "the HorizontalPodAutoscaler decides the API's replicas"
        return Finding(REPLICAS_IGNORED, False, reasons.AS_EXPECTED, message)
    message = (
        f"spec.api.replicas={api.replicas} (what kubectl scale sets) has no effect while"
        f" api.autoscaling is enabled: the HorizontalPodAutoscaler keeps"
        f" {scaling.min_replicas}..{scaling.max_replicas} pods. Change"
        f" api.autoscaling.minReplicas/maxReplicas, or disable autoscaling to run"
        f" {api.replicas} pods."
    )
    return Finding(REPLICAS_IGNORED, True, reasons.AUTOSCALING_ENABLED, message)
