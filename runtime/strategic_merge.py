"""Kubernetes strategic merge patch applied to JSON objects (apimachinery
``strategicpatch.StrategicMergePatch``): what a Go controller gets when it marshals two typed
objects and merges one over the other (a container over a template container, a pod spec
over a default one).

The patch metadata (``patchStrategy``/``patchMergeKey``) comes from the Kubernetes OpenAPI
definitions the project already ships for CRD generation (``x-kubernetes-patch-strategy`` /
``x-kubernetes-patch-merge-key``, generated from the same Go struct tags apimachinery reads).

Semantics reproduced (the ones a patch made from a typed object can exercise):

- maps merge key by key; a ``null`` in the patch deletes the key; values of different JSON
  kinds replace;
- lists with strategy ``merge`` merge items by the merge key (an item found in the original is
  merged recursively, a new one appended), then are ordered as apimachinery orders them: the
  patch's items in patch order, the original-only items inserted by their original position
  (``normalizeElementOrder``/``mergeSortedSlice``); lists of scalars with ``merge`` are
  concatenated and de-duplicated with apimachinery's (order-changing) algorithm;
- every other list, and every scalar, is replaced by the patch's value.

Directives (``$patch``, ``$retainKeys``, ``$setElementOrder``, ``$deleteFromPrimitiveList``)
are not supported: patches built from typed objects never contain them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from runtime.resource import KUBE_SCHEMA_VERSION

__all__ = [
    "CONTAINER",
    "POD_SPEC",
    "StrategicMergeError",
    "strategic_merge",
]

JsonDict = dict[str, Any]

CONTAINER = "io.k8s.api.core.v1.Container"
"""The OpenAPI definition of a ``corev1.Container`` (``definition`` of :func:`strategic_merge`)."""
POD_SPEC = "io.k8s.api.core.v1.PodSpec"


class StrategicMergeError(ValueError):
    """The patch cannot be applied (apimachinery's error: a list item without its merge key,
    a list of objects without a merge key)."""


@lru_cache(maxsize=2)
def _definitions(version: str) -> Mapping[str, JsonDict]:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is needed for the Kubernetes definitions")
    base = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    with (base / f"v{version}.0-local" / "_definitions.json").open(encoding="utf-8") as f:
        data = json.load(f)
    defs: dict[str, JsonDict] = data["$defs"]
    return defs


class _Schema:
    """Patch metadata of one JSON node (an object definition, a map or unknown)."""

    __slots__ = ("_node",)

    def __init__(self, node: JsonDict | None) -> None:
        self._node = _resolve(node)

    def field(self, key: str) -> tuple[_Schema, str, str]:
        """``(schema of the value, patch strategy, merge key)`` of field ``key``."""
        node = self._node
        if node is None:
            return _Schema(None), "", ""
        props = node.get("properties")
        if isinstance(props, dict) and key in props:
            prop = props[key]
            strategy = str(prop.get("x-kubernetes-patch-strategy", ""))
            merge_key = str(prop.get("x-kubernetes-patch-merge-key", ""))
            return _Schema(prop), strategy, merge_key
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):  # a map: every key has the element schema
            return _Schema(extra), "", ""
        return _Schema(None), "", ""

    def items(self) -> _Schema:
        node = self._node
        if node is None:
            return _Schema(None)
        items = node.get("items")
        return _Schema(items if isinstance(items, dict) else None)


def _resolve(node: JsonDict | None) -> JsonDict | None:
    while node is not None and "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        node = _definitions(KUBE_SCHEMA_VERSION).get(name)
    return node


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


def strategic_merge(
    original: Mapping[str, Any], patch: Mapping[str, Any], definition: str
) -> JsonDict:
    """``StrategicMergePatch(original, patch, <type of definition>)`` on JSON objects: a new
    object, the inputs are not modified. ``definition`` is the OpenAPI name of the type, e.g.
    ``io.k8s.api.core.v1.Container``. Raises :class:`StrategicMergeError`."""
    schema = _Schema({"$ref": f"#/$defs/{definition}"})
    return _merge_map(copy.deepcopy(dict(original)), copy.deepcopy(dict(patch)), schema)


def _merge_map(original: JsonDict, patch: Mapping[str, Any], schema: _Schema) -> JsonDict:
    for key, pv in patch.items():
        if pv is None:
            original.pop(key, None)
            continue
        if key not in original or _kind(original[key]) != _kind(pv):
            original[key] = _discard_nulls(pv)
            continue
        ov = original[key]
        if isinstance(pv, dict):
            sub, strategy, _ = schema.field(key)
            strategies = strategy.split(",")
            original[key] = pv if "replace" in strategies else _merge_map(ov, pv, sub)
        elif isinstance(pv, list):
            sub, strategy, merge_key = schema.field(key)
            if "merge" in strategy.split(","):
                original[key] = _merge_list(ov, pv, sub.items(), merge_key, key)
            else:
                original[key] = pv
        else:
            original[key] = pv
    return original


def _index(items: list[Any], value: Any, merge_key: str, maps: bool) -> int:
    wanted = value.get(merge_key) if maps and isinstance(value, dict) else value
    for i, item in enumerate(items):
        got = item.get(merge_key) if maps and isinstance(item, dict) else item
        if got is not None and _kind(got) == _kind(wanted) and got == wanted:
            return i
    return -1


def _dedupe_scalars(items: list[Any]) -> list[Any]:
    """``deduplicateScalars``: apimachinery's in-place algorithm (a duplicate is replaced by
    the last element), reproduced for its resulting order."""
    s = list(items)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if s[i] == s[j] and _kind(s[i]) == _kind(s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _merge_list(
    original: list[Any], patch: list[Any], item_schema: _Schema, merge_key: str, field: str
) -> list[Any]:
    if not original and not patch:
        return original
    first = (patch or original)[0]
    maps = isinstance(first, dict)
    if not maps:
        merged = _dedupe_scalars(original + patch)
    else:
        if not merge_key:
            raise StrategicMergeError(f"cannot merge lists without merge key for {field}")
        merged = list(original)
        for item in patch:
            if not isinstance(item, dict) or merge_key not in item:
                raise StrategicMergeError(
                    f"map: {item!r} does not contain declared merge key: {merge_key}"
                )
            at = _index(merged, item, merge_key, True)
            if at >= 0:
                # merged in place: ``original`` (the server order) sees the merged item too
                merged[at] = _merge_map(merged[at], item, item_schema)
            else:
                merged.append(item)
    # partition: items present in the patch vs server-only items, then the patch items in
    # patch order and the server-only ones in original order, interleaved by original order
    patch_items: list[Any] = []
    server_only: list[Any] = []
    for item in merged:
        if maps and (not isinstance(item, dict) or merge_key not in item):
            raise StrategicMergeError(
                f"map: {item!r} does not contain declared merge key: {merge_key}"
            )
        (patch_items if _index(patch, item, merge_key, maps) >= 0 else server_only).append(item)
    patch_items.sort(key=lambda it: _index(patch, it, merge_key, maps))
    server_only.sort(key=lambda it: _index(original, it, merge_key, maps))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li = _index(original, server_only[i], merge_key, maps)
            ri = _index(original, patch_items[j], merge_key, maps)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out
