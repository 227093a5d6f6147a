"""Pydantic model -> structural OpenAPI v3 schema (what controller-gen emits for a Go type).

``structural_schema(Model)`` runs pydantic's JSON-schema generation with ``CRDJsonSchema`` (no
titles, no ``anyOf`` for Optional, no Python defaults, ``const`` -> ``enum``, free-form dicts ->
preserve-unknown-fields), inlines every ``$ref`` (sibling keywords of a ``$ref`` override the
referenced definition, so a field's docstring wins over its type's), and cleans what the
apiserver refuses in a CRD schema (forbidden keywords, ``additionalProperties`` next to
``properties``), sorting ``required`` like controller-gen.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from runtime.resource import KUBE_DESCRIPTIONS

# JSON-schema keywords that are not CRD JSONSchemaProps fields (or forbidden in a CRD).
_DROP = frozenset(
    {
        "title",
        "$defs",
        "definitions",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "const",
        "$schema",
        "$id",
    }
)


class CRDJsonSchema(GenerateJsonSchema):
    """A ``GenerateJsonSchema`` producing controller-gen-shaped (structural) schemas."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        # Python defaults are not CRD defaults; only the Default() marker emits ``default``.
        return self.generate_inner(schema["schema"])

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        out = super().literal_schema(schema)
        if "const" in out:
            out["enum"] = [out.pop("const")]
        return out

    def enum_schema(self, schema: core_schema.EnumSchema) -> JsonSchemaValue:
        out = super().enum_schema(schema)
        out.pop("title", None)
        out.pop("description", None)
        return out

    def any_schema(self, schema: core_schema.AnySchema) -> JsonSchemaValue:
        return {"x-kubernetes-preserve-unknown-fields": True}

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        out = super().dict_schema(schema)
        ap = out.get("additionalProperties")
        if ap is True or ap == {}:
            out.pop("additionalProperties", None)
            out["x-kubernetes-preserve-unknown-fields"] = True
        out.pop("propertyNames", None)
        return out

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {"type": "string"}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}

    def bytes_schema(self, schema: core_schema.BytesSchema) -> JsonSchemaValue:
        return {"type": "string", "format": "byte"}

    def union_schema(self, schema: core_schema.UnionSchema) -> JsonSchemaValue:
        out = super().union_schema(schema)
        # ``X | None`` after nullable collapsing can leave ``anyOf: [X]``.
        any_of = out.get("anyOf")
        if isinstance(any_of, list):
            kept = [s for s in any_of if s != {"type": "null"}]
            if len(kept) == 1:
                return dict(kept[0])
        return out


def _inline(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(n, defs, stack) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in stack:
            raise ValueError(f"recursive type {name} cannot be expressed in a CRD schema")
        base = _inline(copy.deepcopy(defs[name]), defs, (*stack, name))
        for key, value in node.items():
            if key != "$ref":
                base[key] = _inline(value, defs, stack)
        return base
    return {k: _inline(v, defs, stack) for k, v in node.items()}


def _clean(node: Any) -> Any:
    if isinstance(node, list):
        return [_clean(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {k: _clean(v) for k, v in value.items()}
        elif key == "required":
            out[key] = sorted(value)
        else:
            out[key] = _clean(value)
    if out.get("additionalProperties") is False:
        del out["additionalProperties"]
    if "properties" in out and "additionalProperties" in out:
        ap = out.pop("additionalProperties")
        if ap is True or ap == {}:
            out["x-kubernetes-preserve-unknown-fields"] = True
    if "properties" in out and "type" not in out:
        out["type"] = "object"
    if out.get("required") == []:
        del out["required"]
    if out.get("properties") == {}:
        del out["properties"]
        out.setdefault("type", "object")
    return out


def structural_schema(model: type[BaseModel], *, core_descriptions: bool = False) -> dict[str, Any]:
    """The structural schema of ``model`` (fully inlined, cleaned)."""
    token = KUBE_DESCRIPTIONS.set(core_descriptions)
    try:
        raw = model.model_json_schema(
            by_alias=True, mode="validation", schema_generator=CRDJsonSchema
        )
    finally:
        KUBE_DESCRIPTIONS.reset(token)
    defs = raw.pop("$defs", {})
    out: dict[str, Any] = _clean(_inline(raw, defs, ()))
    return out
