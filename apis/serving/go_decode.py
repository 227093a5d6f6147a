"""What Go's ``encoding/json`` refuses when a webhook decodes a request into KServe's Go types,
but the pydantic models let through: values inside the Kubernetes structs that lightkube types
as a bare ``dict`` (``metadata.annotations`` and ``labels`` are ``map[string]string``,
``resources.limits`` and ``requests`` are ``map[ResourceName]resource.Quantity``), and
``resource.Quantity`` values, which Go parses while decoding (``true``, ``[]`` or ``"x"`` are
refused, a JSON number is read as quantity text).

:func:`untyped_value_error` walks the JSON shape of an object along its typed model and names
the first such value; ``validation.typed_check`` calls it (importing this module when first
needed: this module uses ``validation``'s quantity grammar) once the pydantic validation passes.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

import msgspec
import msgspec.inspect as mi
from lightkube.models import meta_v1
from pydantic import BaseModel

from apis.serving.validation import QUANTITY_FORMAT_ERROR, is_quantity
from runtime.resource import Quantity, kube_definition_name, kube_schema

__all__ = ["QUANTITY_DECODE_ERROR", "STRING_DECODE_ERROR", "untyped_value_error"]

STRING_DECODE_ERROR = "Input should be a valid string"
"""The reason for a non-string where Go has a ``string`` (pydantic's ``string_type`` text, as
for every other wrong-type value ``typed_check`` reports)."""
QUANTITY_DECODE_ERROR = QUANTITY_FORMAT_ERROR
"""What ``Quantity.UnmarshalJSON`` returns for a value that is no quantity (it parses the raw
JSON text of anything but a string: ``true``, ``[1]``)."""
_QUANTITY_MARKERS = tuple(typing.get_args(Quantity)[1:])

# map kinds of lightkube's untyped ``dict`` fields
_STRING, _QUANTITY, _UNKNOWN = "string", "quantity", ""
# ObjectMeta's schema is a known type ({type: object}) with no properties to read
_OVERRIDES: dict[tuple[type, str], str] = {
    (meta_v1.ObjectMeta, "annotations"): _STRING,
    (meta_v1.ObjectMeta, "labels"): _STRING,
}
_MAP_KINDS: dict[tuple[type, str], str] = {}
_STRUCT_INFO: dict[type, Any] = {}
_QUANTITY_STRS: dict[type, frozenset[str]] = {}

Problem = tuple[str, str]
"""(field path, reason)."""


def untyped_value_error(data: Any, model: type[BaseModel]) -> Problem | None:
    """The first value in ``data`` (the JSON shape of a ``model``) that Go's decoding refuses
    although ``model`` accepts it, as (field path, reason); None when there is none. Map keys
    are written ``path[key]`` (``metadata.annotations[serving.kserve.io/deploymentMode]``)."""
    return _walk(data, model, "", ())


def _is_quantity(value: Any) -> bool:
    """``Quantity.UnmarshalJSON``: null and numbers parse (as their JSON text), a string parses
    once surrounding white space is trimmed; nothing else does."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and is_quantity(value.strip())


def _key(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(value: Any, tp: Any, path: str, metadata: tuple[Any, ...]) -> Problem | None:
    if value is None:
        return None
    if any(m in _QUANTITY_MARKERS for m in metadata):
        return None if _is_quantity(value) else (path, QUANTITY_DECODE_ERROR)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _walk(value, args[0], path, (*metadata, *tp.__metadata__))
    if origin is typing.Union or origin is types.UnionType:
        arms = [a for a in args if a is not type(None)]
        # a union of several types (IntOrString, ...) is checked by pydantic
        return _walk(value, arms[0], path, metadata) if len(arms) == 1 else None
    if origin in (list, tuple) and isinstance(value, list) and args:
        for i, item in enumerate(value):
            found = _walk(item, args[0], f"{path}[{i}]", ())
            if found:
                return found
        return None
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        for k, item in value.items():
            found = _walk(item, args[1], f"{path}[{k}]", ())
            if found:
                return found
        return None
    if isinstance(tp, type) and isinstance(value, dict):
        if issubclass(tp, BaseModel):
            return _walk_model(value, tp, path)
        if issubclass(tp, msgspec.Struct):
            return _walk_info(value, _struct_info(tp), path)
    return None


def _walk_model(value: Mapping[str, Any], model: type[BaseModel], path: str) -> Problem | None:
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in value:
            found = _walk(value[key], field.annotation, _key(path, key), tuple(field.metadata))
            if found:
                return found
    return None


def _struct_info(cls: type) -> Any:
    info = _STRUCT_INFO.get(cls)
    if info is None:
        info = _STRUCT_INFO[cls] = mi.type_info(cls)
    return info


def _walk_info(value: Any, info: Any, path: str) -> Problem | None:
    """``value`` against a msgspec type (a lightkube struct and what it holds)."""
    if value is None:
        return None
    if isinstance(info, mi.UnionType):
        arms = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return _walk_info(value, arms[0], path) if len(arms) == 1 else None
    if isinstance(info, mi.ListType) and isinstance(value, list):
        for i, item in enumerate(value):
            found = _walk_info(item, info.item_type, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        for k, item in value.items():
            found = _walk_info(item, info.value_type, f"{path}[{k}]")
            if found:
                return found
        return None
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        quantities = _quantity_strs(info.cls)
        for f in info.fields:
            if f.encode_name not in value:
                continue
            item, sub = value[f.encode_name], _key(path, f.encode_name)
            if f.name in quantities:
                found = None if _is_quantity(item) else (sub, QUANTITY_DECODE_ERROR)
            elif _untyped_map(f.type):
                found = _check_map(item, _map_kind(info.cls, f.encode_name), sub)
            else:
                found = _walk_info(item, f.type, sub)
            if found:
                return found
    return None


def _untyped_map(info: Any) -> bool:
    if isinstance(info, mi.UnionType):
        return any(_untyped_map(t) for t in info.types)
    return isinstance(info, mi.DictType) and isinstance(info.value_type, mi.AnyType)


def _check_map(value: Any, kind: str, path: str) -> Problem | None:
    if not isinstance(value, dict):  # msgspec already refuses a non-object here
        return None
    for k, item in value.items():
        if item is None:
            continue
        if kind == _STRING and not isinstance(item, str):
            return f"{path}[{k}]", STRING_DECODE_ERROR
        if kind == _QUANTITY and not _is_quantity(item):
            return f"{path}[{k}]", QUANTITY_DECODE_ERROR
    return None


def _quantity_strs(cls: type) -> frozenset[str]:
    """Fields lightkube annotates ``resource.Quantity`` but types as ``str`` (``sizeLimit``,
    ``divisor``): msgspec checks they are text, not that the text is a quantity."""
    names = _QUANTITY_STRS.get(cls)
    if names is None:
        names = _QUANTITY_STRS[cls] = frozenset(
            n
            for klass in cls.__mro__
            for n, a in getattr(klass, "__annotations__", {}).items()
            if "Quantity" in str(a)
        )
    return names


def _map_kind(cls: type, prop: str) -> str:
    """What the values of untyped map ``prop`` of lightkube struct ``cls`` are in Go, from the
    Kubernetes definition's ``additionalProperties``."""
    kind = _MAP_KINDS.get((cls, prop))
    if kind is None:
        kind = _OVERRIDES.get((cls, prop), _UNKNOWN)
        if kind == _UNKNOWN:
            try:
                schema = kube_schema(kube_definition_name(cls), keep_descriptions=False)
            except (KeyError, ValueError):
                schema = {}
            items = schema.get("properties", {}).get(prop, {}).get("additionalProperties", {})
            if isinstance(items, dict) and items.get("x-kubernetes-int-or-string"):
                kind = _QUANTITY if "pattern" in items else _UNKNOWN
            elif isinstance(items, dict) and items.get("type") == "string":
                kind = _STRING
        _MAP_KINDS[(cls, prop)] = kind
    return kind
