"""The router's ``--graph-json`` argument: ``json.Marshal(graph.Spec)`` exactly as upstream
writes it (``raw_ig.go`` / ``knative_reconciler.go``).

Why byte-exact: the text is a container argument, so any difference from upstream's text (key
order, an omitted ``"resources":{}``, ``"1000m"`` instead of ``"1"``) changes the pod template
and rolls every router when a cluster switches from the Go manager to this one. Go's
``encoding/json`` writes struct fields in declaration order, map keys sorted, drops
``omitempty`` zero values (but never a non-pointer struct, hence ``"resources":{}`` always),
writes quantities in canonical form and escapes ``<``, ``>``, ``&`` (HTML-safe).

Pure. The field tables below are the Go struct declarations of ``InferenceGraphSpec`` and of
the core types it embeds (``k8s.io/api/core/v1``, ``metav1.LabelSelector``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apis.serving.v1alpha1.inference_graph import InferenceGraphSpec
from apis.serving.validation import canonical_quantity
from controllers.gojson import go_string

__all__ = ["graph_json", "spec_to_go_json"]


@dataclass(frozen=True)
class _F:
    """One Go struct field: its JSON name, how its value is written (``kind``), and its
    ``omit`` rule: ``"empty"`` (``omitempty`` on a value: false/0/""/empty dropped), ``"nil"``
    (``omitempty`` on a pointer: only an unset field dropped, a 0 is written) or ``"never"``
    (no ``omitempty``: always written, ``zero`` when unset)."""

    name: str
    kind: Any = "scalar"  # "scalar" | "map" | "quantities" | ("map-of", T) | [T] | (fields)
    omit: str = "empty"
    zero: Any = None


_Struct = tuple[_F, ...]

_LSR: _Struct = (
    _F("key", omit="never", zero=""),
    _F("operator", omit="never", zero=""),
    _F("values", ["scalar"]),
)
_LABEL_SELECTOR: _Struct = (_F("matchLabels", "map"), _F("matchExpressions", [_LSR]))
_POD_AFFINITY_TERM: _Struct = (
    _F("labelSelector", _LABEL_SELECTOR, omit="nil"),
    _F("namespaces", ["scalar"]),
    _F("topologyKey", omit="never", zero=""),
    _F("namespaceSelector", _LABEL_SELECTOR, omit="nil"),
    _F("matchLabelKeys", ["scalar"]),
    _F("mismatchLabelKeys", ["scalar"]),
)
_WEIGHTED_POD_AFFINITY_TERM: _Struct = (
    _F("weight", omit="never", zero=0),
    _F("podAffinityTerm", _POD_AFFINITY_TERM, omit="never", zero={}),
)
_POD_AFFINITY: _Struct = (
    _F("requiredDuringSchedulingIgnoredDuringExecution", [_POD_AFFINITY_TERM]),
    _F("preferredDuringSchedulingIgnoredDuringExecution", [_WEIGHTED_POD_AFFINITY_TERM]),
)
_NODE_SELECTOR_TERM: _Struct = (_F("matchExpressions", [_LSR]), _F("matchFields", [_LSR]))
_NODE_AFFINITY: _Struct = (
    _F(
        "requiredDuringSchedulingIgnoredDuringExecution",
        (_F("nodeSelectorTerms", [_NODE_SELECTOR_TERM], omit="never"),),
        omit="nil",
    ),
    _F(
        "preferredDuringSchedulingIgnoredDuringExecution",
        [(
            _F("weight", omit="never", zero=0),
            _F("preference", _NODE_SELECTOR_TERM, omit="never", zero={}),
        )],
    ),
)
_AFFINITY: _Struct = (
    _F("nodeAffinity", _NODE_AFFINITY, omit="nil"),
    _F("podAffinity", _POD_AFFINITY, omit="nil"),
    _F("podAntiAffinity", _POD_AFFINITY, omit="nil"),
)
_TOLERATION: _Struct = (
    _F("key"),
    _F("operator"),
    _F("value"),
    _F("effect"),
    _F("tolerationSeconds", omit="nil"),
)
_RESOURCES: _Struct = (
    _F("limits", "quantities"),
    _F("requests", "quantities"),
    _F("claims", [(_F("name", omit="never", zero=""), _F("request"))]),
)
_STEP: _Struct = (
    _F("name"),
    _F("nodeName"),
    _F("serviceName"),
    _F("serviceUrl"),
    _F("data"),
    _F("mapPredictionsToInstances"),
    _F("weight", omit="nil"),  # *int64: a 0 weight is written
    _F("condition"),
    _F("dependency"),
)
_ROUTER: _Struct = (_F("routerType", omit="never", zero=""), _F("steps", [_STEP]))
_TIMEOUTS: _Struct = (
    _F("serverRead", omit="nil"),
    _F("serverWrite", omit="nil"),
    _F("serverIdle", omit="nil"),
    _F("serviceClient", omit="nil"),
)
_SPEC: _Struct = (
    _F("nodes", ("map-of", _ROUTER), omit="never"),
    # a struct value: omitempty never drops it, so "resources":{} is always written
    _F("resources", _RESOURCES, omit="never", zero={}),
    _F("affinity", _AFFINITY, omit="nil"),
    _F("timeout", omit="nil"),
    _F("routerTimeouts", _TIMEOUTS, omit="nil"),
    _F("minReplicas", omit="nil"),
    _F("maxReplicas"),
    _F("scaleTarget", omit="nil"),
    _F("scaleMetric", omit="nil"),
    _F("tolerations", [_TOLERATION]),
    _F("nodeSelector", "map"),
    _F("nodeName"),
    _F("serviceAccountName"),
)


def _empty(v: Any) -> bool:
    """Go's omitempty zero: false, 0, "", nil, and empty maps/slices."""
    return v is None or v is False or v == 0 or v == "" or v == [] or v == {}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return go_string(str(v))


def _sorted_map(value: Mapping[str, Any] | None, encode: Any) -> str:
    if value is None:
        return "null"
    return "{" + ",".join(f"{go_string(k)}:{encode(v)}" for k, v in sorted(value.items())) + "}"


def _encode(value: Any, kind: Any) -> str:
    if isinstance(kind, tuple) and kind and kind[0] == "map-of":
        return _sorted_map(value, lambda v: _encode(v, kind[1]))
    if isinstance(kind, tuple):
        return _encode_struct(value or {}, kind)
    if isinstance(kind, list):
        if value is None:
            return "null"
        return "[" + ",".join(_encode(v, kind[0]) for v in value) + "]"
    if kind == "map":
        return _sorted_map(value, _scalar)
    if kind == "quantities":
        return _sorted_map(value, lambda v: go_string(canonical_quantity(str(v))))
    return _scalar(value)


def _encode_struct(obj: Mapping[str, Any], fields: _Struct) -> str:
    parts: list[str] = []
    for f in fields:
        v = obj.get(f.name)
        if f.omit == "never":
            if v is None:
                v = f.zero
        elif v is None or (f.omit == "empty" and _empty(v)):
            continue
        parts.append(f"{go_string(f.name)}:{_encode(v, f.kind)}")
    return "{" + ",".join(parts) + "}"


def spec_to_go_json(spec: Mapping[str, Any]) -> str:
    """``json.Marshal`` of an ``InferenceGraphSpec`` given as its JSON dict (camelCase)."""
    return _encode_struct(spec, _SPEC)


def graph_json(spec: InferenceGraphSpec) -> str:
    """The ``--graph-json`` value of a graph whose (possibly resolved) spec is ``spec``."""
    return spec_to_go_json(spec.model_dump(by_alias=True, exclude_none=True, mode="json"))
