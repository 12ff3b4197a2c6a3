"""A KubeClient stand-in that keeps objects in a dict and records every call as the
(API group, resource, verb) the apiserver would authorise."""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

from photostore.operator.children import PLURALS
from photostore.operator.kube import ApiError, ApplyResult, Obj, status_patch

Ref = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _merge(target: Obj, patch: Obj) -> None:
    """A JSON merge patch (RFC 7386): objects merge, anything else replaces, null removes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _matches(label_selector: str, labels: dict[str, str]) -> bool:
    """Equality terms (`k=v`) and set-based ones (`k in (a,b)`), as the apiserver reads them."""
    terms = re.findall(r"[^,(]+(?:\([^)]*\))?", label_selector)
    for term in (t.strip() for t in terms if t.strip()):
        if " in (" in term:
            key, values = term.split(" in (", 1)
            if labels.get(key.strip()) not in {v.strip() for v in values.rstrip(")").split(",")}:
                return False
        else:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
    return True


class FakeKube:
    def __init__(self, served: bool = True) -> None:
        self.objects: dict[Ref, Obj] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.served = served
        self.refused: set[str] = set()  # kinds whose applies the apiserver refuses
        # The status a kind's controller gives an applied object at once.
        self.apply_status: dict[str, Obj] = {"Job": {"succeeded": 1}}
        self._versions = itertools.count(1)

    def _record(self, api_version: str, kind: str, verb: str, sub: str = "") -> None:
        self.calls.append((_group(api_version), PLURALS[kind] + sub, verb))

    def _stamp(self, obj: Obj) -> Obj:
        obj.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))
        return obj

    def put(self, obj: Obj) -> None:
        meta = obj["metadata"]
        ref = (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
        self.objects[ref] = self._stamp(copy.deepcopy(obj))

    async def apply(self, obj: Obj, field_manager: str = "", force: bool = True) -> ApplyResult:
        meta = obj["metadata"]
        ref = (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
        created = ref not in self.objects
        self._record(obj["apiVersion"], obj["kind"], "create" if created else "patch")
        if obj["kind"] in self.refused:
            raise ApiError(422, f"{obj['kind']} refused")
        merged = copy.deepcopy(self.objects.get(ref, {}))
        for key, value in obj.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **copy.deepcopy(value)}
            else:
                merged[key] = copy.deepcopy(value)
        if obj["kind"] == "ResourceQuota":  # as the quota controller would, at once
            merged["status"] = {"hard": merged["spec"]["hard"]}
        if obj["kind"] in self.apply_status:
            merged["status"] = copy.deepcopy(self.apply_status[obj["kind"]])
        self.objects[ref] = self._stamp(merged)
        return ApplyResult(obj=copy.deepcopy(merged), created=created)

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        self._record(api_version, kind, "get")
        return copy.deepcopy(self.objects.get((api_version, kind, namespace or "", name)))

    async def list(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str = ""
    ) -> list[Obj]:
        self._record(api_version, kind, "list")
        return [
            copy.deepcopy(o)
            for (v, k, ns, _), o in self.objects.items()
            if (v, k, ns) == (api_version, kind, namespace or "")
            and _matches(label_selector, o["metadata"].get("labels") or {})
        ]

    async def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        self._record(api_version, kind, "delete")
        return self.objects.pop((api_version, kind, namespace or "", name), None) is not None

    async def patch_status(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        status: Obj,
        resource_version: str | None = None,
    ) -> Obj:
        body = status_patch(status, resource_version)
        return await self.patch(api_version, kind, namespace, name, body, "status")

    async def create(self, obj: Obj) -> Obj:
        self._record(obj["apiVersion"], obj["kind"], "create")
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta.setdefault("name", meta.get("generateName", "") + str(next(self._versions)))
        self.put(obj)
        return obj

    async def patch(
        self, api_version: str, kind: str, namespace: str, name: str, body: Obj, sub: str = ""
    ) -> Obj:
        self._record(api_version, kind, "patch", f"/{sub}" if sub else "")
        obj = self.objects[(api_version, kind, namespace, name)]
        precondition = body.get("metadata", {}).get("resourceVersion")
        if precondition is not None and precondition != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "the object has been modified")
        _merge(obj, copy.deepcopy(body))
        return copy.deepcopy(self._stamp(obj))

    async def serves(self, api_version: str, kind: str) -> bool:
        return self.served

    async def close(self) -> None:
        return None
