"""The operator's identity as a cluster gives it: the ServiceAccount and RBAC of
manifests/operator/, and bound tokens from the TokenRequest API. Admin rights (the
environment's kubeconfig) are used only to set these up.

Shared by `make demo` (which runs the operator as a local process logged in as its
ServiceAccount) and the integration and end-to-end tests (pytest's `pythonpath` has hack/demo).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Protocol

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests" / "operator"
NAMESPACE = "photostore-system"
ACCOUNT = "photostore-operator"
IDENTITY_KINDS = {
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
}


class Cluster(Protocol):
    """What these functions need of a kubectl wrapper: run it as the admin, and its kubeconfig."""

    kubeconfig: str

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]: ...


def identity_documents() -> list[dict[str, Any]]:
    """The namespace, ServiceAccount and RBAC objects of the shipped manifests, as shipped."""
    return [
        doc
        for manifest in sorted(MANIFESTS.glob("*.yaml"))
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc and doc.get("kind") in IDENTITY_KINDS
    ]


def install_identity(cluster: Cluster) -> None:
    for doc in identity_documents():
        cluster.run("apply", "--server-side", "--force-conflicts", "-f", "-",
                    stdin=yaml.safe_dump(doc))  # fmt: skip


def request_token(cluster: Cluster, bound_secret: str | None = None) -> str:
    """A token of the operator's ServiceAccount from the TokenRequest API. Bound to a Secret,
    it stops working the moment that Secret is deleted."""
    args = ["create", "token", ACCOUNT, "-n", NAMESPACE, "--duration", "2h"]
    if bound_secret:
        args += ["--bound-object-kind", "Secret", "--bound-object-name", bound_secret]
    return cluster.run(*args).stdout.strip()


def apiserver(cluster: Cluster) -> tuple[str, str]:
    """The server URL and CA file of the environment's kubeconfig."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    entry = config["clusters"][0]["cluster"]
    return entry["server"], entry["certificate-authority"]


def token_kubeconfig(cluster: Cluster, path: Path, token: str) -> Path:
    server, ca = apiserver(cluster)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "local", "cluster": {"server": server, "certificate-authority": ca}}
                ],
                "users": [{"name": ACCOUNT, "user": {"token": token}}],
                "contexts": [{"name": ACCOUNT, "context": {"cluster": "local", "user": ACCOUNT}}],
                "current-context": ACCOUNT,
            }
        )
    )
    path.chmod(0o600)
    return path
