"""A Ready PhotoStorage pointed at a database Secret with a wrong password: the new migration
Job fails for real against PostgreSQL, the PhotoStorage says so (Degraded, MigrationFailed,
naming the Job), and the API pods of the previous template keep serving: Deployments whose
pod template changed wait for their template's migration Job to succeed."""

from __future__ import annotations

from urllib.parse import urlparse

from installation import NAME, Installation, ready, secret
from ps_cluster import wait_for

WRONG_SECRET = "photostore-db-wrong"
TIMEOUT = 300


def api_template_secret(installation: Installation) -> str:
    deployment = installation.cluster.run_json(
        "get", "deployment", f"{NAME}-api", "-n", installation.namespace
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    secrets = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if e["name"] == "PGPASSWORD"
    }
    (name,) = secrets
    return name


def test_wrong_password_fails_the_migration_and_the_previous_api_keeps_serving(
    installation: Installation, user_token: str
) -> None:
    cluster, namespace = installation.cluster, installation.namespace
    cluster.wait_condition(NAME, namespace, "Ready", timeout=TIMEOUT)
    previous_secret = installation.ps()["spec"]["database"]["secretName"]
    serving = {p["metadata"]["name"] for p in installation.pods("api") if ready(p)}
    migration = "app.kubernetes.io/component=migration"
    old_jobs = {j["metadata"]["name"] for j in cluster.list("jobs", namespace, migration)}
    username = urlparse(installation.env["PHOTOSTORE_DATABASE_URL"]).username or ""
    wrong = {"username": username, "password": "not-the-password"}
    cluster.apply(secret(WRONG_SECRET, wrong), namespace)

    installation.patch_spec({"database": {"secretName": WRONG_SECRET}})
    try:

        def failed_pod() -> dict[str, str] | None:
            pods = cluster.list("pods", namespace, migration)
            for pod in pods:
                job = pod["metadata"]["labels"].get("job-name", "")
                if job not in old_jobs and pod["status"].get("phase") == "Failed":
                    return {"job": job, "pod": pod["metadata"]["name"]}
            return None

        failure = wait_for("a failed new migration pod", failed_pod, timeout=TIMEOUT, every=1)
        log = cluster.run("logs", failure["pod"], "-n", namespace, check=False).stdout
        assert "password authentication failed" in log, log

        degraded = cluster.wait_condition(
            NAME, namespace, "Degraded", reason="MigrationFailed", timeout=TIMEOUT
        )
        assert failure["job"] in degraded["message"], degraded

        # The API's new template waits for its migration: the old pods keep serving.
        assert api_template_secret(installation) == previous_secret
        still = {p["metadata"]["name"] for p in installation.pods("api") if ready(p)}
        assert still == serving
        with installation.client(user_token) as client:
            assert client.get("/health").status_code == 200
            listed = client.get("/v1/photos", params={"limit": 1})
            assert listed.status_code == 200, listed.text
    finally:
        installation.patch_spec({"database": {"secretName": previous_secret}})
    cluster.wait_condition(NAME, namespace, "Ready", timeout=TIMEOUT)
