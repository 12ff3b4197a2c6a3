"""Every builder, by comparing the dicts it returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from photostore.operator.builders import (
    api,
    build_children,
    config,
    jobs,
    monitoring,
    network,
    processor,
    unwanted,
)
from photostore.operator.builders import quota as quota_builders
from photostore.operator.spec import PhotoStorage

MakePs = Callable[..., PhotoStorage]
UID = "0b1c2d3e-0000-4000-8000-000000000001"
OWNER = {
    "apiVersion": "photos.example.com/v1alpha1",
    "kind": "PhotoStorage",
    "name": "photos",
    "uid": UID,
    "controller": True,
    "blockOwnerDeletion": True,
}


def labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "photostore",
        "app.kubernetes.io/instance": "photos",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "photostore-operator",
        "app.kubernetes.io/part-of": "photostore",
        "app.kubernetes.io/version": "0.1.0",
    }


def selector(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "photostore",
        "app.kubernetes.io/instance": "photos",
        "app.kubernetes.io/component": component,
    }


def meta(name: str, component: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "team",
        "labels": labels(component),
        "ownerReferences": [OWNER],
    }


def test_configmap_holds_every_non_secret_setting(ps: PhotoStorage) -> None:
    assert config.build_configmap(ps) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("photos-config", "config"),
        "data": {
            "PHOTOSTORE_DATABASE_URL": "postgresql://db.example:5432/photostore?sslmode=require",
            "PHOTOSTORE_REDIS_URL": "redis://redis.example:6379/0",
            "PHOTOSTORE_KAFKA_BROKERS": "kafka-0:9092,kafka-1:9092",
            "PHOTOSTORE_KAFKA_TOPIC": "photoUpload",
            "PHOTOSTORE_KAFKA_GROUP": "photostore-processor",
            "PHOTOSTORE_S3_BUCKET": "photos",
            "PHOTOSTORE_S3_REGION": "us-east-1",
            "PHOTOSTORE_RATE_LIMIT_REQUESTS": "20",
            "PHOTOSTORE_RATE_LIMIT_WINDOW_SECONDS": "10",
            "PHOTOSTORE_TRUSTED_PROXIES": "",
            "PHOTOSTORE_METRICS_PORT": "9090",
        },
    }


def test_trusted_proxies_reach_the_api_as_one_variable(make_ps: MakePs) -> None:
    ps = make_ps(api={"trustedProxies": ["10.0.0.0/8", "fd00::/8"]})
    data = config.build_configmap(ps)["data"]
    assert data["PHOTOSTORE_TRUSTED_PROXIES"] == "10.0.0.0/8,fd00::/8"


def test_secrets_are_referenced_never_inlined(make_ps: MakePs) -> None:
    ps = make_ps(redis={"host": "r", "tls": True, "secretName": "redis-creds"})
    env = {e["name"]: e for e in config.secret_env(ps)}
    assert env["PGUSER"]["valueFrom"] == {"secretKeyRef": {"name": "db-creds", "key": "username"}}
    assert env["PGPASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "db-creds", "key": "password"}
    }
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "s3-creds", "key": "secretAccessKey"}
    }
    assert env["PHOTOSTORE_REDIS_URL"]["value"] == "rediss://:$(PHOTOSTORE_REDIS_PASSWORD)@r:6379/0"
    assert list(env).index("PHOTOSTORE_REDIS_PASSWORD") < list(env).index("PHOTOSTORE_REDIS_URL")


def test_s3_endpoint_only_when_set(make_ps: MakePs) -> None:
    ps = make_ps(storage={"bucket": "b-1", "secretName": "s", "endpoint": "http://s3:7070"})
    assert config.settings(ps)["PHOTOSTORE_S3_ENDPOINT"] == "http://s3:7070"
    assert "PHOTOSTORE_S3_ENDPOINT" not in config.settings(make_ps())


def test_api_deployment_leaves_replicas_to_the_hpa(ps: PhotoStorage) -> None:
    deployment = api.build_api_deployment(ps)
    assert deployment["metadata"] == meta("photos-api", "api")
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["selector"] == {"matchLabels": selector("api")}
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 1},
    }
    assert deployment["spec"]["progressDeadlineSeconds"] == 600


def test_api_deployment_sets_replicas_without_autoscaling(make_ps: MakePs) -> None:
    ps = make_ps(api={"replicas": 2, "autoscaling": {"enabled": False}})
    assert api.build_api_deployment(ps)["spec"]["replicas"] == 2


def test_api_container(ps: PhotoStorage) -> None:
    container = api.build_api_deployment(ps)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/photostore/photostore:0.1.0"
    assert container["command"] == ["python", "-m", "photostore", "api"]
    assert container["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert container["envFrom"] == [{"configMapRef": {"name": "photos-config"}}]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_config_change_rolls_the_pods(make_ps: MakePs) -> None:
    def config_hash(ps: PhotoStorage) -> str:
        template = api.build_api_deployment(ps)["spec"]["template"]
        return str(template["metadata"]["annotations"][api.CONFIG_HASH_ANNOTATION])

    same = config_hash(make_ps())
    assert config_hash(make_ps()) == same
    assert config_hash(make_ps(api={"rateLimit": {"requests": 5}})) != same


def test_image_tag_overrides_version(make_ps: MakePs) -> None:
    ps = make_ps(version="1.2.3", images={"api": {"repository": "reg:5000/api", "tag": "dev"}})
    container = api.build_api_deployment(ps)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg:5000/api:dev"
    processor_container = processor.build_processor_deployment(ps)["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert processor_container["image"] == "ghcr.io/photostore/photostore-gpu:1.2.3"


def test_api_service(ps: PhotoStorage) -> None:
    assert api.build_api_service(ps) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("photos-api", "api"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector("api"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def test_api_hpa(ps: PhotoStorage) -> None:
    assert api.build_api_hpa(ps) == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta("photos-api", "api"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "photos-api"},
            "minReplicas": 10,
            "maxReplicas": 50,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def test_pdbs(ps: PhotoStorage) -> None:
    for build, component in (
        (api.build_api_pdb, "api"),
        (processor.build_processor_pdb, "processor"),
    ):
        assert build(ps) == {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(f"photos-{component}", component),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(component)}},
        }


def test_processor_runs_on_the_gpu_pool(ps: PhotoStorage) -> None:
    deployment = processor.build_processor_deployment(ps)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 20
    assert deployment["spec"]["progressDeadlineSeconds"] == 600
    assert pod["nodeSelector"] == {"accelerator": "nvidia-tesla-t4"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    container = pod["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"},
    }
    assert {"name": "PHOTOSTORE_PROCESSOR_DEVICE", "value": "gpu"} in container["env"]
    assert container["command"] == ["python", "-m", "photostore", "processor"]


def test_processor_without_gpu_stays_off_the_gpu_pool(make_ps: MakePs) -> None:
    ps = make_ps(processor={"gpu": {"enabled": False}})
    pod = processor.build_processor_deployment(ps)["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
    container = pod["containers"][0]
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert {"name": "PHOTOSTORE_PROCESSOR_DEVICE", "value": "cpu"} in container["env"]


def test_processor_replicas_when_scaling_by_lag(make_ps: MakePs) -> None:
    scaling = {"enabled": True, "minReplicas": 2, "maxReplicas": 6}
    ps = make_ps(processor={"replicas": 20, "autoscaling": scaling})
    assert processor.build_processor_deployment(ps, lag_replicas=4)["spec"]["replicas"] == 4
    assert processor.build_processor_deployment(ps)["spec"]["replicas"] == 6  # no reading yet
    fixed = make_ps(processor={"replicas": 5})
    assert processor.build_processor_deployment(fixed, lag_replicas=4)["spec"]["replicas"] == 5


def test_resource_quota(ps: PhotoStorage) -> None:
    assert quota_builders.build_resource_quota(ps) == {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta("photos-quota", "guardrails"),
        "spec": {
            "hard": {
                "requests.cpu": "200",
                "requests.memory": "400Gi",
                "limits.cpu": "400",
                "limits.memory": "800Gi",
                "requests.nvidia.com/gpu": "40",
                "persistentvolumeclaims": "50",
            }
        },
    }


def test_limit_range(ps: PhotoStorage) -> None:
    assert quota_builders.build_limit_range(ps) == {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta("photos-limits", "guardrails"),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    "default": {"cpu": "1", "memory": "1Gi"},
                }
            ]
        },
    }


def test_network_policies_deny_all_but_ingress_to_8080(ps: PhotoStorage) -> None:
    deny, api_ingress = network.build_network_policies(ps)
    assert deny == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta("photos-default-deny", "network"),
        "spec": {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "photostore",
                    "app.kubernetes.io/instance": "photos",
                }
            },
            "policyTypes": ["Ingress"],
        },
    }
    assert api_ingress["spec"] == {
        "podSelector": {"matchLabels": selector("api")},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        }
                    },
                    {
                        "namespaceSelector": {},
                        "podSelector": {"matchLabels": {"photos.example.com/ingress": "true"}},
                    },
                ],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
    }


def test_monitoring_opens_metrics_ports_to_prometheus(make_ps: MakePs) -> None:
    policies = network.build_network_policies(make_ps(monitoring={"enabled": True}))
    names = [p["metadata"]["name"] for p in policies]
    assert names == [
        "photos-default-deny",
        "photos-api-ingress",
        "photos-api-metrics",
        "photos-processor-metrics",
    ]
    api_ingress = policies[1]["spec"]["ingress"]
    assert all(rule["ports"] == [{"protocol": "TCP", "port": 8080}] for rule in api_ingress)
    assert {"kubernetes.io/metadata.name": "monitoring"} not in [
        peer.get("namespaceSelector", {}).get("matchLabels") for peer in api_ingress[0]["from"]
    ], "Prometheus scrapes the metrics port, not the API's"
    assert policies[2]["spec"]["ingress"] == policies[3]["spec"]["ingress"]
    assert policies[3]["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 9090}],
        }
    ]


def test_migration_job_is_named_after_the_image(make_ps: MakePs) -> None:
    job = jobs.build_migration_job(make_ps())
    assert job["metadata"]["name"].startswith("photos-migrate-")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "photostore",
        "migrate",
    ]
    assert jobs.migration_name(make_ps(version="0.2.0")) != job["metadata"]["name"]
    other_secret = make_ps(database={"host": "db.example", "secretName": "rotated"})
    assert jobs.migration_name(other_secret) != job["metadata"]["name"]
    assert jobs.migration_name(make_ps(api={"replicas": 4})) == job["metadata"]["name"]


def test_backup_cronjob(make_ps: MakePs) -> None:
    ps = make_ps(backup={"schedule": "@daily", "retentionDays": 7, "suspend": True})
    cron = jobs.build_backup_cronjob(ps)
    assert cron["metadata"] == meta("photos-backup", "backup")
    assert (cron["spec"]["schedule"], cron["spec"]["suspend"]) == ("@daily", True)
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "photostore", "backup"]
    assert container["image"] == "ghcr.io/photostore/photostore:0.1.0"  # the project image
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PHOTOSTORE_BACKUP_BUCKET"] == "photos"  # storage.bucket when backup.bucket is empty
    assert env["PHOTOSTORE_BACKUP_PREFIX"] == "backups/photos/"
    assert env["PHOTOSTORE_BACKUP_RETENTION_DAYS"] == "7"
    assert env["PHOTOSTORE_DATABASE_URL"].startswith("postgresql://db.example:5432/")
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
    }
    assert set(secrets) == {"PGUSER", "PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert secrets["PGPASSWORD"]["key"] == "password"


def test_backup_cronjob_env_is_what_the_backup_settings_read(
    make_ps: MakePs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CronJob's env, fed to the backup's settings class, names the right database and
    bucket: a renamed variable on either side fails here."""
    from photostore.backup.config import Settings as BackupSettings

    ps = make_ps(backup={"bucket": "photo-backups", "retentionDays": 9})
    cron = jobs.build_backup_cronjob(ps)
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    for e in container["env"]:
        monkeypatch.setenv(e["name"], e.get("value") or f"secret-{e['name']}")
    settings = BackupSettings()
    params = settings.database_params()
    assert (params["host"], params["user"], params["password"]) == (
        "db.example",
        "secret-PGUSER",
        "secret-PGPASSWORD",
    )
    assert settings.bucket() == "photo-backups"
    assert settings.backup_prefix == "backups/photos/"
    assert settings.backup_retention_days == 9


def test_every_child_is_owned_and_labelled(ps: PhotoStorage) -> None:
    children = build_children(ps)
    kinds = [c["kind"] for c in children]
    assert kinds == [
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "NetworkPolicy",
        "ConfigMap",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Deployment",
        "PodDisruptionBudget",
        "CronJob",
        "CronJob",
    ]
    for child in children:
        assert child["metadata"]["ownerReferences"] == [OWNER]
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "photostore-operator"
        assert child["metadata"]["namespace"] == "team"


def test_switched_off_children_are_unwanted(make_ps: MakePs) -> None:
    ps = make_ps(
        api={"autoscaling": {"enabled": False}},
        quota={"enabled": False},
        backup={"enabled": False},
    )
    assert unwanted(ps, build_children(ps)) == [
        ("v1", "ResourceQuota", "photos-quota"),
        ("v1", "LimitRange", "photos-limits"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "photos-api"),
        ("networking.k8s.io/v1", "Ingress", "photos-api"),
        ("batch/v1", "CronJob", "photos-backup"),
        ("batch/v1", "CronJob", "photos-backup-verify"),
        ("networking.k8s.io/v1", "NetworkPolicy", "photos-processor-metrics"),
        ("networking.k8s.io/v1", "NetworkPolicy", "photos-api-metrics"),
        ("v1", "Service", "photos-processor-metrics"),
        ("v1", "Service", "photos-api-metrics"),
        ("monitoring.coreos.com/v1", "ServiceMonitor", "photos"),
    ]
    full = make_ps(monitoring={"enabled": True}, ingress={"host": "photos.example.com"})
    assert unwanted(full, build_children(full, service_monitors=True)) == []
    no_crd = unwanted(full, build_children(full, service_monitors=False))
    assert no_crd == [("monitoring.coreos.com/v1", "ServiceMonitor", "photos")]


def test_service_monitor_scrapes_both_metrics_ports(ps: PhotoStorage) -> None:
    monitor = monitoring.build_service_monitor(ps)
    assert monitor["metadata"] == meta("photos", "monitoring")
    assert monitor["spec"] == {
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "photostore",
                "app.kubernetes.io/instance": "photos",
            }
        },
        "namespaceSelector": {"matchNames": ["team"]},
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
    }
    for service, component in zip(
        monitoring.build_metrics_services(ps), ("api", "processor"), strict=True
    ):
        assert service["metadata"]["name"] == f"photos-{component}-metrics"
        assert service["spec"] == {
            "clusterIP": "None",
            "selector": selector(component),
            "ports": [{"name": "metrics", "port": 9090, "targetPort": "metrics"}],
        }


def test_processor_is_restarted_when_stuck_and_unrouted_while_it_cannot_store(
    ps: PhotoStorage,
) -> None:
    deployment = processor.build_processor_deployment(ps)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
