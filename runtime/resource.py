"""Typed custom resources: a Pydantic base bound to group/version/kind, schema markers, and
adapters that embed lightkube core models.

Usage (any project's API types)::

    from typing import Annotated
    from pydantic import Field
    from runtime.resource import (
        CRD, CustomResource, KubeModel, PrinterColumn, Container, Default, Int32, ListType,
    )

    class WidgetSpec(KubeModel):
        replicas: Annotated[Int32 | None, Default(1)] = Field(None, alias="replicas")
        '''How many widgets (this docstring becomes the CRD description).'''
        containers: Annotated[list[Container], ListType("map", "name")] = Field(alias="containers")

    class Widget(CustomResource):
        __crd__ = CRD(group="example.com", version="v1", kind="Widget", plural="widgets",
                      short_names=("wd",), status_subresource=True,
                      printer_columns=(PrinterColumn("Age", "date",
                                                     ".metadata.creationTimestamp"),))
        spec: WidgetSpec | None = Field(None, alias="spec")

Conventions
    * ``KubeModel`` is the base for every nested type: camelCase aliases (write them explicitly),
      attribute docstrings become descriptions, unknown fields ignored (the apiserver prunes them),
      ``model_dump()`` defaults to ``by_alias=True, exclude_none=True`` semantics via ``to_kube()``.
    * ``Optional[X] = None`` is Go's ``omitempty``: optional, no schema default. A CRD ``default``
      is emitted only for an explicit ``Default(value)`` marker, never for a Python default.
    * Markers are ``Annotated`` metadata (``Annotated[list[str], ListType("set"), MinItems(1)]``);
      each one maps to exactly one schema keyword (controller-gen's ``+kubebuilder`` markers).
      ``Items(marker, ...)`` applies markers to a list's ``items``.
      ``Pattern``/``Minimum``/``Maximum``/``*Length``/``*Items``/``Enum`` also validate in Python,
      and ``ListType("set"|"map", ...)`` refuses duplicate entries as the apiserver does.
      Full list: IntOrString, Quantity, Int32, Int64, Time (types); ListType, MapType, Default,
      Enum, Pattern, Minimum, Maximum, ExclusiveMinimum, ExclusiveMaximum, MultipleOf,
      MinLength, MaxLength, MinItems, MaxItems, MinProperties, MaxProperties, Format, Type,
      Nullable, PreserveUnknownFields, EmbeddedResource, Schemaless, XValidation, Items.
      ``typing.Literal[...]`` gives ``enum``; ``dict[str, Any]`` gives preserve-unknown-fields.
    * Core types: ``Container``, ``Volume``, ``PodSpec``... (below) are
      ``Annotated[lightkube_model, K8sType()]``: the value *is* the lightkube msgspec struct
      (validated with ``msgspec.convert``, strict), and the JSON schema is the structural schema
      controller-gen would emit for it, built from kubernetes-validate's offline Kubernetes
      definitions (``KUBE_SCHEMA_VERSION``). Any other lightkube model: ``Annotated[M, K8sType()]``.
      ``K8sType(optional=((core_v1.HTTPGetAction, "port"),))`` accepts values where a required
      field of the core type is absent (when the CRD relaxes it). ``KUBE_DESCRIPTIONS`` (a
      ContextVar) controls whether core-type descriptions are kept in schemas.
    * Go's ``corev1.Container `json:",inline"```: declare the fields on a ``KubeModel`` and set
      ``__kube_inline__ = ("io.k8s.api.core.v1.Container",)``; their schemas then come from the
      Kubernetes definition (list/map markers, defaults).

Registration (how code generators find kinds)
    Every subclass of ``CustomResource`` that defines ``__crd__`` in its own class body is
    recorded in a process-wide registry when the class is created. ``discover("apis")`` imports
    every module below the package ``apis`` (recursively, sorted) and returns the registered
    kinds defined there, sorted by (group, kind, version). So a new kind only has to live in a
    module somewhere under ``apis/``; nothing else needs to list it. Several versions of one kind
    are several classes with the same group/kind/plural; exactly one has ``storage=True``.
"""

from __future__ import annotations

import ast
import contextvars
import copy
import importlib
import importlib.util
import inspect
import itertools
import json
import pkgutil
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import msgspec.inspect
from lightkube.models import core_v1, meta_v1
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "CRD",
    "KUBE_DESCRIPTIONS",
    "KUBE_SCHEMA_VERSION",
    "Affinity",
    "Container",
    "ContainerPort",
    "CustomResource",
    "Default",
    "Duration",
    "EmbeddedResource",
    "Enum",
    "EnvFromSource",
    "EnvVar",
    "ExclusiveMaximum",
    "ExclusiveMinimum",
    "Format",
    "HostAlias",
    "Int32",
    "Int64",
    "IntOrString",
    "Items",
    "K8sType",
    "KubeModel",
    "ListType",
    "LocalObjectReference",
    "MapType",
    "Marker",
    "MaxItems",
    "MaxLength",
    "MaxProperties",
    "Maximum",
    "MinItems",
    "MinLength",
    "MinProperties",
    "Minimum",
    "MultipleOf",
    "Nullable",
    "ObjectMeta",
    "Pattern",
    "PodDNSConfig",
    "PodReadinessGate",
    "PodResourceClaim",
    "PodSchedulingGate",
    "PodSecurityContext",
    "PodSpec",
    "PreserveUnknownFields",
    "PrinterColumn",
    "Probe",
    "Quantity",
    "ResourceRequirements",
    "ScaleSubresource",
    "Schemaless",
    "SecurityContext",
    "Time",
    "Toleration",
    "TopologySpreadConstraint",
    "Type",
    "Volume",
    "VolumeMount",
    "XValidation",
    "discover",
    "kube_definition_name",
    "kube_schema",
    "registered",
]

KUBE_SCHEMA_VERSION = "1.34"
"""Kubernetes version of the core-type definitions used in schemas (KServe pins k8s.io/api 0.34)."""


# --------------------------------------------------------------------------------------------
# CRD metadata
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterColumn:
    """``+kubebuilder:printcolumn``: one ``additionalPrinterColumns`` entry."""

    name: str
    type: str
    json_path: str
    description: str | None = None
    format: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class ScaleSubresource:
    """``+kubebuilder:subresource:scale``."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None


@dataclass(frozen=True)
class CRD:
    """CRD-level metadata of one served version of a kind (``__crd__`` on the root class)."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str | None = None  # default: kind.lower()
    list_kind: str | None = None  # default: kind + "List"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    status_subresource: bool = False
    scale: ScaleSubresource | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    storage: bool = True
    served: bool = True
    deprecated: bool = False
    deprecation_warning: str | None = None

    @property
    def name(self) -> str:
        """``<plural>.<group>``, the CRD object's name."""
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


# --------------------------------------------------------------------------------------------
# Schema markers
# --------------------------------------------------------------------------------------------

JsonDict = dict[str, Any]


class Marker:
    """Base of all schema markers: ``apply`` edits the field's JSON schema in place.

    Subclasses that also validate in Python override ``check`` (value -> error text or None).
    """

    def apply(self, schema: JsonDict) -> None:
        raise NotImplementedError

    def check(self, value: Any) -> str | None:
        return None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        if type(self).check is Marker.check:
            return inner

        def _validate(value: Any) -> Any:
            if value is None:
                return value
            err = self.check(value)
            if err is not None:
                raise PydanticCustomError("kube_marker", err)
            return value

        return core_schema.no_info_after_validator_function(_validate, inner)

    def __get_pydantic_json_schema__(
        self, cs: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(cs)
        self.apply(schema)
        return schema


def _target(schema: JsonDict) -> JsonDict:
    """The schema a marker edits: for ``anyOf: [X, null]`` (plain pydantic output) it is ``X``."""
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        inner = any_of[0] if any_of[1] == {"type": "null"} else any_of[1]
        if isinstance(inner, dict):
            return inner
    return schema


@dataclass(frozen=True)
class ListType(Marker):
    """``+listType`` (+ ``+listMapKey``): ``ListType("map", "name")``, ``ListType("set")``."""

    type: Literal["atomic", "set", "map"]
    map_keys: tuple[str, ...] = ()

    def __init__(self, type: Literal["atomic", "set", "map"], *map_keys: str) -> None:
        if map_keys and type != "map":
            raise ValueError("list map keys need ListType('map', ...)")
        if type == "map" and not map_keys:
            raise ValueError("ListType('map') needs at least one map key")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "map_keys", tuple(map_keys))

    def apply(self, schema: JsonDict) -> None:
        t = _target(schema)
        t["x-kubernetes-list-type"] = self.type
        if self.map_keys:
            t["x-kubernetes-list-map-keys"] = list(self.map_keys)

    def check(self, value: Any) -> str | None:
        """Duplicates the apiserver would refuse (set entries, map-list keys as written)."""
        if self.type == "atomic" or not isinstance(value, list):
            return None
        seen: set[Any] = set()
        for i, item in enumerate(value):
            if self.type == "set":
                key: Any = json.dumps(_plain(item), sort_keys=True)
            else:
                key = tuple(json.dumps(_json_field(item, k), sort_keys=True) for k in self.map_keys)
            if key in seen:
                return f"[{i}]: duplicate entry {key!r} in a list of type {self.type}"
            seen.add(key)
        return None


def _plain(item: Any) -> Any:
    if isinstance(item, msgspec.Struct):
        return msgspec.to_builtins(item)
    if isinstance(item, BaseModel):
        return item.model_dump(mode="json", by_alias=True, exclude_none=True)
    return item


def _json_field(item: Any, name: str) -> Any:
    """The value of JSON field ``name`` of a dict, lightkube struct or KubeModel."""
    if isinstance(item, dict):
        return item.get(name)
    if isinstance(item, msgspec.Struct):
        return _plain(getattr(item, name, None))
    if isinstance(item, BaseModel):
        for attr, info in type(item).model_fields.items():
            if (info.alias or attr) == name:
                return _plain(getattr(item, attr))
    return None


@dataclass(frozen=True)
class MapType(Marker):
    """``+mapType`` / ``+structType``: ``x-kubernetes-map-type`` (atomic or granular)."""

    type: Literal["atomic", "granular"] = "atomic"

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["x-kubernetes-map-type"] = self.type


@dataclass(frozen=True)
class Default(Marker):
    """``+kubebuilder:default``: the value the apiserver writes when the field is absent."""

    value: Any

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, sort_keys=True))

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["default"] = copy.deepcopy(self.value)


@dataclass(frozen=True)
class Enum(Marker):
    """``+kubebuilder:validation:Enum=a;b``."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["enum"] = list(self.values)

    def check(self, value: Any) -> str | None:
        if value not in self.values:
            return f"must be one of {list(self.values)!r}, got {value!r}"
        return None


@dataclass(frozen=True)
class Pattern(Marker):
    """``+kubebuilder:validation:Pattern`` (ECMA/RE2 subset common to Go and Python)."""

    pattern: str

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["pattern"] = self.pattern

    def check(self, value: Any) -> str | None:
        if isinstance(value, str) and _regex(self.pattern).search(value) is None:
            return f"must match {self.pattern!r}"
        return None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple, dict)) else None


@dataclass(frozen=True)
class _Bound(Marker):
    value: int | float
    keyword: ClassVar[str] = ""
    lower: ClassVar[bool] = True
    exclusive: ClassVar[bool] = False
    sized: ClassVar[bool] = False

    def apply(self, schema: JsonDict) -> None:
        _target(schema)[self.keyword] = self.value

    def check(self, value: Any) -> str | None:
        if self.sized:
            n = _size(value)
            if n is None:
                return None
            v: int | float = n
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            v = value
        else:
            return None
        ok = (
            (v > self.value if self.exclusive else v >= self.value)
            if self.lower
            else (v < self.value if self.exclusive else v <= self.value)
        )
        return None if ok else f"{self.keyword} is {self.value}, got {v}"


class Minimum(_Bound):
    """``+kubebuilder:validation:Minimum``."""

    keyword = "minimum"


class Maximum(_Bound):
    """``+kubebuilder:validation:Maximum``."""

    keyword = "maximum"
    lower = False


class ExclusiveMinimum(_Bound):
    """``minimum`` + ``exclusiveMinimum: true`` (OpenAPI v3.0 style, as CRDs use)."""

    keyword = "minimum"
    exclusive = True

    def apply(self, schema: JsonDict) -> None:
        t = _target(schema)
        t["minimum"] = self.value
        t["exclusiveMinimum"] = True


class ExclusiveMaximum(_Bound):
    """``maximum`` + ``exclusiveMaximum: true``."""

    keyword = "maximum"
    lower = False
    exclusive = True

    def apply(self, schema: JsonDict) -> None:
        t = _target(schema)
        t["maximum"] = self.value
        t["exclusiveMaximum"] = True


class MinLength(_Bound):
    """``+kubebuilder:validation:MinLength``."""

    keyword = "minLength"
    sized = True


class MaxLength(_Bound):
    """``+kubebuilder:validation:MaxLength``."""

    keyword = "maxLength"
    lower = False
    sized = True


class MinItems(_Bound):
    """``+kubebuilder:validation:MinItems``."""

    keyword = "minItems"
    sized = True


class MaxItems(_Bound):
    """``+kubebuilder:validation:MaxItems``."""

    keyword = "maxItems"
    lower = False
    sized = True


class MinProperties(_Bound):
    """``+kubebuilder:validation:MinProperties``."""

    keyword = "minProperties"
    sized = True


class MaxProperties(_Bound):
    """``+kubebuilder:validation:MaxProperties``."""

    keyword = "maxProperties"
    lower = False
    sized = True


@dataclass(frozen=True)
class MultipleOf(Marker):
    """``+kubebuilder:validation:MultipleOf``."""

    value: int | float

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["multipleOf"] = self.value


@dataclass(frozen=True)
class Format(Marker):
    """``+kubebuilder:validation:Format``: ``format`` (int32, int64, date-time, byte, ...)."""

    format: str

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["format"] = self.format


@dataclass(frozen=True)
class Type(Marker):
    """``+kubebuilder:validation:Type``: override ``type``."""

    type: str

    def apply(self, schema: JsonDict) -> None:
        t = _target(schema)
        for key in ("anyOf", "oneOf", "allOf", "$ref", "properties", "additionalProperties"):
            t.pop(key, None)
        t["type"] = self.type


@dataclass(frozen=True)
class PreserveUnknownFields(Marker):
    """``+kubebuilder:pruning:PreserveUnknownFields``."""

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["x-kubernetes-preserve-unknown-fields"] = True


@dataclass(frozen=True)
class EmbeddedResource(Marker):
    """``+kubebuilder:validation:EmbeddedResource``."""

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["x-kubernetes-embedded-resource"] = True


@dataclass(frozen=True)
class Nullable(Marker):
    """``+nullable``: ``nullable: true`` (an explicit null is kept instead of pruned)."""

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["nullable"] = True


@dataclass(frozen=True)
class Schemaless(Marker):
    """``+kubebuilder:validation:Schemaless``: the field's schema is ``{}`` (plus later markers)."""

    def __get_pydantic_json_schema__(
        self, cs: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {}

    def apply(self, schema: JsonDict) -> None:
        schema.clear()


@dataclass(frozen=True)
class XValidation(Marker):
    """``+kubebuilder:validation:XValidation``: one ``x-kubernetes-validations`` CEL rule."""

    rule: str
    message: str | None = None
    message_expression: str | None = None
    reason: str | None = None
    field_path: str | None = None
    optional_old_self: bool | None = None

    def apply(self, schema: JsonDict) -> None:
        entry: JsonDict = {"rule": self.rule}
        for key, value in (
            ("message", self.message),
            ("messageExpression", self.message_expression),
            ("reason", self.reason),
            ("fieldPath", self.field_path),
            ("optionalOldSelf", self.optional_old_self),
        ):
            if value is not None:
                entry[key] = value
        _target(schema).setdefault("x-kubernetes-validations", []).append(entry)


@dataclass(frozen=True)
class Items(Marker):
    """``+kubebuilder:validation:items:<Marker>``: apply markers to a list's ``items``."""

    markers: tuple[Marker, ...]

    def __init__(self, *markers: Marker) -> None:
        object.__setattr__(self, "markers", tuple(markers))

    def apply(self, schema: JsonDict) -> None:
        items = _target(schema).setdefault("items", {})
        for m in self.markers:
            m.apply(items)

    def check(self, value: Any) -> str | None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                for m in self.markers:
                    err = m.check(item)
                    if err is not None:
                        return f"[{i}]: {err}"
        return None


@dataclass(frozen=True)
class _Replace(Marker):
    """Replace the schema wholesale (known types such as IntOrString / Quantity)."""

    schema_json: str

    def __get_pydantic_json_schema__(
        self, cs: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out: JsonDict = json.loads(self.schema_json)
        return out

    def apply(self, schema: JsonDict) -> None:
        schema.clear()
        schema.update(json.loads(self.schema_json))


_INT_OR_STRING: JsonDict = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
}
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY: JsonDict = {**_INT_OR_STRING, "pattern": QUANTITY_PATTERN}

IntOrString = Annotated[int | str, _Replace(json.dumps(_INT_OR_STRING))]
"""``intstr.IntOrString``: ``anyOf [integer, string]`` + ``x-kubernetes-int-or-string``."""
Quantity = Annotated[str | int | float, _Replace(json.dumps(_QUANTITY))]
"""``resource.Quantity``: int-or-string with the Quantity pattern."""
Int32 = Annotated[int, Format("int32")]
Int64 = Annotated[int, Format("int64")]
Duration = str
"""``metav1.Duration``: Go duration text ("5m0s"), a plain string in the schema."""
Time = Annotated[str, Format("date-time")]
"""``metav1.Time``: RFC 3339 text."""


# --------------------------------------------------------------------------------------------
# Core type schemas from the offline Kubernetes definitions
# --------------------------------------------------------------------------------------------

_KNOWN: dict[str, JsonDict] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": _QUANTITY,
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": _INT_OR_STRING,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.Duration": {"type": "string"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    "io.k8s.apimachinery.pkg.runtime.RawExtension": {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": {
        "x-kubernetes-preserve-unknown-fields": True,
    },
}
"""controller-gen's ``known_types.go``: types whose schema is fixed rather than derived."""

# ``+default`` markers and inherited ``+structType=atomic`` of k8s.io/api that the swagger-derived
# definitions lose (controller-gen parses Go source, so upstream CRDs carry them). Keyed by
# definition -> property -> keywords to add. Asserted against upstream KServe CRDs in tests.
_PATCHES: dict[str, dict[str, JsonDict]] = {
    "io.k8s.api.core.v1.ContainerPort": {"protocol": {"default": "TCP"}},
    "io.k8s.api.core.v1.ServicePort": {"protocol": {"default": "TCP"}},
    "io.k8s.api.core.v1.EndpointPort": {"protocol": {"default": "TCP"}},
    "io.k8s.api.core.v1.GRPCAction": {"service": {"default": ""}},
    "io.k8s.api.core.v1.LocalObjectReference": {"name": {"default": ""}},
    "io.k8s.api.core.v1.ConfigMapKeySelector": {"name": {"default": ""}},
    "io.k8s.api.core.v1.SecretKeySelector": {"name": {"default": ""}},
    "io.k8s.api.core.v1.ConfigMapEnvSource": {"name": {"default": ""}},
    "io.k8s.api.core.v1.SecretEnvSource": {"name": {"default": ""}},
    "io.k8s.api.core.v1.ConfigMapVolumeSource": {"name": {"default": ""}},
    "io.k8s.api.core.v1.ConfigMapProjection": {"name": {"default": ""}},
    "io.k8s.api.core.v1.SecretProjection": {"name": {"default": ""}},
    "io.k8s.api.core.v1.FileKeySelector": {"optional": {"default": False}},
    "io.k8s.api.core.v1.AzureDiskVolumeSource": {
        "fsType": {"default": "ext4"},
        "readOnly": {"default": False},
    },
    "io.k8s.api.core.v1.RBDVolumeSource": {
        "keyring": {"default": "/etc/ceph/keyring"},
        "pool": {"default": "rbd"},
        "user": {"default": "admin"},
    },
    "io.k8s.api.core.v1.RBDPersistentVolumeSource": {
        "keyring": {"default": "/etc/ceph/keyring"},
        "pool": {"default": "rbd"},
        "user": {"default": "admin"},
    },
    "io.k8s.api.core.v1.ScaleIOVolumeSource": {
        "fsType": {"default": "xfs"},
        "storageMode": {"default": "ThinProvisioned"},
    },
    "io.k8s.api.core.v1.ScaleIOPersistentVolumeSource": {
        "fsType": {"default": "xfs"},
        "storageMode": {"default": "ThinProvisioned"},
    },
    "io.k8s.api.core.v1.ISCSIVolumeSource": {"iscsiInterface": {"default": "default"}},
    "io.k8s.api.core.v1.ISCSIPersistentVolumeSource": {"iscsiInterface": {"default": "default"}},
}
# Definitions that inline a ``+structType=atomic`` struct (LocalObjectReference) and so inherit
# ``x-kubernetes-map-type: atomic`` in controller-gen's output.
_ATOMIC: frozenset[str] = frozenset(
    {
        "io.k8s.api.core.v1.ConfigMapEnvSource",
        "io.k8s.api.core.v1.SecretEnvSource",
        "io.k8s.api.core.v1.ConfigMapVolumeSource",
        "io.k8s.api.core.v1.ConfigMapProjection",
        "io.k8s.api.core.v1.SecretProjection",
    }
)
# Swagger-only keywords that are no part of a CRD's JSONSchemaProps (or that controller-gen drops).
_DROP_KEYS = frozenset(
    {
        "x-kubernetes-patch-merge-key",
        "x-kubernetes-patch-strategy",
        "x-kubernetes-group-version-kind",
        "x-kubernetes-unions",
        "x-kubernetes-list-map-keys-ordered",
        "enum",
        "$schema",
        "$id",
    }
)


def _definitions_file(version: str) -> Path:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is needed to build core-type schemas")
    base = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    return base / f"v{version}.0-local" / "_definitions.json"


@lru_cache(maxsize=4)
def _definitions(version: str) -> Mapping[str, JsonDict]:
    with _definitions_file(version).open(encoding="utf-8") as f:
        data = json.load(f)
    defs: dict[str, JsonDict] = data["$defs"]
    return defs


def _structural(
    node: Any, defs: Mapping[str, JsonDict], stack: tuple[str, ...], keep_descriptions: bool
) -> Any:
    if isinstance(node, list):
        return [_structural(n, defs, stack, keep_descriptions) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        resolved = _build(name, defs, stack, keep_descriptions)
        extra = {k: v for k, v in node.items() if k != "$ref"}
        if extra:
            resolved.update(_structural(extra, defs, stack, keep_descriptions))
        return resolved
    out: JsonDict = {}
    for key, value in node.items():
        if key in _DROP_KEYS or (key == "description" and not keep_descriptions):
            continue
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            value = types[0] if len(types) == 1 else types
        elif key == "properties":
            value = {
                k: _structural(v, defs, stack, keep_descriptions) for k, v in sorted(value.items())
            }
        elif key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            value = _structural(value, defs, stack, keep_descriptions)
        elif key == "required":
            value = sorted(value)
        out[key] = value
    return out


def _build(
    name: str, defs: Mapping[str, JsonDict], stack: tuple[str, ...], keep_descriptions: bool
) -> JsonDict:
    if name in _KNOWN:
        return copy.deepcopy(_KNOWN[name])
    if name in stack:
        # Recursive types (JSONSchemaProps) cannot be inlined; cut like controller-gen's users do.
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if name not in defs:
        raise KeyError(f"no Kubernetes definition {name!r}")
    out: JsonDict = _structural(defs[name], defs, (*stack, name), keep_descriptions)
    for prop, extra in _PATCHES.get(name, {}).items():
        props = out.get("properties", {})
        if prop in props:
            props[prop].update(copy.deepcopy(extra))
    if name in _ATOMIC:
        out["x-kubernetes-map-type"] = "atomic"
    return out


KUBE_DESCRIPTIONS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "KUBE_DESCRIPTIONS", default=True
)
"""Whether core-type schemas carry the Kubernetes descriptions. A generator that must keep a CRD
small (all of PodSpec inlined many times) sets this to False while generating."""


@lru_cache(maxsize=512)
def _kube_schema_json(name: str, version: str, keep_descriptions: bool) -> str:
    return json.dumps(_build(name, _definitions(version), (), keep_descriptions), sort_keys=True)


def kube_schema(
    name: str, version: str = KUBE_SCHEMA_VERSION, *, keep_descriptions: bool | None = None
) -> JsonDict:
    """The structural CRD schema controller-gen emits for Kubernetes definition ``name``.

    ``name`` is the OpenAPI definition name (``io.k8s.api.core.v1.Container``). Everything is
    inlined; nullable swagger types collapse to their type; controller-gen's known types,
    ``+default`` markers and inherited atomic struct types are applied. A fresh copy each call.
    """
    if keep_descriptions is None:
        keep_descriptions = KUBE_DESCRIPTIONS.get()
    out: JsonDict = json.loads(_kube_schema_json(name, version, keep_descriptions))
    return out


_API_PREFIX = {
    "meta": "io.k8s.apimachinery.pkg.apis.meta",
    "apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}


def kube_definition_name(model: type) -> str:
    """OpenAPI definition name of a lightkube model class (``core_v1.Container`` ->
    ``io.k8s.api.core.v1.Container``)."""
    module = model.__module__.rsplit(".", 1)[-1]
    if "_" not in module:
        raise ValueError(f"cannot derive a definition name for {model!r}; pass K8sType(name)")
    group, version = module.rsplit("_", 1)
    prefix = _API_PREFIX.get(group, f"io.k8s.api.{group}")
    return f"{prefix}.{version}.{model.__name__}"


def _placeholder(info: Any) -> Any:
    """A value of type ``info`` used to get past a required field the user may omit."""
    mi = msgspec.inspect
    if isinstance(info, mi.UnionType):
        for t in info.types:
            if isinstance(t, (mi.IntType, mi.StrType)):
                return _placeholder(t)
    if isinstance(info, mi.IntType):
        return 0
    if isinstance(info, mi.StrType):
        return ""
    raise TypeError(f"no placeholder for {info!r}")


_QUANTITY_FIELDS: dict[type, frozenset[str]] = {}


def _quantity_fields(cls: type) -> frozenset[str]:
    """Fields lightkube annotates ``resource.Quantity`` (a plain ``str`` there, although a
    Quantity is int-or-string in the API: ``sizeLimit: 1`` is valid)."""
    names = _QUANTITY_FIELDS.get(cls)
    if names is None:
        names = frozenset(
            n
            for klass in cls.__mro__
            for n, a in getattr(klass, "__annotations__", {}).items()
            if "Quantity" in str(a)
        )
        _QUANTITY_FIELDS[cls] = names
    return names


Path_ = tuple[str | int, ...]


def _prepare(
    value: Any,
    info: Any,
    optional: frozenset[tuple[type, str]],
    path: Path_,
    marks: list[tuple[Path_, Any]],
) -> Any:
    """Copy-on-write pass over input that the strict conversion refused: numbers where
    lightkube types a Quantity as ``str`` become text, absent ``optional`` required fields get
    a placeholder; ``marks`` records what to put back after conversion."""
    mi = msgspec.inspect
    if isinstance(info, mi.UnionType):
        for t in info.types:
            if isinstance(t, (mi.StructType, mi.ListType, mi.DictType)):
                return _prepare(value, t, optional, path, marks)
        return value
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        out: dict[str, Any] | None = None
        quantities = _quantity_fields(info.cls)
        for f in info.fields:
            if f.encode_name in value:
                old = value[f.encode_name]
                if (
                    f.name in quantities
                    and isinstance(old, (int, float))
                    and not isinstance(old, bool)
                ):
                    new: Any = str(old)
                    marks.append(((*path, f.name), old))
                else:
                    new = _prepare(old, f.type, optional, (*path, f.name), marks)
                if new is not old:
                    out = out if out is not None else dict(value)
                    out[f.encode_name] = new
            elif f.required and (info.cls, f.name) in optional:
                out = out if out is not None else dict(value)
                out[f.encode_name] = _placeholder(f.type)
                marks.append(((*path, f.name), None))
        return out if out is not None else value
    if isinstance(info, mi.ListType) and isinstance(value, list):
        items = [
            _prepare(v, info.item_type, optional, (*path, i), marks) for i, v in enumerate(value)
        ]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        vals = {
            k: _prepare(v, info.value_type, optional, (*path, k), marks) for k, v in value.items()
        }
        return vals if any(vals[k] is not value[k] for k in value) else value
    return value


_TYPE_INFO: dict[type, Any] = {}


def _type_info(model: type) -> Any:
    info = _TYPE_INFO.get(model)
    if info is None:
        info = _TYPE_INFO[model] = msgspec.inspect.type_info(model)
    return info


def _restore(obj: Any, path: Path_, value: Any) -> None:
    for step in path[:-1]:
        if isinstance(step, str) and not isinstance(obj, dict):
            obj = getattr(obj, step)
        else:
            obj = obj[step]
    last = path[-1]
    if isinstance(obj, msgspec.Struct) and isinstance(last, str):
        setattr(obj, last, value)


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _serialize(value: Any) -> Any:
    return _strip_none(msgspec.to_builtins(value))


@dataclass(frozen=True)
class K8sType:
    """Adapter for a lightkube (msgspec) model: ``Annotated[core_v1.Toleration, K8sType()]``.

    Validation: the model instance passes through unchanged; a mapping is converted with
    ``msgspec.convert`` (strict: ``"80"`` for an int is refused). Serialisation: plain builtins
    with camelCase keys and ``None`` omitted. JSON schema: ``kube_schema(definition)``.

    ``optional=((core_v1.HTTPGetAction, "port"),)`` lets a field that the Kubernetes type
    requires be absent (where a CRD schema drops that ``required``, as KServe does for probe
    ports): the value decodes with that attribute ``None`` and serialises without it.
    """

    definition: str | None = None
    schema: JsonDict | None = field(default=None, compare=False, hash=False)
    optional: tuple[tuple[type, str], ...] = ()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        model: type[Any] = source
        name = self.definition or kube_definition_name(model)
        fixed = self.schema
        optional = frozenset(self.optional)

        def fail(exc: Exception) -> PydanticCustomError:
            return PydanticCustomError(
                "kube_type",
                "invalid {name}: {error}",
                {"name": model.__name__, "error": str(exc)},
            )

        def validate(value: Any) -> Any:
            if isinstance(value, model):
                return value
            try:
                return msgspec.convert(value, model)
            except msgspec.ValidationError as exc:
                first = exc
            marks: list[tuple[Path_, Any]] = []
            prepared = _prepare(value, _type_info(model), optional, (), marks)
            if not marks:
                raise fail(first) from None
            try:
                obj = msgspec.convert(prepared, model)
            except msgspec.ValidationError as exc:
                raise fail(exc) from None
            for path, original in marks:
                _restore(obj, path, original)
            return obj

        def js(_cs: core_schema.CoreSchema, _h: GetJsonSchemaHandler) -> JsonSchemaValue:
            return copy.deepcopy(fixed) if fixed is not None else kube_schema(name)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(_serialize),
            metadata={"pydantic_js_functions": [js]},
        )


Container = Annotated[core_v1.Container, K8sType()]
ContainerPort = Annotated[core_v1.ContainerPort, K8sType()]
EnvVar = Annotated[core_v1.EnvVar, K8sType()]
EnvFromSource = Annotated[core_v1.EnvFromSource, K8sType()]
Volume = Annotated[core_v1.Volume, K8sType()]
VolumeMount = Annotated[core_v1.VolumeMount, K8sType()]
PodSpec = Annotated[core_v1.PodSpec, K8sType()]
ResourceRequirements = Annotated[core_v1.ResourceRequirements, K8sType()]
Affinity = Annotated[core_v1.Affinity, K8sType()]
Toleration = Annotated[core_v1.Toleration, K8sType()]
Probe = Annotated[core_v1.Probe, K8sType()]
SecurityContext = Annotated[core_v1.SecurityContext, K8sType()]
PodSecurityContext = Annotated[core_v1.PodSecurityContext, K8sType()]
LocalObjectReference = Annotated[core_v1.LocalObjectReference, K8sType()]
HostAlias = Annotated[core_v1.HostAlias, K8sType()]
PodDNSConfig = Annotated[core_v1.PodDNSConfig, K8sType()]
PodReadinessGate = Annotated[core_v1.PodReadinessGate, K8sType()]
TopologySpreadConstraint = Annotated[core_v1.TopologySpreadConstraint, K8sType()]
PodResourceClaim = Annotated[core_v1.PodResourceClaim, K8sType()]
PodSchedulingGate = Annotated[core_v1.PodSchedulingGate, K8sType()]
ObjectMeta = Annotated[meta_v1.ObjectMeta, K8sType()]
"""``metadata`` of an object; its schema is controller-gen's ``{type: object}`` (known type)."""


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


_MODULE_DOCS: dict[str, dict[str, dict[str, str]]] = {}


def _docs_in_tree(tree: ast.AST) -> dict[str, dict[str, str]]:
    """``{class qualname: {attribute: docstring}}`` for every class in a parsed module."""
    out: dict[str, dict[str, str]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                qual = prefix + child.name
                docs: dict[str, str] = {}
                for prev, nxt in itertools.pairwise(child.body):
                    if (
                        isinstance(prev, ast.AnnAssign)
                        and isinstance(prev.target, ast.Name)
                        and isinstance(nxt, ast.Expr)
                        and isinstance(nxt.value, ast.Constant)
                        and isinstance(nxt.value.value, str)
                    ):
                        docs[prev.target.id] = inspect.cleandoc(nxt.value.value)
                out[qual] = docs
                visit(child, qual + ".")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{prefix}{child.name}.<locals>.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``{attribute: docstring}``: the string literal right after each annotated attribute in
    ``cls``'s own body (pydantic's ``use_attribute_docstrings``, but parsing each module once
    instead of each class: that was a third of ``import apis`` time)."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path is None:
        return {}
    per_module = _MODULE_DOCS.get(path)
    if per_module is None:
        try:
            with open(path, encoding="utf-8") as f:
                per_module = _docs_in_tree(ast.parse(f.read()))
        except (OSError, SyntaxError, UnicodeDecodeError):
            per_module = {}
        _MODULE_DOCS[path] = per_module
    return per_module.get(cls.__qualname__, {})


class KubeModel(BaseModel):
    """Base of every nested API type: camelCase aliases, docstrings as descriptions."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        arbitrary_types_allowed=True,
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Attribute docstrings become field descriptions (``defer_build``: the schema that
        # carries them is built on first use, after this).
        for name, doc in _attribute_docstrings(cls).items():
            info = cls.model_fields.get(name)
            if info is not None and info.description is None:
                info.description = doc

    __kube_inline__: ClassVar[tuple[str, ...]] = ()
    """Kubernetes definitions inlined into this type (Go ``json:",inline"`` of a core struct, e.g.
    ``corev1.Container`` in KServe's predictor specs). The Python fields are declared on the
    class; their schemas are replaced by the definition's property schemas (list/map markers,
    defaults) so the CRD matches what controller-gen emits for the embedded struct."""

    __schema_required__: ClassVar[tuple[str, ...]] = ()
    """JSON names of fields the CRD schema lists as ``required`` although the Python type
    accepts their absence (the CRD may drop that ``required`` in places, as KServe's yq does,
    and objects the apiserver admitted must always decode)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, cs: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(cs)
        if cls.__schema_required__:
            target = handler.resolve_ref_schema(schema)
            required = set(target.get("required", [])) | set(cls.__schema_required__)
            target["required"] = sorted(required)
        if cls.__kube_inline__:
            target = handler.resolve_ref_schema(schema)
            props: JsonDict = target.get("properties", {})
            for name in cls.__kube_inline__:
                documented = kube_schema(name, keep_descriptions=True).get("properties", {})
                for key, sub in kube_schema(name).get("properties", {}).items():
                    if key in props:
                        # Inlined fields are this type's own fields: keep their top-level
                        # descriptions (``kubectl explain ...sklearn.env``) even when nested
                        # core-type descriptions are dropped.
                        own = props[key].get("description") or documented[key].get("description")
                        props[key] = sub
                        if own is not None:
                            sub["description"] = own
        return schema

    def to_kube(self) -> dict[str, Any]:
        """Plain JSON-ready dict as the apiserver wants it (camelCase, unset/None omitted)."""
        out: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return out


_REGISTRY: list[type[CustomResource]] = []


class CustomResource(KubeModel):
    """A custom resource kind; subclasses declare ``__crd__`` and their ``spec``/``status``."""

    __crd__: ClassVar[CRD]

    api_version: str | None = Field(None, alias="apiVersion")
    """APIVersion defines the versioned schema of this representation of an object."""
    kind: str | None = Field(None, alias="kind")
    """Kind is a string value representing the REST resource this object represents."""
    metadata: ObjectMeta | None = Field(None, alias="metadata")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "__crd__" in cls.__dict__:
            _REGISTRY.append(cls)

    @model_validator(mode="after")
    def _fill_type_meta(self) -> CustomResource:
        crd = getattr(type(self), "__crd__", None)
        if crd is not None:
            if self.api_version is None:
                self.api_version = crd.api_version
            if self.kind is None:
                self.kind = crd.kind
        return self


def registered(package: str | None = None) -> list[type[CustomResource]]:
    """Registered kinds (optionally only those defined below ``package``), sorted. A class
    registered again under the same module and name (a reloaded module) replaces the old one."""
    latest: dict[tuple[str, str], type[CustomResource]] = {}
    for c in _REGISTRY:
        if package is None or c.__module__ == package or c.__module__.startswith(package + "."):
            latest[(c.__module__, c.__qualname__)] = c
    return sorted(
        latest.values(), key=lambda c: (c.__crd__.group, c.__crd__.kind, c.__crd__.version)
    )


def _import_tree(package: str) -> None:
    pkg = importlib.import_module(package)
    paths: Iterable[str] = getattr(pkg, "__path__", [])
    names = sorted(m.name for m in pkgutil.walk_packages(list(paths), prefix=package + "."))
    for name in names:
        if name not in sys.modules:
            importlib.import_module(name)


def discover(package: str) -> list[type[CustomResource]]:
    """Import every module below ``package`` and return the kinds registered there."""
    _import_tree(package)
    return registered(package)
