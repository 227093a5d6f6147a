"""Schema markers: ``Annotated`` metadata that maps to exactly one CRD schema keyword
(controller-gen's ``+kubebuilder:validation`` / ``+listType`` / ``+default`` markers), and the
scalar types of the Kubernetes API (``IntOrString``, ``Quantity``, ``Int32``, ``Time``, ...).

``Pattern``/``Minimum``/``Maximum``/``*Length``/``*Items``/``Enum`` also validate in Python,
and ``ListType("set"|"map", ...)`` refuses duplicate entries as the apiserver does.
``Items(marker, ...)`` applies markers to a list's ``items``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from runtime.goregexp import go_regexp

__all__ = [
    "QUANTITY_PATTERN",
    "Default",
    "Duration",
    "EmbeddedResource",
    "Enum",
    "ExclusiveMaximum",
    "ExclusiveMinimum",
    "Format",
    "Int32",
    "Int64",
    "IntOrString",
    "Items",
    "JsonDict",
    "ListType",
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
    "Pattern",
    "PreserveUnknownFields",
    "Quantity",
    "Schemaless",
    "Time",
    "Type",
    "XValidation",
]

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
    """``+kubebuilder:validation:Pattern``. The apiserver matches it with Go's ``regexp``, so
    the Python check does too (``go_regexp``: ``$`` is the end of the text, ``"abc\\n"`` does not
    match ``^[a-z]+$``)."""

    pattern: str

    def apply(self, schema: JsonDict) -> None:
        _target(schema)["pattern"] = self.pattern

    def check(self, value: Any) -> str | None:
        if isinstance(value, str) and go_regexp(self.pattern).search(value) is None:
            return f"must match {self.pattern!r}"
        return None


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
