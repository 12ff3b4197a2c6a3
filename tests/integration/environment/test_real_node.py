"""The real node runs the project's image: containers really exit, and pods reach the host's
servers through Services and cluster DNS, as pods of a real cluster would.

A pod lands on the real node with the node pool's nodeSelector and toleration
(PHOTOSTORE_NODE_POOL in var/env) and imagePullPolicy Never for PHOTOSTORE_NODE_IMAGE.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config

JOB_TIMEOUT = 120


@pytest.fixture(scope="module")
def api(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"node-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)


def real_node_pod_spec(env: dict[str, str], container: dict[str, Any]) -> dict[str, Any]:
    """A pod spec that lands on the real node: the pool's nodeSelector and toleration."""
    key, _, value = env["PHOTOSTORE_NODE_POOL"].partition("=")
    return {
        "nodeSelector": {key: value},
        "tolerations": [{"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}],
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {"name": "main", "image": env["PHOTOSTORE_NODE_IMAGE"], "imagePullPolicy": "Never"}
            | container
        ],
    }


def run_job(
    api: client.ApiClient, namespace: str, env: dict[str, str], container: dict[str, Any]
) -> tuple[str, client.V1Pod]:
    """Runs a Job of one pod, no retries; returns its final condition type and its pod."""
    name = f"job-{uuid.uuid4().hex[:6]}"
    spec = real_node_pod_spec(env, container) | {"restartPolicy": "Never"}
    client.BatchV1Api(api).create_namespaced_job(
        namespace,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": spec}},
        },
    )

    def finished() -> str | None:
        job = client.BatchV1Api(api).read_namespaced_job(name, namespace)
        for condition in job.status.conditions or []:
            if condition.type in ("Complete", "Failed") and condition.status == "True":
                return str(condition.type)
        return None

    outcome = eventually(finished, JOB_TIMEOUT, f"Job {name} to finish")
    (pod,) = (
        client.CoreV1Api(api)
        .list_namespaced_pod(namespace, label_selector=f"job-name={name}")
        .items
    )
    return outcome, pod


def pod_log(api: client.ApiClient, pod: client.V1Pod) -> str:
    """The container's output, fetched from the kubelet through the apiserver."""
    response = client.CoreV1Api(api).read_namespaced_pod_log(
        pod.metadata.name, pod.metadata.namespace, _preload_content=False
    )
    return bytes(response.data).decode()


def exit_code(pod: client.V1Pod) -> int:
    (status,) = pod.status.container_statuses
    assert status.state.terminated is not None, status.state
    return int(status.state.terminated.exit_code)


def test_job_of_the_project_image_succeeds_on_the_real_node(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    outcome, pod = run_job(api, namespace, env, {"args": ["crd"]})
    assert outcome == "Complete"
    assert pod.spec.node_name == env["PHOTOSTORE_NODE_NAME"]
    assert exit_code(pod) == 0
    # The container really ran the package: its output comes back through the kubelet.
    log = pod_log(api, pod)
    assert "kind: CustomResourceDefinition" in log
    assert "photostorages.photos.example.com" in log


def test_job_whose_container_exits_1_fails(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    outcome, pod = run_job(
        api, namespace, env, {"command": ["python", "-c", "raise SystemExit(1)"]}
    )
    assert outcome == "Failed"
    assert pod.spec.node_name == env["PHOTOSTORE_NODE_NAME"]
    assert exit_code(pod) == 1


def test_container_runs_as_the_image_user_with_a_safe_path(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    script = "import os, sys; print(os.getuid(), sys.flags.safe_path, sys.executable)"
    outcome, pod = run_job(api, namespace, env, {"command": ["python", "-c", script]})
    assert outcome == "Complete"
    log = pod_log(api, pod)
    assert log.split() == ["10001", "True", "/opt/venv/bin/python"]


POSTGRES_CHECK = """
import os, socket, psycopg
names = ["postgres.photostore.svc", "postgres.photostore.svc.cluster.local"]
addresses = {socket.gethostbyname(n) for n in names}
print("resolved", *sorted(addresses))
with psycopg.connect(host=names[0], port=5432, dbname="photostore", user="photostore",
                     password=os.environ["PGPASSWORD"], connect_timeout=10) as conn:
    print("server", conn.execute("select inet_server_addr()").fetchone()[0])
"""


def test_pod_resolves_postgres_service_and_connects(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    password = urllib.parse.urlsplit(env["PHOTOSTORE_DATABASE_URL"]).password
    assert password
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        {"metadata": {"name": "db"}, "stringData": {"password": password}},
    )
    secret_env = {"secretKeyRef": {"name": "db", "key": "password"}}
    outcome, pod = run_job(
        api,
        namespace,
        env,
        {
            "command": ["python", "-c", POSTGRES_CHECK],
            "env": [{"name": "PGPASSWORD", "valueFrom": secret_env}],
        },
    )
    log = pod_log(api, pod)
    assert outcome == "Complete", log
    cluster_ip = (
        client.CoreV1Api(api).read_namespaced_service("postgres", "photostore").spec.cluster_ip
    )
    assert f"resolved {cluster_ip}\n" in log
    # The Service's endpoint is the host's PostgreSQL on the bridge gateway.
    assert f"server {env['PHOTOSTORE_NODE_GATEWAY']}" in log


SERVICES_CHECK = """
import os, boto3, redis
from confluent_kafka.admin import AdminClient
r = redis.Redis(host="redis.photostore.svc", port=6379, password=os.environ["REDIS_PASSWORD"])
print("redis", r.ping())
# The bootstrap goes through the Service; the broker then advertises its listener for pods.
brokers = AdminClient({"bootstrap.servers": "kafka.photostore.svc:9092"}).list_topics(timeout=20)
print("kafka", *sorted(f"{b.host}:{b.port}" for b in brokers.brokers.values()))
s3 = boto3.client("s3", endpoint_url="http://s3.photostore.svc", region_name="us-east-1",
                  aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"])
print("s3", s3.head_bucket(Bucket="photos")["ResponseMetadata"]["HTTPStatusCode"])
"""


def test_pod_reaches_redis_kafka_and_s3_through_their_services(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    secrets = {
        "REDIS_PASSWORD": urllib.parse.urlsplit(env["PHOTOSTORE_REDIS_URL"]).password or "",
        "S3_ACCESS_KEY": env["PHOTOSTORE_S3_ACCESS_KEY"],
        "S3_SECRET_KEY": env["PHOTOSTORE_S3_SECRET_KEY"],
    }
    client.CoreV1Api(api).create_namespaced_secret(
        namespace, {"metadata": {"name": "servers"}, "stringData": secrets}
    )
    outcome, pod = run_job(
        api,
        namespace,
        env,
        {
            "command": ["python", "-c", SERVICES_CHECK],
            "envFrom": [{"secretRef": {"name": "servers"}}],
        },
    )
    log = pod_log(api, pod)
    assert outcome == "Complete", log
    assert "redis True\n" in log
    # Every broker advertises its own listener for pods.
    assert f"kafka {' '.join(sorted(env['PHOTOSTORE_NODE_KAFKA_BROKERS'].split(',')))}\n" in log
    assert "s3 200\n" in log


def test_cluster_ip_service_in_front_of_a_real_pod_answers_from_the_host(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    core = client.CoreV1Api(api)
    labels = {"app": "web"}
    marker = uuid.uuid4().hex
    serve = (
        "import http.server as h\n"
        "class H(h.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        self.send_response(200); self.end_headers(); self.wfile.write(b'{marker}')\n"
        "h.HTTPServer(('', 8080), H).serve_forever()\n"
    )
    spec = real_node_pod_spec(
        env,
        {
            "command": ["python", "-c", serve],
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        },
    )
    core.create_namespaced_pod(
        namespace, {"metadata": {"name": "web", "labels": labels}, "spec": spec}
    )
    service = core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    eventually(
        lambda: any(
            c.type == "Ready" and c.status == "True"
            for c in core.read_namespaced_pod("web", namespace).status.conditions or []
        ),
        JOB_TIMEOUT,
        "pod web to be Ready",
    )

    def answer() -> bytes | None:
        try:
            with urllib.request.urlopen(f"http://{service.spec.cluster_ip}:80/", timeout=2) as r:
                return bytes(r.read())
        except OSError:
            return None

    assert eventually(answer, 30, "the ClusterIP to answer") == marker.encode()


def test_pod_without_the_toleration_never_lands_on_the_real_node(
    api: client.ApiClient, namespace: str, env: dict[str, str]
) -> None:
    core = client.CoreV1Api(api)
    spec = real_node_pod_spec(env, {"command": ["true"]})
    del spec["tolerations"]
    core.create_namespaced_pod(namespace, {"metadata": {"name": "untolerated"}, "spec": spec})

    def unschedulable() -> bool:
        conditions = core.read_namespaced_pod("untolerated", namespace).status.conditions or []
        return any(c.type == "PodScheduled" and c.reason == "Unschedulable" for c in conditions)

    eventually(unschedulable, 30, "the scheduler to refuse the pod")
    assert core.read_namespaced_pod("untolerated", namespace).spec.node_name is None


def test_pods_of_an_annotated_namespace_land_on_the_real_node_unchanged(
    api: client.ApiClient, env: dict[str, str]
) -> None:
    """How the operator's Deployments, Jobs and CronJobs run there: their pod specs say
    nothing of the node; the namespace's annotations add the nodeSelector and toleration."""
    core = client.CoreV1Api(api)
    key, _, value = env["PHOTOSTORE_NODE_POOL"].partition("=")
    name = f"node-ns-{uuid.uuid4().hex[:8]}"
    toleration = {"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}
    annotations = {
        "scheduler.alpha.kubernetes.io/node-selector": env["PHOTOSTORE_NODE_POOL"],
        "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([toleration]),
    }
    core.create_namespace({"metadata": {"name": name, "annotations": annotations}})
    try:
        container = {
            "name": "main",
            "image": env["PHOTOSTORE_NODE_IMAGE"],
            "imagePullPolicy": "Never",
            "args": ["crd"],
        }
        created = core.create_namespaced_pod(
            name,
            {
                "metadata": {"name": "plain"},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            },
        )
        assert created.spec.node_selector == {key: value}

        def succeeded() -> client.V1Pod | None:
            pod = core.read_namespaced_pod("plain", name)
            return pod if pod.status.phase == "Succeeded" else None

        pod = eventually(succeeded, JOB_TIMEOUT, "the pod to succeed")
        assert pod.spec.node_name == env["PHOTOSTORE_NODE_NAME"]
        assert exit_code(pod) == 0
    finally:
        core.delete_namespace(name)
