"""Apply, self-heal, roll out, degrade and delete, on the real control plane with kwok nodes."""

from __future__ import annotations

import time
from typing import Any

from kopf.testing import KopfRunner
from ps_cluster import Cluster, photostorage, small_spec, wait_for

NAME = "photos"
INSTANCE = f"app.kubernetes.io/instance={NAME}"


def _managers(obj: dict[str, Any]) -> set[str]:
    return {m["manager"] for m in obj["metadata"].get("managedFields", [])}


def _owned_by_operator(obj: dict[str, Any], ps: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r["uid"] == ps["metadata"]["uid"] and r.get("controller") for r in refs)


def _running_pods(
    cluster: Cluster, namespace: str, component: str, count: int
) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        pods = cluster.list(
            "pods", namespace, f"{INSTANCE},app.kubernetes.io/component={component}"
        )
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return running if len(running) == count else None

    return wait_for(f"{count} running {component} pods", check, timeout=60)


def test_apply_creates_every_child_and_becomes_ready(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    spec = small_spec(
        api={"replicas": 2, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 3}}
    )
    cluster.apply(photostorage(NAME, spec), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    ps = cluster.get("photostorage", NAME, namespace)
    assert ps is not None
    assert ps["status"]["observedGeneration"] == ps["metadata"]["generation"]

    children = {
        "deployment": ["photos-api", "photos-processor"],
        "service": ["photos-api"],
        "hpa": ["photos-api"],
        "pdb": ["photos-api", "photos-processor"],
        "resourcequota": ["photos-quota"],
        "limitrange": ["photos-limits"],
        "networkpolicy": ["photos-default-deny", "photos-api-ingress"],
        "configmap": ["photos-config"],
        "cronjob": ["photos-backup"],
    }
    for kind, names in children.items():
        for name in names:
            child = cluster.get(kind, name, namespace)
            assert child is not None, f"{kind}/{name} missing"
            assert _owned_by_operator(child, ps), f"{kind}/{name} not owned"
            labels = child["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "photostore-operator"
            assert labels["app.kubernetes.io/instance"] == NAME
            assert "photostore-operator" in _managers(child)

    api = cluster.get("deployment", "photos-api", namespace)
    assert api is not None
    api_fields = next(
        m for m in api["metadata"]["managedFields"] if m["manager"] == "photostore-operator"
    )
    assert "f:replicas" not in api_fields["fieldsV1"]["f:spec"], "the HPA owns replicas"
    assert "photostore-operator-handover" in _managers(api), "started at minReplicas"
    assert api["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 3, "maxUnavailable": 1}
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {"configMapRef": {"name": "photos-config"}} in container["envFrom"]

    quota = cluster.get("resourcequota", "photos-quota", namespace)
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"
    hpa = cluster.get("hpa", "photos-api", namespace)
    assert hpa is not None and (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 3)

    nodes = {n["metadata"]["name"]: n for n in cluster.run_json("get", "nodes")["items"]}
    for pod in _running_pods(cluster, namespace, "processor", 2):
        node = nodes[pod["spec"]["nodeName"]]
        assert node["metadata"]["labels"].get("accelerator") == "nvidia-tesla-t4"
        assert node["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake"
        limits = pod["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1"
    for pod in _running_pods(cluster, namespace, "api", 2):
        node = nodes[pod["spec"]["nodeName"]]
        assert "accelerator" not in node["metadata"]["labels"]
        assert node["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake"

    for reason in ("Created", "Ready"):
        event = cluster.wait_event(namespace, reason)
        assert event["involvedObject"]["kind"] == "PhotoStorage"


def test_deleted_or_edited_children_are_restored(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)

    for kind, name in (
        ("deployment", "photos-api"),
        ("service", "photos-api"),
        ("networkpolicy", "photos-default-deny"),
    ):
        old = cluster.get(kind, name, namespace)
        assert old is not None
        started = time.monotonic()
        cluster.run("delete", kind, name, "-n", namespace, "--wait=false")

        def recreated(
            kind: str = kind, name: str = name, uid: str = old["metadata"]["uid"]
        ) -> bool:
            new = cluster.get(kind, name, namespace)
            return new is not None and new["metadata"]["uid"] != uid

        wait_for(f"{kind}/{name} recreated", recreated, timeout=10)
        assert time.monotonic() - started < 10

    cluster.run(
        "patch",
        "configmap",
        "photos-config",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"PHOTOSTORE_KAFKA_TOPIC":"hijacked"}}',
    )
    cluster.run(
        "patch",
        "deployment",
        "photos-processor",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]',
    )
    cluster.run("scale", "deployment", "photos-api", "-n", namespace, "--replicas=5")

    def restored() -> bool:
        config = cluster.get("configmap", "photos-config", namespace) or {}
        processor = cluster.get("deployment", "photos-processor", namespace) or {}
        api = cluster.get("deployment", "photos-api", namespace) or {}
        return (
            config.get("data", {}).get("PHOTOSTORE_KAFKA_TOPIC") == "photoUpload"
            and processor["spec"]["template"]["spec"].get("nodeSelector")
            == {"accelerator": "nvidia-tesla-t4"}
            and api["spec"]["replicas"] == 2
        )

    wait_for("edited children restored", restored, timeout=10)


def test_spec_change_is_rolled_out_and_observed(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    before = cluster.get("deployment", "photos-api", namespace)
    assert before is not None

    changed = small_spec(
        processor={"replicas": 3},
        api={"replicas": 2, "autoscaling": {"enabled": False}, "rateLimit": {"requests": 5}},
    )
    cluster.apply(photostorage(NAME, changed), namespace)

    def observed() -> dict[str, Any] | None:
        ps = cluster.get("photostorage", NAME, namespace) or {}
        status = ps.get("status") or {}
        ready = {c["type"]: c for c in status.get("conditions", [])}.get("Ready", {})
        generation = ps["metadata"]["generation"]
        if (
            generation == 2
            and status.get("observedGeneration") == 2
            and ready.get("status") == "True"
            and ready.get("observedGeneration") == 2
        ):
            return ps
        return None

    ps = wait_for("generation 2 observed and Ready", observed, timeout=90)
    assert ps["status"]["processor"]["summary"] == "3/3"
    processor = cluster.get("deployment", "photos-processor", namespace)
    assert processor is not None and processor["spec"]["replicas"] == 3
    config = cluster.get("configmap", "photos-config", namespace)
    assert config is not None and config["data"]["PHOTOSTORE_RATE_LIMIT_REQUESTS"] == "5"
    after = cluster.get("deployment", "photos-api", namespace)
    assert after is not None
    hash_key = "photos.example.com/config-hash"
    assert (
        after["spec"]["template"]["metadata"]["annotations"][hash_key]
        != before["spec"]["template"]["metadata"]["annotations"][hash_key]
    ), "a config change must roll the API pods"
    assert after["metadata"]["generation"] > before["metadata"]["generation"]


def test_gpu_quota_smaller_than_the_processors_need_is_degraded(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(
        photostorage(NAME, small_spec(quota={"gpus": 1}, processor={"replicas": 2})), namespace
    )
    degraded = cluster.wait_condition(
        NAME, namespace, "Degraded", reason="GPUQuotaExceeded", timeout=60
    )
    assert "nvidia.com/gpu" in degraded["message"]
    ready = cluster.condition(NAME, namespace, "Ready")
    assert ready is not None and ready["status"] == "False"
    warning = cluster.wait_event(namespace, "GPUQuotaExceeded", type_="Warning")
    assert warning["involvedObject"]["kind"] == "PhotoStorage"


def test_crash_looping_processors_are_degraded(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    # hack/env/kwok-stages/pod-crash-loop.yaml makes every container of this image crash-loop
    # (an environment started before that stage existed needs `make env-down env`).
    crashing = {"repository": "registry.invalid/photostore-crash-loop", "tag": "test"}
    cluster.apply(photostorage(NAME, small_spec(images={"processor": crashing})), namespace)
    degraded = cluster.wait_condition(
        NAME, namespace, "Degraded", reason="CrashLoopBackOff", timeout=60
    )
    assert "photos-processor-" in degraded["message"]
    assert "back-off" in degraded["message"]
    ready = cluster.condition(NAME, namespace, "Ready")
    assert ready is not None and ready["status"] == "False"


def _refuse_quotas_in(cluster: Cluster, namespace: str) -> str:
    """An admission policy that refuses ResourceQuotas in this namespace only; its name."""
    name = f"refuse-quotas-{namespace}"[:63]
    cluster.apply(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["resourcequotas"],
                        }
                    ]
                },
                "validations": [{"expression": "false", "message": "quotas are refused here"}],
            },
        }
    )
    cluster.apply(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        }
    )
    return name


def test_no_workload_runs_before_its_quota_is_in_place(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    policy = _refuse_quotas_in(cluster, namespace)
    try:
        # Admission policies take effect once the apiserver has loaded them.
        probe = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "probe"}}
        wait_for(
            "the admission policy to refuse quotas",
            lambda: cluster.dry_run_create(probe, namespace).returncode != 0,
            timeout=30,
        )
        cluster.apply(photostorage(NAME, small_spec()), namespace)
        degraded = cluster.wait_condition(
            NAME, namespace, "Degraded", reason="ApplyFailed", timeout=60
        )
        assert "ResourceQuota" in degraded["message"]
        assert "quotas are refused here" in degraded["message"]
        assert cluster.list("deployments", namespace) == []

        # Each retry fails the same way: one Event, counted up, not one Event per retry.
        def failures() -> list[dict[str, Any]]:
            return [e for e in cluster.list("events", namespace) if e["reason"] == "ApplyFailed"]

        wait_for("a repeated ApplyFailed counted up",
                 lambda: any(e.get("count", 1) >= 2 for e in failures()), timeout=60)  # fmt: skip
        messages = [e["message"] for e in failures()]
        assert len(messages) == len(set(messages))
    finally:
        cluster.run("delete", "validatingadmissionpolicybinding", policy, check=False)
        cluster.run("delete", "validatingadmissionpolicy", policy, check=False)
    # With the policy gone, the next pass puts the quota in place, then the workloads.
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    assert cluster.get("resourcequota", "photos-quota", namespace) is not None


def test_no_node_of_the_gpu_type_is_degraded_as_unschedulable(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    spec = small_spec(processor={"replicas": 1, "gpu": {"nodeType": "nvidia-a100"}})
    cluster.apply(photostorage(NAME, spec), namespace)
    degraded = cluster.wait_condition(
        NAME, namespace, "Degraded", reason="Unschedulable", timeout=60
    )
    assert "node" in degraded["message"]


def test_deleting_the_photostorage_removes_its_children(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    cluster.run("delete", "photostorage", NAME, "-n", namespace, "--wait=true", "--timeout=30s")

    def gone() -> bool:
        kinds = (
            "deployments,services,configmaps,hpa,pdb,resourcequotas,limitranges,"
            "networkpolicies,cronjobs,jobs"
        )
        return not cluster.list(kinds, namespace, INSTANCE)

    wait_for("children garbage-collected", gone, timeout=60)


def test_switching_autoscaling_on_hands_replicas_to_the_hpa_without_a_dip(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec(api={"replicas": 3})), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)
    scaling = {"enabled": True, "minReplicas": 2, "maxReplicas": 5}
    cluster.apply(photostorage(NAME, small_spec(api={"replicas": 3, "autoscaling": scaling})),
                  namespace)  # fmt: skip

    seen: list[int] = []

    def handed_over() -> bool:
        api = cluster.get("deployment", "photos-api", namespace) or {}
        seen.append(api["spec"]["replicas"])
        fields = {
            m["manager"]: m["fieldsV1"]
            for m in api["metadata"]["managedFields"]
            if m["operation"] == "Apply"
        }
        return (
            cluster.get("hpa", "photos-api", namespace) is not None
            and "f:replicas" not in (fields["photostore-operator"]["f:spec"])
        )

    wait_for("the HPA created and replicas no longer applied", handed_over, timeout=30)
    for _ in range(10):
        handed_over()
    assert set(seen) == {3}, f"replicas must stay 3 while the HPA takes over, saw {seen}"


def test_switched_off_children_are_deleted(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    scaling = {"enabled": True, "minReplicas": 2, "maxReplicas": 3}
    cluster.apply(photostorage(NAME, small_spec(api={"autoscaling": scaling})), namespace)
    wait_for("the HPA", lambda: cluster.get("hpa", "photos-api", namespace), timeout=30)
    wait_for("the CronJob", lambda: cluster.get("cronjob", "photos-backup", namespace), timeout=30)

    off = small_spec(
        api={"replicas": 2, "autoscaling": {"enabled": False}}, backup={"enabled": False}
    )
    cluster.apply(photostorage(NAME, off), namespace)

    def gone() -> bool:
        return (
            cluster.get("hpa", "photos-api", namespace) is None
            and cluster.get("cronjob", "photos-backup", namespace) is None
        )

    wait_for("HPA and CronJob deleted", gone, timeout=30)
    cluster.wait_event(namespace, "Deleted", "HorizontalPodAutoscaler")
    wait_for(  # once its migration Job is done, the API Deployment holds the spec's replicas
        "the API Deployment with 2 replicas",
        lambda: (
            (cluster.get("deployment", "photos-api", namespace) or {})
            .get("spec", {})
            .get("replicas")
            == 2
        ),
        timeout=30,
    )


def test_stalled_rollout_is_degraded_with_progress_deadline_exceeded(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    spec = small_spec(
        processor={"replicas": 1, "progressDeadlineSeconds": 10, "gpu": {"nodeType": "nvidia-a100"}}
    )
    cluster.apply(photostorage(NAME, spec), namespace)
    degraded = cluster.wait_condition(
        NAME, namespace, "Degraded", reason="ProgressDeadlineExceeded", timeout=60
    )
    assert "photos-processor" in degraded["message"]
    progressing = cluster.condition(NAME, namespace, "Progressing")
    assert progressing is not None and progressing["reason"] == "RolloutStalled"


def _drift_events(cluster: Cluster, namespace: str) -> list[str]:
    events = cluster.list("events", namespace)
    return [e["message"] for e in events if e["reason"] == "DriftRepaired"]


def test_a_child_stripped_of_its_label_or_owner_is_repaired_at_once_and_reported(
    cluster: Cluster, namespace: str, operator: KopfRunner
) -> None:
    cluster.apply(photostorage(NAME, small_spec()), namespace)
    cluster.wait_condition(NAME, namespace, "Ready", timeout=90)

    cluster.run("label", "deployment", "photos-api", "-n", namespace,
                "app.kubernetes.io/managed-by-")  # fmt: skip
    started = time.monotonic()
    wait_for(
        "the managed-by label put back",
        lambda: (
            "app.kubernetes.io/managed-by"
            in (cluster.get("deployment", "photos-api", namespace) or {})["metadata"].get(
                "labels", {}
            )
        ),
        timeout=10,
    )
    assert time.monotonic() - started < 2

    cluster.run("patch", "service", "photos-api", "-n", namespace, "--type=json",
                "-p", '[{"op":"remove","path":"/metadata/ownerReferences"}]')  # fmt: skip
    started = time.monotonic()
    wait_for(
        "the owner reference put back",
        lambda: (cluster.get("service", "photos-api", namespace) or {})["metadata"].get(
            "ownerReferences"
        ),
        timeout=10,
    )
    assert time.monotonic() - started < 2

    cluster.run("scale", "deployment", "photos-api", "-n", namespace, "--replicas=5")
    messages = wait_for(
        "three DriftRepaired Events",
        lambda: (found := _drift_events(cluster, namespace)) and len(found) >= 3 and found,
        timeout=10,
    )
    text = "\n".join(messages)
    assert "Deployment photos-api: metadata.labels.app.kubernetes.io/managed-by was removed" in text
    assert "Service photos-api: metadata.ownerReferences was removed" in text
    assert "Deployment photos-api: spec.replicas was 5, set back to 2" in text
