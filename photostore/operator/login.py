"""How the operator proves who it is to the apiserver.

In a pod it uses its ServiceAccount: KUBERNETES_SERVICE_HOST/PORT and the projected token
the kubelet mounts. That token is bound and expires (an hour by default); the kubelet writes
a new one before it does. So the token is read again whenever its file changes, and once more
after a 401, never kept for the process's lifetime. Outside a pod, the kubeconfig named by
KUBECONFIG (client certificate, token or exec plugin), read by the `kubernetes` package.

kopf's own connection and the operator's KubeClient log in through the same `Login`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from photostore.operator.settings import OperatorSettings


class LoginError(Exception):
    """Neither a ServiceAccount nor a usable kubeconfig was found."""


@dataclass
class TokenFile:
    """A token file read again whenever it changes (the kubelet swaps it atomically)."""

    path: Path
    _stamp: tuple[int, int, int] | None = field(default=None, init=False)
    _token: str = field(default="", init=False)

    def token(self, *, reread: bool = False) -> str:
        stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if reread or stamp != self._stamp:
            self._token = self.path.read_text(encoding="utf-8").strip()
            self._stamp = stamp
        return self._token


@dataclass
class Login:
    """Where the apiserver is and how to prove who we are to it."""

    server: str
    ca_path: str | None = None
    certificate_path: str | None = None
    private_key_path: str | None = None
    insecure: bool = False
    namespace: str | None = None
    token_file: TokenFile | None = None
    # A kubeconfig's bearer token as the `kubernetes` package keeps it ("Bearer ..."), asked
    # each time so that its exec plugins and expiring tokens are refreshed by it.
    kubeconfig_bearer: Callable[[], str | None] | None = None

    def token(self, *, reread: bool = False) -> str | None:
        """The current bearer token, without its scheme; None with a client certificate."""
        if self.token_file is not None:
            return self.token_file.token(reread=reread) or None
        if self.kubeconfig_bearer is not None:
            header = self.kubeconfig_bearer()
            if header:
                return header.split(" ", 1)[1] if " " in header else header
        return None

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_path)
        if self.certificate_path:
            context.load_cert_chain(self.certificate_path, self.private_key_path)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def in_cluster_login(settings: OperatorSettings) -> Login | None:
    """The pod's ServiceAccount, when the kubelet has given us one."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    account = settings.service_account_dir
    if not host or not port or not (account / "token").is_file():
        return None
    ca = account / "ca.crt"
    namespace = account / "namespace"
    return Login(
        server=f"https://{_host_port(host, port)}",
        ca_path=str(ca) if ca.is_file() else None,
        namespace=namespace.read_text(encoding="utf-8").strip() if namespace.is_file() else None,
        token_file=TokenFile(account / "token"),
    )


def kubeconfig_login() -> Login:
    """The current context of KUBECONFIG (read now: tests set it late)."""
    configuration: Any = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    except (k8s_config.ConfigException, OSError) as error:
        raise LoginError(f"no ServiceAccount token and no usable kubeconfig: {error}") from error
    return Login(
        server=str(configuration.host).rstrip("/"),
        ca_path=configuration.ssl_ca_cert,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        insecure=not configuration.verify_ssl,
        kubeconfig_bearer=lambda: configuration.get_api_key_with_prefix("BearerToken"),
    )


def load_login(settings: OperatorSettings | None = None) -> Login:
    return in_cluster_login(settings or OperatorSettings()) or kubeconfig_login()
