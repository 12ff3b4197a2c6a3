"""The operator's RBAC, derived from the registry of kinds it touches (`children`).

`python -m photostore rbac` prints the ClusterRole that manifests/operator/operator.yaml
ships; a test keeps the two equal. Nothing is granted that the code does not call.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import yaml

from photostore.operator.children import ALL, PHOTOSTORAGE, STATUS_VERBS

ROLE_NAME = "photostore-operator"
Rule = dict[str, list[str]]

# What kopf itself calls: it finds the resource in the CRDs, lists namespaces when it
# watches all of them, and keeps its peering objects.
KOPF_RULES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("apiextensions.k8s.io", "customresourcedefinitions", frozenset({"list", "watch"})),
    ("", "namespaces", frozenset({"list", "watch"})),
    ("kopf.dev", "clusterkopfpeerings", frozenset({"get", "list", "watch", "patch"})),
    ("kopf.dev", "kopfpeerings", frozenset({"get", "list", "watch", "patch"})),
)


def grants() -> dict[tuple[str, str], frozenset[str]]:
    """(API group, resource) -> verbs, for everything the operator and kopf call."""
    granted: dict[tuple[str, str], frozenset[str]] = {
        (k.group, k.plural): k.rbac_verbs for k in ALL
    }
    granted[(PHOTOSTORAGE.group, f"{PHOTOSTORAGE.plural}/status")] = STATUS_VERBS
    for group, resource, verbs in KOPF_RULES:
        granted[(group, resource)] = granted.get((group, resource), frozenset()) | verbs
    return granted


def rules() -> list[Rule]:
    """One rule per API group and set of verbs, in a stable order."""
    merged: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), verbs in grants().items():
        merged[(group, tuple(sorted(verbs)))].append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in sorted(merged.items())
    ]


def cluster_role() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": ROLE_NAME},
        "rules": rules(),
    }


def main(argv: list[str]) -> None:
    if argv:
        raise SystemExit("usage: photostore rbac")
    sys.stdout.write(yaml.safe_dump(cluster_role(), sort_keys=False))
