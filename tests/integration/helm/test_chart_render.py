"""What the chart renders: with its defaults, the plain manifests of manifests/operator/
(one source, checked here); per namespace, the generated Roles; from a guide-shaped values
file, a PhotoStorage the spec understands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from helm_cli import CHART, REPO_ROOT, Helm, documents, keyed, without_release_labels

from photostore.operator.rbac import namespaced_roles
from photostore.operator.spec import PhotoStorageSpec

# The first test builds helm when the environment came up before helm joined it (minutes).
pytestmark = pytest.mark.timeout(900)

PLAIN = REPO_ROOT / "manifests" / "operator"
GUIDE_VALUES = """
photoStorage:
  create: true
  name: photos
  api:
    replicas: 12
    autoscaling: {enabled: true, minReplicas: 12, maxReplicas: 60}
  processor:
    replicas: 4
    gpu: {enabled: true, nodeType: nvidia-tesla-t4, perPod: 1}
  database: {host: pg.db.svc, port: 5432, name: photos, sslMode: verify-full, secretName: pg}
  redis: {host: redis.cache.svc, tls: true, secretName: redis}
  kafka:
    brokers: [kafka-0.kafka:9092, kafka-1.kafka:9092]
    consumerGroup: processors
    topics:
      photoUpload: {name: photoUpload, partitions: 64, replicationFactor: 3}
  storage: {bucket: photos-prod, secretName: s3}
"""


def test_helm_lint_passes_with_defaults_and_a_photostorage(helm: Helm, tmp_path: Path) -> None:
    values = tmp_path / "guide.yaml"
    values.write_text(GUIDE_VALUES)
    helm.helm("lint", "--strict", str(CHART))
    helm.helm("lint", "--strict", str(CHART), "-f", str(values))


def test_default_render_is_the_plain_operator_manifests(helm: Helm) -> None:
    docs = helm.template("photostore-operator", "photostore-system")
    rendered = keyed([without_release_labels(d) for d in docs])
    plain = keyed(
        [
            d
            for path in (PLAIN / "operator.yaml", PLAIN / "rbac.yaml")
            for d in documents(path.read_text())
            if d["kind"] != "Namespace"  # `helm install --create-namespace` makes it
        ]
    )
    assert sorted(rendered) == sorted(plain)
    for key, obj in plain.items():
        assert rendered[key] == obj, key
    # The RBAC is the generated ClusterRole, rule for rule.
    cluster_role = yaml.safe_load((PLAIN / "rbac.yaml").read_text())
    assert rendered[("ClusterRole", "", "photostore-operator")]["rules"] == cluster_role["rules"]


def test_another_release_names_its_cluster_wide_objects_apart(helm: Helm) -> None:
    rendered = keyed(helm.template("blue", "blue-system"))
    for kind in ("ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"):
        assert (kind, "", "blue-photostore-operator") in rendered
    deployment = rendered[("Deployment", "blue-system", "blue-photostore-operator")]
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--peering=blue-photostore-operator" in command


def test_namespaced_render_is_the_generated_roles(helm: Helm) -> None:
    docs = helm.template("photostore-operator", "photostore-system",
                         "--set", "watchNamespaces={team-a,team-b}")  # fmt: skip
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"}
    rendered = keyed([without_release_labels(d) for d in docs])
    for role in namespaced_roles(["team-a", "team-b"]):
        meta = role["metadata"]
        assert rendered[(role["kind"], meta["namespace"], meta["name"])] == role
    for namespace in ("team-a", "team-b"):
        assert ("KopfPeering", namespace, "photostore-operator") in rendered
    deployment = rendered[("Deployment", "photostore-system", "photostore-operator")]
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-2:] == ["--namespace=team-a", "--namespace=team-b"]


def test_optional_render_is_the_user_roles_and_monitoring(helm: Helm) -> None:
    docs = helm.template("photostore-operator", "photostore-system", "--set",
                         "userRoles.enabled=true,monitoring.prometheusRule=true,"
                         "monitoring.grafanaDashboard=true")  # fmt: skip
    rendered = keyed(docs)
    for doc in documents((PLAIN / "user-roles.yaml").read_text()):
        assert rendered[(doc["kind"], "", doc["metadata"]["name"])] == doc
    rule = yaml.safe_load((REPO_ROOT / "manifests/monitoring/prometheus-rules.yaml").read_text())
    assert rendered[("PrometheusRule", "", rule["metadata"]["name"])] == rule
    dashboard = rendered[
        ("ConfigMap", "photostore-system", "photostore-operator-grafana-dashboard")
    ]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((REPO_ROOT / "manifests/monitoring/grafana-dashboard.json").read_text())
    assert json.loads(dashboard["data"]["photostore.json"]) == shipped


def test_guide_values_map_onto_the_photostorage_spec(helm: Helm, tmp_path: Path) -> None:
    values = tmp_path / "guide.yaml"
    values.write_text(GUIDE_VALUES)
    docs = helm.template("photostore", "photos", "-f", str(values))
    ps = next(d for d in docs if d["kind"] == "PhotoStorage")
    assert ps["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    spec = ps["spec"]
    assert "topics" not in spec["kafka"]
    parsed = PhotoStorageSpec.model_validate(spec)
    assert (parsed.kafka.topic, parsed.kafka.partitions, parsed.kafka.replication_factor) == (
        "photoUpload",
        64,
        3,
    )
    assert parsed.kafka.consumer_group == "processors"
    assert parsed.api.replicas == 12 and parsed.api.autoscaling.max_replicas == 60
    assert parsed.processor.gpu.node_type == "nvidia-tesla-t4"
    assert parsed.processor.replicas == 4
    assert parsed.database.ssl_mode == "verify-full" and parsed.redis.tls


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("photoStorage: {create: true, kafka: {topics: {photoUpload: {retention: 7d}}}}",
         "unknown keys [retention]"),
        ("photoStorage: {create: true, kafka: {topics: {thumbnails: {partitions: 3}}}}",
         "only photoUpload is known, not [thumbnails]"),
    ],
)  # fmt: skip
def test_unknown_topic_values_fail_with_their_name(
    helm: Helm, tmp_path: Path, values: str, message: str
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(values)
    done = subprocess.run(
        [helm.helm_path, "template", "x", str(CHART), "-f", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr
