"""A small asyncio Kubernetes client: server-side apply, get, list, delete, status, events.

The official client is synchronous and turns every response into model objects; the
operator only needs plain dicts and one PATCH flavour, so it talks REST over aiohttp and
borrows only the kubeconfig / in-cluster login from the `kubernetes` package.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

FIELD_MANAGER = "photostore-operator"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_CONTENT_TYPE = "application/merge-patch+json"

Obj = dict[str, Any]

# Plural names of the kinds the operator touches (no discovery round trip needed).
PLURALS = {
    "ConfigMap": "configmaps",
    "CronJob": "cronjobs",
    "Deployment": "deployments",
    "Event": "events",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "Job": "jobs",
    "LimitRange": "limitranges",
    "Namespace": "namespaces",
    "NetworkPolicy": "networkpolicies",
    "PhotoStorage": "photostorages",
    "Pod": "pods",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "ResourceQuota": "resourcequotas",
    "Secret": "secrets",
    "Service": "services",
    "ServiceMonitor": "servicemonitors",
}


async def _payload(response: aiohttp.ClientResponse) -> Obj:
    """The JSON body, or {} when there is none. The apiserver answers some errors in plain
    text: a request for an API group it does not serve gets "404 page not found"."""
    if response.content_type != "application/json":
        await response.read()
        return {}
    body = await response.json()
    return body if isinstance(body, dict) else {}


class ApiError(Exception):
    """A non-2xx answer; `status` is the HTTP code, `message` the apiserver's words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ApplyResult:
    """The live object after an apply, and whether the apply created it."""

    obj: Obj
    created: bool


def path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = f"/namespaces/{quote(namespace)}" if namespace else ""
    suffix = f"/{quote(name)}" if name else ""
    return f"{prefix}{scope}/{PLURALS[kind]}{suffix}"


def applied_by(obj: Obj, manager: str, *fields: str) -> bool:
    """Does `manager`'s server-side apply own the field at `fields` (e.g. "spec", "replicas")?"""
    for entry in obj.get("metadata", {}).get("managedFields") or []:
        if entry.get("manager") != manager or entry.get("operation") != "Apply":
            continue
        node = entry.get("fieldsV1") or {}
        for name in fields:
            node = node.get(f"f:{name}")
            if node is None:
                break
        else:
            return True
    return False


def _load_configuration() -> Any:
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        # KUBECONFIG is read now, not when `kubernetes` was imported (tests set it late).
        k8s_config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return configuration


def _ssl_context(configuration: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class KubeClient:
    """One aiohttp session to the apiserver; create it inside the running event loop."""

    def __init__(self, configuration: Any | None = None) -> None:
        self._configuration = configuration or _load_configuration()
        self._host = str(self._configuration.host).rstrip("/")
        connector = aiohttp.TCPConnector(ssl=_ssl_context(self._configuration), limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        await self._session.close()

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._configuration.get_api_key_with_prefix("authorization")
        if token:
            headers["Authorization"] = token
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def _request(
        self,
        method: str,
        url_path: str,
        *,
        body: Obj | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Obj]:
        data = json.dumps(body) if body is not None else None
        async with self._session.request(
            method,
            self._host + url_path,
            data=data,
            params=params,
            headers=self._headers(content_type if body is not None else None),
        ) as response:
            payload = await _payload(response)
            if response.status >= 400:
                message = payload.get("message", response.reason) if payload else response.reason
                raise ApiError(response.status, str(message))
            return response.status, payload

    async def apply(
        self, obj: Obj, field_manager: str = FIELD_MANAGER, force: bool = True
    ) -> ApplyResult:
        """Server-side apply, by default under the operator's manager, taking over conflicts."""
        meta = obj["metadata"]
        status, live = await self._request(
            "PATCH",
            path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]),
            body=obj,
            content_type=APPLY_CONTENT_TYPE,
            params={"fieldManager": field_manager, "force": str(force).lower()},
        )
        return ApplyResult(obj=live, created=status == 201)

    async def serves(self, api_version: str, kind: str) -> bool:
        """Does the apiserver know this kind (e.g. a CRD that may not be installed)?"""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            _, listing = await self._request("GET", prefix)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return any(r.get("kind") == kind for r in listing.get("resources") or [])

    async def get(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> Obj | None:
        try:
            return (await self._request("GET", path(api_version, kind, namespace, name)))[1]
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def list(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str = ""
    ) -> list[Obj]:
        params = {"labelSelector": label_selector} if label_selector else None
        _, listing = await self._request("GET", path(api_version, kind, namespace), params=params)
        return list(listing.get("items") or [])

    async def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        """Delete in the background (dependents by the garbage collector); False if absent."""
        try:
            await self._request(
                "DELETE",
                path(api_version, kind, namespace, name),
                body={"propagationPolicy": "Background"},
                content_type="application/json",
            )
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def patch_status(
        self, api_version: str, kind: str, namespace: str, name: str, status: Obj
    ) -> Obj:
        """Merge-patch the status subresource (lists such as conditions are replaced whole)."""
        _, live = await self._request(
            "PATCH",
            path(api_version, kind, namespace, name) + "/status",
            body={"status": status},
            content_type=MERGE_CONTENT_TYPE,
        )
        return live

    async def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        _, live = await self._request(
            "POST",
            path(obj["apiVersion"], obj["kind"], meta.get("namespace")),
            body=obj,
            content_type="application/json",
        )
        return live
