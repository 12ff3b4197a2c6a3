"""The Ingress of the API Service (spec.ingress): TLS and the guide's per-client rate limit
at the ingress controller, written as the annotations of the controller named in the spec.

ingress-nginx limits with nginx's leaky bucket (limit-rps, and a burst of limit-rps times
limit-burst-multiplier); the HAProxy Kubernetes Ingress Controller counts requests per client
address over a period. Both key on the client address they see, so the controller, not the
API, must be the first hop that sees the client; the API believes the X-Forwarded-For that
the controller adds only from ingress.controllerAddresses and api.trustedProxies.
"""

from __future__ import annotations

from photostore.operator.builders import api
from photostore.operator.builders.common import Obj, metadata
from photostore.operator.spec import Ingress, PhotoStorage

NGINX = "nginx.ingress.kubernetes.io/"
HAPROXY = "haproxy.org/"
# Photos are uploaded through the Ingress: ingress-nginx refuses bodies over 1m by default.
# The API's own bound (max_upload_bytes, 100 MiB) plus the multipart envelope and metadata.
NGINX_BODY_SIZE = "101m"
HEALTH_PATH = "/health"


def ingress_name(ps: PhotoStorage) -> str:
    """The API's name: one Ingress per installation, in front of the API Service."""
    return api.api_name(ps)


def _nginx_annotations(ingress: Ingress) -> dict[str, str]:
    notes = {NGINX + "proxy-body-size": NGINX_BODY_SIZE}
    if ingress.tls_secret_name:
        notes[NGINX + "ssl-redirect"] = "true"
    limit = ingress.rate_limit
    if limit.enabled:
        notes[NGINX + "limit-rps"] = str(limit.requests_per_second)
        notes[NGINX + "limit-burst-multiplier"] = str(limit.burst // limit.requests_per_second)
    return notes


def _haproxy_annotations(ingress: Ingress) -> dict[str, str]:
    notes = {
        HAPROXY + "load-balance": "leastconn",
        HAPROXY + "check": "true",
        HAPROXY + "check-http": HEALTH_PATH,
        HAPROXY + "forwarded-for": "true",
    }
    if ingress.tls_secret_name:
        notes[HAPROXY + "ssl-redirect"] = "true"
    limit = ingress.rate_limit
    if limit.enabled:
        notes[HAPROXY + "rate-limit-requests"] = str(limit.requests)
        notes[HAPROXY + "rate-limit-period"] = f"{limit.period_seconds}s"
        notes[HAPROXY + "rate-limit-status-code"] = "429"
    return notes


def controller_annotations(ingress: Ingress) -> dict[str, str]:
    if ingress.controller == "haproxy":
        return _haproxy_annotations(ingress)
    return _nginx_annotations(ingress)


def build_ingress(ps: PhotoStorage, ingress: Ingress) -> Obj:
    meta = metadata(ps, ingress_name(ps), api.COMPONENT)
    meta["annotations"] = controller_annotations(ingress)
    backend = {"service": {"name": api.api_name(ps), "port": {"name": api.SERVICE_PORT_NAME}}}
    spec: Obj = {
        "rules": [
            {
                "host": ingress.host,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
        ]
    }
    if ingress.ingress_class_name:
        spec = {"ingressClassName": ingress.ingress_class_name, **spec}
    if ingress.tls_secret_name:
        spec["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": spec,
    }
