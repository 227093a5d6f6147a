"""Shared validation helpers for the serving API (upstream ``pkg/validation`` and the bits of
``pkg/utils`` the validators use).

Validators in this package work on the JSON shape of an object (camelCase dicts, as the
apiserver sends it in an AdmissionReview); :func:`as_dict` turns a typed model into that shape,
so they accept either. A refusal is a :class:`FieldError` naming the field path and the reason;
the reason mirrors upstream's message where upstream has one.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from apis.serving.constants import CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION, DEFAULT_GPU_RESOURCE_TYPES
from runtime.goregexp import go_regexp

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION",
    "DEFAULT_BLOCKED_ENV_VARS",
    "DEFAULT_GPU_RESOURCE_TYPES",
    "NAME_FMT",
    "QUANTITY_FORMAT_ERROR",
    "FieldError",
    "as_dict",
    "as_obj",
    "canonical_quantity",
    "check_gpu_resource_types",
    "find_common_parent_path",
    "get_env",
    "go_quote",
    "go_regexp",
    "gpu_resource_types_with_annotation",
    "has_unknown_gpu_resource_type",
    "is_gpu_enabled",
    "is_quantity",
    "malformed_guard",
    "parse_quantity",
    "typed_check",
    "validate_blocked_env_vars",
    "validate_name",
]

DEFAULT_BLOCKED_ENV_VARS: tuple[str, ...] = ("PYTHONPATH",)
_BASIC_RESOURCES = frozenset({"cpu", "memory", "storage", "ephemeral-storage"})

NAME_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
"""Upstream ``IsvcNameFmt`` and ``GraphNameFmt`` (the same pattern): InferenceService and
InferenceGraph names."""
_NAME_RE = re.compile("^" + NAME_FMT + r"\Z")  # \Z: Go's "$" (no trailing newline)


class FieldError(ValueError):
    """A refused object: ``field`` is the JSON path (``spec.predictor.minReplicas``, ``""`` for
    the object as a whole), ``reason`` upstream's message. ``warnings`` are admission warnings
    gathered before the refusal."""

    def __init__(self, field: str, reason: str, warnings: Sequence[str] = ()) -> None:
        self.field = field
        self.reason = reason
        self.warnings = list(warnings)
        super().__init__(f"{field}: {reason}" if field else reason)


def as_dict(obj: Any) -> dict[str, Any]:
    """The JSON shape of ``obj``: a mapping is copied, a typed model is dumped
    (``to_kube()`` or pydantic ``model_dump(by_alias=True, exclude_none=True)``)."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        out: dict[str, Any] = json.loads(json.dumps(obj, default=_default))
        return out
    to_kube = getattr(obj, "to_kube", None)
    if callable(to_kube):
        return dict(to_kube())
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json", by_alias=True, exclude_none=True))
    raise TypeError(f"cannot validate {type(obj).__name__}: need a mapping or a model")


def as_obj(value: Any) -> dict[str, Any]:
    """``value`` itself if it is a JSON object (a dict), else a new empty dict: how the
    validators and the defaulter step into optional or malformed parts of the JSON shape."""
    return value if isinstance(value, dict) else {}


def _default(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


def go_quote(value: str) -> str:
    """Go's ``%q`` for plain strings (JSON string quoting is the same for printable text)."""
    return json.dumps(value, ensure_ascii=False)


def get_env(env: Iterable[Mapping[str, Any]] | None, name: str) -> tuple[str | None, bool]:
    """``utils.GetEnvVarValue``: (value, exists) of the first env var called ``name``."""
    for e in env or []:
        if isinstance(e, Mapping) and e.get("name") == name:
            return e.get("value"), True
    return None, False


def validate_blocked_env_vars(
    containers: Sequence[Mapping[str, Any]] | None,
    path: str,
    blocked: Sequence[str] = DEFAULT_BLOCKED_ENV_VARS,
) -> None:
    """``validation.ValidateBlockedEnvVars``: refuse containers setting a blocked env var.

    ``path`` is the containers list path (``spec.predictor.containers``); the refusal names
    ``<path>[i].env[j].name``.
    """
    blocked_set = set(blocked)
    for i, c in enumerate(containers or []):
        if not isinstance(c, Mapping):
            continue
        for j, e in enumerate(c.get("env") or []):
            if isinstance(e, Mapping) and e.get("name") in blocked_set:
                raise FieldError(
                    f"{path}[{i}].env[{j}].name",
                    f"setting {e.get('name')} in container {go_quote(c.get('name') or '')} "
                    "is not allowed for security reasons",
                )


def validate_name(name: str, kind: str, *, article: str = "the") -> None:
    """Refuse (``metadata.name``) an InferenceService/InferenceGraph name that does not match
    :data:`NAME_FMT`, with upstream's message (``<article> <kind> "<name>" is invalid: ...``;
    upstream writes "the InferenceService" but "The InferenceGraph")."""
    if not _NAME_RE.match(name):
        raise FieldError(
            "metadata.name",
            f'{article} {kind} "{name}" is invalid: a {kind} name must consist of lower case '
            "alphanumeric characters or '-', and must start with alphabetical character. "
            f'(e.g. "my-name" or "abc-123", regex used for validation is \'{NAME_FMT}\')',
        )


def is_gpu_enabled(resources: Mapping[str, Any] | None) -> bool:
    """``utils.IsGPUEnabled``: limits name ``nvidia.com/gpu`` or an ``nvidia.com/mig*`` type."""
    limits = (resources or {}).get("limits") or {}
    return any(k == "nvidia.com/gpu" or k.startswith("nvidia.com/mig") for k in limits)


def gpu_resource_types_with_annotation(
    annotations: Mapping[str, str] | None, base: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES
) -> list[str]:
    """``utils.UpdateGPUResourceTypeListByAnnotation``: ``base`` plus the JSON array in
    annotation ``serving.kserve.io/gpu-resource-types``. Raises ``ValueError`` with upstream's
    message for a malformed annotation."""
    types = list(base)
    raw = (annotations or {}).get(CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION, "")
    if raw:
        try:
            arr = json.loads(raw)
        except json.JSONDecodeError:
            arr = None
        if not isinstance(arr, list) or not arr or not all(isinstance(x, str) and x for x in arr):
            raise ValueError(
                f"invalid GPU format({raw}) for {CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION} "
                "annotation: must be a valid JSON array"
            )
        for t in arr:
            if t not in types:
                types.append(t)
    return types


def has_unknown_gpu_resource_type(
    resources: Mapping[str, Any] | None,
    annotations: Mapping[str, str] | None,
    base: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> bool:
    """``utils.HasUnknownGpuResourceType``: a non-basic resource (not cpu, memory, storage,
    ephemeral-storage) in limits or requests that is not a known GPU type."""
    resources = resources or {}
    possible = {
        k
        for key in ("limits", "requests")
        for k in (resources.get(key) or {})
        if k not in _BASIC_RESOURCES
    }
    known = gpu_resource_types_with_annotation(annotations, base)
    return bool(possible - set(known))


def check_gpu_resource_types(
    resources: Mapping[str, Any] | None,
    annotations: Mapping[str, str] | None,
    gpu_types: Sequence[str],
    *,
    field: str,
    reason: str,
    annotations_field: str = "metadata.annotations",
) -> None:
    """Refuse ``resources`` naming an unknown GPU type (:func:`has_unknown_gpu_resource_type`)
    with ``FieldError(field, reason)``; a malformed GPU-types annotation is refused at
    ``annotations_field`` with upstream's message."""
    try:
        unknown = has_unknown_gpu_resource_type(resources, annotations, gpu_types)
    except ValueError as err:
        raise FieldError(annotations_field, str(err)) from None
    if unknown:
        raise FieldError(field, reason)


def find_common_parent_path(paths: Sequence[str]) -> str:
    """``utils.FindCommonParentPath``: the longest common directory of ``paths`` (``/`` if
    none)."""
    if not paths:
        return ""
    if len(paths) == 1:
        return paths[0]
    components: list[list[str]] = []
    min_len = -1
    for p in paths:
        clean = p.strip("/")
        if clean == "":
            components.append([])
        else:
            parts = clean.split("/")
            components.append(parts)
            min_len = len(parts) if min_len == -1 else min(min_len, len(parts))
    common: list[str] = []
    for i in range(max(min_len, 0)):
        level = {c[i] for c in components if i < len(c)}
        # upstream indexes every path at i; an empty path (root) would panic there, a
        # differing level ends the prefix
        if any(i >= len(c) for c in components) or len(level) != 1:
            break
        common.append(components[0][i])
    if not common:
        return "/"
    return "/" + "/".join(common)


_QUANTITY_RE = re.compile(
    r"^(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>(?:[KMGTPE]i)|[numkMGTPE]|(?:[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)))?\Z"
)  # \Z: Go's "$" is end of text, Python's "$" also matches before a final newline
QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
"""``resource.ErrFormatWrong``: upstream's message for text that is no quantity."""
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def is_quantity(value: str) -> bool:
    """Whether ``value`` parses as a Kubernetes quantity (``resource.ParseQuantity``)."""
    return isinstance(value, str) and _QUANTITY_RE.match(value) is not None


def parse_quantity(value: str | int | float) -> float:
    """The numeric value of a Kubernetes quantity (``"500m"`` -> 0.5, ``"1Gi"`` -> 1073741824).

    Raises ``ValueError`` with upstream's message for something that is not a quantity.
    """
    if isinstance(value, bool):
        raise ValueError("quantities must match the regular expression")
    if isinstance(value, int | float):
        return float(value)
    m = _QUANTITY_RE.match(value or "")
    if m is None:
        raise ValueError(QUANTITY_FORMAT_ERROR)
    num = float(m.group("num"))
    suffix = m.group("suffix") or ""
    if suffix in _BINARY:
        return num * _BINARY[suffix]
    exponent = float(_DECIMAL[suffix]) if suffix in _DECIMAL else float(suffix[1:])
    return float(num * 10.0**exponent)


# ---------------------------------------------------------------------------------------------
# malformed input
# ---------------------------------------------------------------------------------------------

_MALFORMED = (TypeError, AttributeError, KeyError, IndexError, ValueError)


#: pydantic error types that mean "wrong JSON type" (what Go's ``encoding/json`` refuses when
#: it decodes the request), as opposed to enum/pattern/required/bounds problems.
_DECODE_ERROR_TYPES = frozenset(
    {
        "string_type",
        "int_type",
        "int_from_float",
        "float_type",
        "bool_type",
        "dict_type",
        "list_type",
        "model_type",
        "model_attributes_type",
        "mapping_type",
    }
)


def _is_enum_type_error(err: Mapping[str, Any]) -> bool:
    """A non-string where a string enum goes (``ScaleMetric``, ``MetricTargetType``: Go types
    ``type X string``, so decoding refuses ``5`` or ``["cpu"]`` before any enum rule): pydantic
    reports a ``literal_error`` against string literals with an input that is no string (null
    is not one: Go decodes it as absent)."""
    expected = str((err.get("ctx") or {}).get("expected", ""))
    value = err.get("input")
    return (
        err["type"] == "literal_error"
        and expected.startswith("'")
        and value is not None
        and not isinstance(value, str)
    )


def _is_decode_error(err: Mapping[str, Any]) -> bool:
    if err["type"] in _DECODE_ERROR_TYPES or _is_enum_type_error(err):
        return True
    # core Kubernetes types are checked by msgspec: "Expected `str`, got `int` - at `$.name`"
    return err["type"] == "kube_type" and "Expected `" in str(err["msg"])


def typed_check(obj: Any, model: Any, *, decode_only: bool = False) -> None:
    """Raise :class:`FieldError` at the first place where ``obj`` does not fit the typed
    ``model`` (a pydantic model class); return quietly when it fits.

    ``decode_only``: only values of the wrong JSON type count (checked strictly: no ``"3"`` for
    an int, no ``"false"`` for a bool), as when upstream decodes a request into its Go types;
    enum, pattern, bounds and required-field problems are left to the rules. Values the pydantic
    model lets through but Go's decoding refuses count as of the wrong type in both modes: a
    non-string annotation or label, a quantity that does not parse (``go_decode``)."""
    from pydantic import ValidationError

    data = as_dict(obj)
    try:
        model.model_validate(data, strict=decode_only or None)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if decode_only:
            errors = [e for e in errors if _is_decode_error(e)]
        if not errors:
            _raise_untyped(data, model)
            return
        err = errors[0]
        path = ""
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif "[" in str(part) and str(part).endswith("]"):  # pydantic union/function tags
                continue
            else:
                path += ("." if path else "") + str(part)
        reason = "Input should be a valid string" if _is_enum_type_error(err) else str(err["msg"])
        raise FieldError(path, reason) from None
    _raise_untyped(data, model)


def _raise_untyped(data: Any, model: Any) -> None:
    from apis.serving.go_decode import untyped_value_error

    problem = untyped_value_error(data, model)
    if problem is not None:
        raise FieldError(*problem)


def malformed_guard(
    model_path: str, n_objects: int = 1, *, decode_first: bool = False
) -> Callable[[_F], _F]:
    """Decorator for validators/defaulters that walk the JSON shape: a value of the wrong JSON
    type somewhere (possible with the minimal CRDs, which do not validate) becomes a
    :class:`FieldError` naming the field (found with the typed model ``model_path``,
    ``"module:Class"``), never a crash. Well-typed input takes the fast path untouched.

    ``decode_first`` (validators): before any rule, refuse a first argument holding a value of
    the wrong JSON type even where no rule reads it, as upstream's webhook does when it decodes
    the request (``typed_check(..., decode_only=True)``)."""

    def model_class() -> Any:
        module, _, cls = model_path.partition(":")
        return getattr(importlib.import_module(module), cls)

    def deco(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if decode_first and args:
                typed_check(args[0], model_class(), decode_only=True)
            try:
                return fn(*args, **kwargs)
            except FieldError:
                raise
            except _MALFORMED as exc:
                model = model_class()
                for obj in args[:n_objects]:
                    typed_check(obj, model)
                raise FieldError("", f"malformed object: {type(exc).__name__}: {exc}") from None

        return wrapper  # type: ignore[return-value]

    return deco


# ---------------------------------------------------------------------------------------------
# canonical quantity text (apimachinery resource.Quantity.String())
# ---------------------------------------------------------------------------------------------

_SI_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BIN_SUFFIX = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}


def canonical_quantity(value: str | int) -> str:
    """``resource.MustParse(value).String()``: the canonical text Go writes back for a
    quantity (``"1000m"`` -> ``"1"``, ``"0.5"`` -> ``"500m"``, ``"1024Mi"`` -> ``"1Gi"``,
    ``"1536"`` stays, ``"1e3"`` stays). Values are rounded up to nano units as Go does.
    Raises ``ValueError`` for something that is not a quantity (or too large to compute:
    Go's arbitrary-precision decimals have no limit, the 1,000 digits here do)."""
    from decimal import DecimalException, localcontext

    try:
        with localcontext(prec=1000):
            return _canonical_quantity(value)
    except DecimalException:
        raise ValueError(f"quantity out of range: {value!r}") from None


def _canonical_quantity(value: str | int) -> str:
    from decimal import ROUND_CEILING, Decimal

    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str):
        raise ValueError(f"not a quantity: {value!r}")
    m = _QUANTITY_RE.match(text)
    if m is None:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    suffix = m.group("suffix") or ""
    num = Decimal(m.group("num"))
    if suffix in _BINARY:
        fmt, amount = "BinarySI", num * _BINARY[suffix]
    elif suffix in _DECIMAL:
        fmt, amount = "DecimalSI", num.scaleb(_DECIMAL[suffix])
    else:
        fmt, amount = "DecimalExponent", num.scaleb(int(Decimal(suffix[1:])))
    # Go keeps at most nano precision, rounding up (away from -inf)
    amount = amount.quantize(Decimal("1e-9"), rounding=ROUND_CEILING)
    if amount == 0:
        return "0"
    if fmt == "BinarySI" and (-1024 < amount < 1024 or amount != amount.to_integral_value()):
        fmt = "DecimalSI"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if fmt == "BinarySI":
        n, exp = int(amount), 0
        while n % 1024 == 0 and exp < 6:
            n //= 1024
            exp += 1
        return f"{sign}{n}{_BIN_SUFFIX[exp]}"
    # mantissa * 10**exponent with an integer mantissa free of trailing zeros
    t = amount.normalize().as_tuple()
    digits = int("".join(map(str, t.digits)))
    exponent = int(t.exponent)
    while digits % 10 == 0 and digits:
        digits //= 10
        exponent += 1
    shift = exponent % 3  # Python's % is floor-mod: exponent -> largest multiple of 3 below
    digits *= 10**shift
    exponent -= shift
    if fmt == "DecimalSI" and exponent in _SI_SUFFIX:
        return f"{sign}{digits}{_SI_SUFFIX[exponent]}"
    return f"{sign}{digits}" + (f"e{exponent}" if exponent else "")
