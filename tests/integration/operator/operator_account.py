"""The operator's ServiceAccount login, shared with `make demo` (hack/demo/operator_identity.py)."""

from operator_identity import (
    ACCOUNT,
    MANIFESTS,
    NAMESPACE,
    apiserver,
    identity_documents,
    install_identity,
    request_token,
    token_kubeconfig,
)

__all__ = [
    "ACCOUNT",
    "MANIFESTS",
    "NAMESPACE",
    "apiserver",
    "identity_documents",
    "install_identity",
    "request_token",
    "token_kubeconfig",
]
