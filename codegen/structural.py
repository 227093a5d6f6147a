"""Offline check of the rules the kube-apiserver applies to a CRD's schema (structural schema,
forbidden keywords, list-map keys, defaults, size). Returns a list of problems, empty when fine.

Source: Kubernetes docs "Extend the Kubernetes API with CustomResourceDefinitions" (structural
schema, validation, defaulting) and the JSONSchemaProps reference.
"""

from __future__ import annotations

import json
from typing import Any

FORBIDDEN = frozenset(
    {
        "definitions",
        "dependencies",
        "deprecated",
        "discriminator",
        "id",
        "patternProperties",
        "readOnly",
        "writeOnly",
        "xml",
        "$ref",
        "$defs",
        "const",
        "title",
    }
)
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]
MAX_CRD_BYTES = 1_572_864  # etcd's default request limit (1.5 MiB)
TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def _type_ok(value: Any, schema: dict[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    t = schema.get("type")
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(str(t), True)


def _check_default(value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
    if not _type_ok(value, schema):
        out.append(f"{path}: default {value!r} does not match type {schema.get('type')}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: default {value!r} not in enum")
    if isinstance(value, dict) and "properties" in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            unknown = set(value) - set(schema["properties"])
            if unknown:
                out.append(f"{path}: default has pruned fields {sorted(unknown)}")
        for k, v in value.items():
            if k in schema["properties"]:
                _check_default(v, schema["properties"][k], f"{path}.{k}", out)


def check_schema(node: Any, path: str = "", out: list[str] | None = None) -> list[str]:
    """Problems in one openAPIV3Schema (recursive)."""
    if out is None:
        out = []
    if not isinstance(node, dict):
        out.append(f"{path}: schema is not an object")
        return out
    for key in node:
        if key in FORBIDDEN:
            out.append(f"{path}: forbidden keyword {key}")
    if node.get("uniqueItems") is True:
        out.append(f"{path}: uniqueItems: true is forbidden")
    if node.get("additionalProperties") is False:
        out.append(f"{path}: additionalProperties: false is forbidden")
    if "additionalProperties" in node and "properties" in node:
        out.append(f"{path}: additionalProperties and properties are mutually exclusive")
    relaxed = node.get("x-kubernetes-int-or-string") or node.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if path and not relaxed and node.get("type") not in TYPES and node != {}:
        out.append(f"{path}: missing or invalid type {node.get('type')!r}")
    if node.get("x-kubernetes-int-or-string"):
        any_of = node.get("anyOf")
        all_of = node.get("allOf")
        ok = any_of == INT_OR_STRING or (
            isinstance(all_of, list) and any(s.get("anyOf") == INT_OR_STRING for s in all_of)
        )
        if not ok:
            out.append(f"{path}: int-or-string without the anyOf [integer, string] pattern")
    for j in JUNCTORS:
        if j in node:
            subs = node[j] if isinstance(node[j], list) else [node[j]]
            for sub in subs:
                for bad in ("description", "type", "default", "additionalProperties", "nullable"):
                    if (
                        isinstance(sub, dict)
                        and bad in sub
                        and not (sub in INT_OR_STRING and node.get("x-kubernetes-int-or-string"))
                    ):
                        out.append(f"{path}: {bad} inside {j}")
                if isinstance(sub, dict):
                    for name in sub.get("properties", {}):
                        if name not in node.get("properties", {}):
                            out.append(f"{path}: {j} mentions {name} not specified outside")
    list_type = node.get("x-kubernetes-list-type")
    keys = node.get("x-kubernetes-list-map-keys")
    if keys is not None:
        if list_type != "map":
            out.append(f"{path}: list-map-keys without list-type map")
        items = node.get("items", {})
        required = set(items.get("required", []))
        for k in keys:
            prop = items.get("properties", {}).get(k)
            if prop is None:
                out.append(f"{path}: list map key {k} is not a property of items")
            elif k not in required and "default" not in prop:
                out.append(f"{path}: list map key {k} neither required nor defaulted")
    elif list_type == "map":
        out.append(f"{path}: list-type map without list-map-keys")
    if list_type is not None and node.get("type") != "array":
        out.append(f"{path}: list-type on a non-array")
    if "default" in node:
        _check_default(node["default"], node, path, out)
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            out.append(f"{path}: required {name} is not a property")
    if node.get("required") and node["required"] != sorted(node["required"]):
        out.append(f"{path}: required not sorted")
    for name, sub in node.get("properties", {}).items():
        check_schema(sub, f"{path}.{name}", out)
    if isinstance(node.get("items"), dict):
        check_schema(node["items"], f"{path}[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        check_schema(node["additionalProperties"], f"{path}{{}}", out)
    return out


def check_crd(crd: dict[str, Any]) -> list[str]:
    """Problems in a CRD document (every version's schema, metadata rule, size)."""
    out: list[str] = []
    if len(json.dumps(crd, separators=(",", ":"))) > MAX_CRD_BYTES:
        out.append("CRD larger than etcd's 1.5 MiB request limit")
    versions = crd["spec"]["versions"]
    if sum(1 for v in versions if v.get("storage")) != 1:
        out.append("exactly one storage version required")
    for v in versions:
        schema = v["schema"]["openAPIV3Schema"]
        if schema.get("type") != "object":
            out.append(f"{v['name']}: root type must be object")
        meta = schema.get("properties", {}).get("metadata")
        if meta is not None and meta != {"type": "object"}:
            out.append(f"{v['name']}: metadata may only be {{type: object}}")
        check_schema(schema, v["name"], out)
    return out
