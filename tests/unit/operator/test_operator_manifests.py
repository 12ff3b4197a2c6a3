"""The monitoring and operator manifests parse and query the metrics the code exports."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"
HTTP_LABELS = ("service", "method", "route", "status")


def test_grafana_dashboard_queries_the_http_and_operator_metrics() -> None:
    dashboard = json.loads((MANIFESTS / "monitoring" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert any("http_requests_total" in e for e in exprs)
    assert any("http_request_duration_seconds_bucket" in e for e in exprs)
    assert any("photostore_operator_reconciles_total" in e for e in exprs)
    used = " ".join(exprs)
    assert all(label in used for label in HTTP_LABELS)
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "service"}


def test_prometheus_rules_alert_on_api_and_operator() -> None:
    rules = yaml.safe_load((MANIFESTS / "monitoring" / "prometheus-rules.yaml").read_text())
    alerts = {
        r["alert"]: r["expr"] for g in rules["spec"]["groups"] for r in g["rules"] if "alert" in r
    }
    assert "http_requests_total" in alerts["PhotoStoreApiErrorRate"]
    assert "http_request_duration_seconds_bucket" in alerts["PhotoStoreApiLatencyHigh"]
    assert (
        "photostore_operator_reconcile_errors_total" in alerts["PhotoStoreOperatorReconcileErrors"]
    )


def test_operator_deployment_runs_two_peered_replicas_with_liveness() -> None:
    documents = list(yaml.safe_load_all((MANIFESTS / "operator" / "operator.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["python", "-m", "photostore", "operator"]
    assert "--peering=photostore-operator" in container["command"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    role = yaml.safe_load((MANIFESTS / "operator" / "rbac.yaml").read_text())
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    for needed in [("apps", "deployments"), ("photos.example.com", "photostorages/status"),
                   ("kopf.dev", "clusterkopfpeerings"), ("", "events")]:  # fmt: skip
        assert needed in granted
