"""Generate the PhotoStorage CustomResourceDefinition from the pydantic models.

`python -m photostore crd > crds/photostorage.yaml`. The apiserver wants a structural
schema: every node typed, no `$ref`, no `null` branches, defaults that are themselves
valid. Pydantic's JSON Schema is close; this module closes the gap.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from photostore.operator import spec

MAX_NAME_LENGTH = 40  # children append suffixes such as "-processor" to names capped at 63


class _CrdJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, but `default_factory` values become schema defaults."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        factory = schema.get("default_factory")
        if factory is None:
            return super().default_schema(schema)
        value = factory()  # type: ignore[call-arg]
        json_schema = self.generate_inner(schema["schema"])
        json_schema["default"] = _encode_default(value)
        return json_schema


def _encode_default(value: Any) -> Any:
    # In full, not `{}`: the apiserver checks a default against the CEL rules before it
    # would fill nested defaults in.
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    return value


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = dict(node)
    ref = node.pop("$ref", None)
    if ref is not None:
        node = {**_structural(defs[ref.rsplit("/", 1)[-1]], defs), **node}
    any_of = node.pop("anyOf", None)
    if any_of is not None and not node.get("x-kubernetes-int-or-string"):
        options = [option for option in any_of if option.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"cannot make a structural schema of anyOf {any_of}")
        node = {**_structural(options[0], defs), **node}
    node.pop("title", None)
    if node.get("default", ...) is None:
        del node["default"]
    if "properties" in node:
        node["properties"] = {k: _structural(v, defs) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _structural(node["items"], defs)
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _structural(node["additionalProperties"], defs)
    return node


def implied_default(node: dict[str, Any]) -> dict[str, Any]:
    """The object the apiserver makes of `{}` for this object node: its fields' defaults."""
    implied = {}
    for name, child in (node.get("properties") or {}).items():
        if "default" in child:
            implied[name] = child["default"]
    return implied


def default_text(node: dict[str, Any]) -> str:
    """How a description states the node's schema default (what `kubectl explain` shows)."""
    default = node["default"]
    if isinstance(default, dict) and default and default == implied_default(node):
        return "Default: the defaults of its fields."
    return f"Default: {json.dumps(default, sort_keys=True)}."


def _state_defaults(node: dict[str, Any], path: str) -> dict[str, Any]:
    """End every property's description with its default, or `Required.`; a description
    that already says `Default:` (what an empty value means) is kept as written."""
    properties = node.get("properties")
    if properties:
        required = set(node.get("required") or [])
        described = {}
        for name, child in properties.items():
            child = _state_defaults(child, f"{path}.{name}")
            description = child.get("description", "").strip()
            if not description:
                raise ValueError(f"{path}.{name} has no description")
            if "Default:" not in description:
                if "default" in child:
                    description += " " + default_text(child)
                elif name in required:
                    description += " Required."
                else:
                    description += " Default: unset."
            described[name] = {**child, "description": description}
        node = {**node, "properties": described}
    if isinstance(node.get("items"), dict):
        node = {**node, "items": _state_defaults(node["items"], f"{path}[]")}
    return node


def openapi_schema(model: type[BaseModel], path: str) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of one model, every field described."""
    raw = model.model_json_schema(by_alias=True, schema_generator=_CrdJsonSchema)
    defs = raw.pop("$defs", {})
    return _state_defaults(_structural(raw, defs), path)


def _ready_column() -> dict[str, Any]:
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    }


def build_crd() -> dict[str, Any]:
    """The whole CustomResourceDefinition as a dict."""
    version = {
        "name": spec.VERSION,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "description": "PhotoStorage runs the photo API, the GPU processor and their "
                "guard rails in one namespace.",
                "x-kubernetes-validations": [
                    {
                        "rule": f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
                        "message": f"metadata.name must be at most {MAX_NAME_LENGTH} characters",
                    }
                ],
                "required": ["spec"],
                "properties": {
                    "apiVersion": {
                        "type": "string",
                        "description": f"{spec.GROUP}/{spec.VERSION}.",
                    },
                    "kind": {"type": "string", "description": f"{spec.KIND}."},
                    "metadata": {"type": "object"},
                    "spec": {
                        **openapi_schema(spec.PhotoStorageSpec, "spec"),
                        "description": "Desired state of one photo storage installation. Required.",
                    },
                    "status": {
                        **openapi_schema(spec.PhotoStorageStatus, "status"),
                        "description": "Observed state, written only by the operator.",
                    },
                },
            }
        },
        "subresources": {
            "status": {},
            "scale": {
                "specReplicasPath": ".spec.api.replicas",
                "statusReplicasPath": ".status.api.replicas",
                "labelSelectorPath": ".status.api.selector",
            },
        },
        "additionalPrinterColumns": [
            _ready_column(),
            {"name": "API", "type": "string", "jsonPath": ".status.api.summary"},
            {"name": "Processors", "type": "string", "jsonPath": ".status.processor.summary"},
            {
                "name": "Last Backup",
                "type": "date",
                "jsonPath": ".status.backup.lastSuccessfulTime",
            },
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{spec.PLURAL}.{spec.GROUP}"},
        "spec": {
            "group": spec.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": spec.KIND,
                "listKind": f"{spec.KIND}List",
                "plural": spec.PLURAL,
                "singular": spec.SINGULAR,
                "shortNames": spec.SHORT_NAMES,
                "categories": ["all", "photostore"],
            },
            "versions": [version],
        },
    }


def render() -> str:
    header = "# Generated by `python -m photostore crd` from photostore/operator/spec.py.\n"
    body = yaml.safe_dump(build_crd(), sort_keys=True, width=100)
    return header + "# Do not edit by hand.\n---\n" + body


def main(argv: list[str]) -> None:
    """Print the CRD YAML (no arguments)."""
    if argv:
        raise SystemExit("usage: python -m photostore crd")
    sys.stdout.write(render())
