"""A small asyncio Kubernetes client: server-side apply, get, list, delete, status, events.

The official client is synchronous and turns every response into model objects; the
operator only needs plain dicts and one PATCH flavour, so it talks REST over aiohttp and
logs in through `login` (ServiceAccount token or kubeconfig).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from photostore.operator.children import PLURALS
from photostore.operator.login import Login, load_login

FIELD_MANAGER = "photostore-operator"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_CONTENT_TYPE = "application/merge-patch+json"

Obj = dict[str, Any]


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


def status_patch(status: Obj, resource_version: str | None = None) -> Obj:
    """The merge patch that sets `status`. With `resource_version`, the apiserver refuses it
    (409) if the object has changed since that version."""
    body: Obj = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}
    return body


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


class KubeClient:
    """One aiohttp session to the apiserver; create it inside the running event loop."""

    def __init__(self, login: Login | None = None) -> None:
        self._login = login or load_login()
        self._host = self._login.server.rstrip("/")
        connector = aiohttp.TCPConnector(ssl=self._login.ssl_context(), limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        await self._session.close()

    def _headers(self, content_type: str | None, *, reread_token: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._login.token(reread=reread_token)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def _send(
        self,
        method: str,
        url_path: str,
        data: str | None,
        content_type: str | None,
        params: dict[str, str] | None,
        *,
        reread_token: bool,
    ) -> tuple[int, Obj, str]:
        async with self._session.request(
            method,
            self._host + url_path,
            data=data,
            params=params,
            headers=self._headers(content_type, reread_token=reread_token),
        ) as response:
            return response.status, await _payload(response), str(response.reason)

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
        content_type = content_type if body is not None else None
        request = (method, url_path, data, content_type, params)
        status, payload, reason = await self._send(*request, reread_token=False)
        if status == 401:  # the token we hold expired or was rotated: read it again, once
            status, payload, reason = await self._send(*request, reread_token=True)
        if status >= 400:
            raise ApiError(status, str(payload.get("message", reason) if payload else reason))
        return status, payload

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

    async def allowed(self, verb: str, resource: str, group: str = "") -> bool:
        """May this login `verb` `resource` in every namespace? Asked with a
        SelfSubjectAccessReview, which every authenticated user may create."""
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group}},
        }
        _, answer = await self._request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body=review,
            content_type="application/json",
        )
        return bool(answer.get("status", {}).get("allowed"))

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

    async def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        body: Obj,
        subresource: str = "",
    ) -> Obj:
        """Merge-patch an object or one of its subresources (lists are replaced whole)."""
        suffix = f"/{subresource}" if subresource else ""
        _, live = await self._request(
            "PATCH",
            path(api_version, kind, namespace, name) + suffix,
            body=body,
            content_type=MERGE_CONTENT_TYPE,
        )
        return live

    async def patch_status(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        status: Obj,
        resource_version: str | None = None,
    ) -> Obj:
        """Merge-patch the status subresource (lists such as conditions are replaced whole)."""
        body = status_patch(status, resource_version)
        return await self.patch(api_version, kind, namespace, name, body, "status")

    async def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        _, live = await self._request(
            "POST",
            path(obj["apiVersion"], obj["kind"], meta.get("namespace")),
            body=obj,
            content_type="application/json",
        )
        return live
