"""Core Kubernetes types inside custom resources: lightkube models as Pydantic fields, with
the structural schema controller-gen would emit for them.

``Container``, ``Volume``, ``PodSpec``... are ``Annotated[lightkube_model, K8sType()]``: the
value *is* the lightkube msgspec struct (validated with ``msgspec.convert``, strict), and the
JSON schema is built from kubernetes-validate's offline Kubernetes definitions
(``KUBE_SCHEMA_VERSION``). Any other lightkube model: ``Annotated[M, K8sType()]``.
``K8sType(optional=((core_v1.HTTPGetAction, "port"),))`` accepts values where a required field
of the core type is absent (when the CRD relaxes it). ``KUBE_DESCRIPTIONS`` (a ContextVar)
controls whether core-type descriptions are kept in schemas.
"""

from __future__ import annotations

import contextvars
import copy
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import msgspec
import msgspec.inspect
from lightkube.models import core_v1, meta_v1
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from runtime.resource.markers import _INT_OR_STRING, _QUANTITY, JsonDict

__all__ = [
    "KUBE_DESCRIPTIONS",
    "KUBE_SCHEMA_VERSION",
    "Affinity",
    "Container",
    "ContainerPort",
    "EnvFromSource",
    "EnvVar",
    "HostAlias",
    "K8sType",
    "LocalObjectReference",
    "ObjectMeta",
    "PodDNSConfig",
    "PodReadinessGate",
    "PodResourceClaim",
    "PodSchedulingGate",
    "PodSecurityContext",
    "PodSpec",
    "Probe",
    "ResourceRequirements",
    "SecurityContext",
    "Toleration",
    "TopologySpreadConstraint",
    "Volume",
    "VolumeMount",
    "kube_definition_name",
    "kube_schema",
]

KUBE_SCHEMA_VERSION = "1.34"
"""Kubernetes version of the core-type definitions used in schemas (KServe pins k8s.io/api 0.34)."""

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
