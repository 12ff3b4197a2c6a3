"""End-to-end fixtures: one PhotoStorage installation for the session (see installation.py)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlparse

import psycopg
import pytest
import yaml
from installation import (
    NAME,
    READY_TIMEOUT,
    Installation,
    delete_topics,
    drop_database,
    e2e_spec,
    node_annotations,
    secret,
    start_operator,
    stop,
)
from operator_identity import install_identity, request_token, token_kubeconfig
from ps_cluster import CRD_FILE, REPO_ROOT, Cluster
from service_fixtures import fresh_bucket, s3_client

from photostore.events import dead_letter_topic, ensure_topics


@pytest.fixture(scope="session")
def installation(
    env: dict[str, str], kubeconfig: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    if "PHOTOSTORE_NODE_POOL" not in env:
        pytest.fail("the environment runs without its real node (PHOTOSTORE_NODE=0)")
    suffix = uuid.uuid4().hex[:8]
    namespace, database, topic = f"e2e-{suffix}", f"e2e_{suffix}", f"e2e.{suffix}"
    cluster = Cluster(env["KUBECTL"], kubeconfig)
    workdir = tmp_path_factory.mktemp("e2e")
    admin_url = env["PHOTOSTORE_DATABASE_URL"]
    admin = urlparse(admin_url)
    redis_password = urlparse(env["PHOTOSTORE_REDIS_URL"]).password or ""
    brokers = env["PHOTOSTORE_KAFKA_BROKERS"]
    # The pods run this checkout's code: the image's package layer follows the sources
    # (cached by their hash; imported only when it changed).
    subprocess.run([str(REPO_ROOT / "hack/env/node/build-image.sh")], check=True, timeout=900)
    with ExitStack() as stack:
        cluster.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
        cluster.run(
            "wait", "--for=condition=Established", "--timeout=60s",
            "crd/photostorages.photos.example.com",
        )  # fmt: skip
        install_identity(cluster)
        namespace_obj = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "annotations": node_annotations(env["PHOTOSTORE_NODE_POOL"]),
            },
        }
        cluster.apply(namespace_obj)
        stack.callback(cluster.run, "delete", "namespace", namespace, "--wait=false", check=False)

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"'.encode())
        stack.callback(drop_database, admin_url, database)

        s3 = s3_client(env)
        bucket = stack.enter_context(fresh_bucket(s3, f"e2e-{suffix}", env["PHOTOSTORE_S3_REGION"]))

        topics = [topic, dead_letter_topic(topic)]
        ensure_topics(brokers, topics, partitions=2, replication=3)
        stack.callback(delete_topics, brokers, topics)

        secrets = {
            "photostore-db": {"username": admin.username or "", "password": admin.password or ""},
            "photostore-s3": {
                "accessKeyId": env["PHOTOSTORE_S3_ACCESS_KEY"],
                "secretAccessKey": env["PHOTOSTORE_S3_SECRET_KEY"],
            },
            "photostore-redis": {"password": redis_password},
        }
        for name, data in secrets.items():
            cluster.apply(secret(name, data), namespace)

        operator_kubeconfig = token_kubeconfig(
            cluster, workdir / "operator-kubeconfig", request_token(cluster)
        )
        log_path = workdir / "operator.log"
        operator = start_operator(namespace, operator_kubeconfig, log_path)
        stack.callback(stop, operator)

        installed = Installation(
            cluster=cluster,
            namespace=namespace,
            database_url=admin._replace(path=f"/{database}").geturl(),
            bucket=bucket,
            topic=topic,
            s3=s3,
            operator_log=log_path,
            env=env,
        )
        manifest = {
            "apiVersion": "photos.example.com/v1alpha1",
            "kind": "PhotoStorage",
            "metadata": {"name": NAME},
            "spec": e2e_spec(database, bucket, topic),
        }
        cluster.run("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))
        # Deleted while the operator still runs, before the namespace goes.
        stack.callback(
            cluster.run, "delete", "photostorage", NAME, "-n", namespace, "--timeout=60s",
            check=False,
        )  # fmt: skip
        try:
            cluster.wait_condition(NAME, namespace, "Ready", timeout=READY_TIMEOUT)
        except AssertionError as error:
            pods = cluster.run("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
            raise AssertionError(f"{error}\n{pods}\n{installed.operator_log_tail()}") from error
        yield installed


@pytest.fixture(scope="session")
def user_token(installation: Installation) -> str:
    """A registered user's session token, through the API Service."""
    credentials = {"email": f"e2e-{uuid.uuid4().hex[:8]}@example.com", "password": "e2e passphrase"}
    with installation.client() as client:
        registered = client.post("/v1/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        login = client.post("/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    return token
