"""The Ingress of the API Service, by comparing the dicts the builder returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from photostore.operator.builders import api, build_children, config, ingress, unwanted
from photostore.operator.spec import PhotoStorage

MakePs = Callable[..., PhotoStorage]
HOST = "photos.example.com"
BACKEND = {"service": {"name": "photos-api", "port": {"name": "http"}}}


def _ingress(make_ps: MakePs, **fields: Any) -> dict[str, Any]:
    ps = make_ps(ingress={"host": HOST, **fields})
    assert ps.spec.ingress is not None
    return ingress.build_ingress(ps, ps.spec.ingress)


def test_nginx_ingress_has_tls_and_the_guides_rate_limit(make_ps: MakePs) -> None:
    built = _ingress(make_ps, tlsSecretName="photos-tls", ingressClassName="nginx")
    assert built["apiVersion"] == "networking.k8s.io/v1"
    assert built["kind"] == "Ingress"
    assert built["metadata"]["name"] == "photos-api"
    assert built["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/limit-rps": "10",
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": "2",  # a burst of 20
        "nginx.ingress.kubernetes.io/proxy-body-size": "101m",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    }
    assert built["spec"] == {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": HOST,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": BACKEND}]},
            }
        ],
        "tls": [{"hosts": [HOST], "secretName": "photos-tls"}],
    }


def test_haproxy_ingress_limits_20_per_10s_per_address_with_429(make_ps: MakePs) -> None:
    built = _ingress(make_ps, controller="haproxy", tlsSecretName="photos-tls")
    assert built["metadata"]["annotations"] == {
        "haproxy.org/rate-limit-requests": "20",
        "haproxy.org/rate-limit-period": "10s",
        "haproxy.org/rate-limit-status-code": "429",
        "haproxy.org/load-balance": "leastconn",
        "haproxy.org/check": "true",
        "haproxy.org/check-http": "/health",
        "haproxy.org/forwarded-for": "true",
        "haproxy.org/ssl-redirect": "true",
    }


def test_the_limit_follows_the_spec(make_ps: MakePs) -> None:
    limit = {"requestsPerSecond": 5, "burst": 25, "requests": 100, "periodSeconds": 60}
    nginx = _ingress(make_ps, rateLimit=limit)["metadata"]["annotations"]
    assert nginx["nginx.ingress.kubernetes.io/limit-rps"] == "5"
    assert nginx["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "5"
    haproxy = _ingress(make_ps, rateLimit=limit, controller="haproxy")["metadata"]["annotations"]
    assert haproxy["haproxy.org/rate-limit-requests"] == "100"
    assert haproxy["haproxy.org/rate-limit-period"] == "60s"


@pytest.mark.parametrize("controller", ["nginx", "haproxy"])
def test_without_tls_or_limit_nothing_of_them_is_written(make_ps: MakePs, controller: str) -> None:
    built = _ingress(make_ps, controller=controller, rateLimit={"enabled": False})
    assert "tls" not in built["spec"]
    assert "ingressClassName" not in built["spec"]  # the cluster's default class
    written = " ".join(built["metadata"]["annotations"])
    assert "limit" not in written and "ssl-redirect" not in written


def test_the_backend_is_the_api_services_named_port(make_ps: MakePs) -> None:
    ps = make_ps(ingress={"host": HOST})
    service = api.build_api_service(ps)
    backend = ingress.build_ingress(ps, ps.spec.ingress)["spec"]["rules"][0]["http"]["paths"][0]  # type: ignore[arg-type]
    assert backend["backend"]["service"]["name"] == service["metadata"]["name"]
    ports = [p["name"] for p in service["spec"]["ports"]]
    assert backend["backend"]["service"]["port"]["name"] in ports


def test_the_ingress_is_a_child_only_while_spec_ingress_is_set(make_ps: MakePs) -> None:
    ref = ("networking.k8s.io/v1", "Ingress", "photos-api")
    with_it = make_ps(ingress={"host": HOST})
    assert [c for c in build_children(with_it) if c["kind"] == "Ingress"]
    assert ref not in unwanted(with_it, build_children(with_it))
    without = make_ps()
    assert not [c for c in build_children(without) if c["kind"] == "Ingress"]
    assert ref in unwanted(without, build_children(without))


def test_controller_addresses_are_trusted_proxies_once(make_ps: MakePs) -> None:
    ps = make_ps(
        api={"trustedProxies": ["10.0.0.0/8"]},
        ingress={"host": HOST, "controllerAddresses": ["10.0.0.0/8", "192.168.0.0/16"]},
    )
    assert config.settings(ps)["PHOTOSTORE_TRUSTED_PROXIES"] == "10.0.0.0/8,192.168.0.0/16"
    assert config.settings(make_ps())["PHOTOSTORE_TRUSTED_PROXIES"] == ""
