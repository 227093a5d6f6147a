"""Malformed input (possible with the minimal CRDs, which do not validate) is refused with a
FieldError naming the field, as upstream's webhooks refuse it when they decode the request into
Go types; validators and defaulters never crash. Seeded random mutations of the table-test
objects replace one value with a value of another JSON type."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph_validation import validate_inference_graph
from apis.serving.v1alpha1.local_model_cache_validation import (
    validate_local_model_cache,
    validate_local_model_namespace_cache,
)
from apis.serving.v1alpha1.servingruntime_validation import validate_serving_runtime
from apis.serving.v1alpha1.trained_model_validation import (
    validate_trained_model,
    validate_trained_model_update,
)
from apis.serving.v1beta1.inference_service_defaults import (
    default_inference_service,
    set_runtime_defaults,
)
from apis.serving.v1beta1.inference_service_validation import (
    validate_inference_service,
    validate_inference_service_update,
)
from apis.serving.validation import FieldError

from . import test_isvc_validation as isvc_t
from . import test_servingruntime_validation as sr_t
from . import test_v1alpha1_validation as a1_t

# No null: Go decodes null into any field as "absent", so it is never malformed.
JUNK: list[Any] = [1, -5, "x", [], {}, [1], {"a": 1}, True, 1.5, [{}], "1Gi"]

Path = tuple[Any, ...]


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(v), "null")


def _dotted(path: Path) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else ("." if out else "") + str(k)
    return out


# resource.Quantity decodes a JSON number as well as a string ("1", 1.5)
_QUANTITY = re.compile(r"(\.resources\.(limits|requests)\.[^\[]+|\.model\.memory|\.modelSize)$")


def _still_well_typed(path: Path, old: Any, new: Any) -> bool:
    """Whether Go would decode ``new`` where ``old`` was: a number for a quantity, an integer
    for a float."""
    if _QUANTITY.search(_dotted(path)) and (
        _json_type(new) in ("integer", "number") or new == "1Gi"
    ):
        return True
    return _json_type(old) == "number" and _json_type(new) == "integer"


def _paths(o: Any, p: Path = ()) -> Iterator[Path]:
    yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _paths(v, (*p, i))


def _mutate(rnd: random.Random, seed: Any) -> tuple[Any, Path]:
    """A copy of ``seed`` with one value replaced by one of another JSON type that Go would
    refuse to decode there; the path replaced."""
    while True:
        obj = copy.deepcopy(seed)
        path = rnd.choice([p for p in _paths(obj) if p])
        target = obj
        for k in path[:-1]:
            target = target[k]
        old = target[path[-1]]
        new = rnd.choice([j for j in JUNK if _json_type(j) != _json_type(old)])
        if not _still_well_typed(path, old, new):
            target[path[-1]] = copy.deepcopy(new)
            return obj, path


def _names(field: str, path: Path) -> bool:
    """Whether an error on ``field`` names the value changed at ``path``: the field itself, a
    field inside it, or the object holding it (``metadata.annotations[key]`` spelled either
    way)."""
    want = _dotted(path)
    for f in (field, re.sub(r"\[([^\]]*[^\d\]][^\]]*)\]", r".\1", field)):
        inside = want.startswith((f + ".", f + "[")) or f.startswith((want + ".", want + "["))
        if f == want or inside:
            return True
    return False


ISVC_SEEDS = [b[1] for b in isvc_t.BAD] + [g[1] for g in isvc_t.GOOD]
SR_SEEDS = [b[1] for b in sr_t.BAD] + [g[1] for g in sr_t.GOOD]

# The defaulters run in the mutating webhook, after the request was decoded, and before the
# validating webhook: malformed input must be refused by the pair, named by either.
CASES: list[Any] = [
    pytest.param(ISVC_SEEDS, validate_inference_service, id="validate isvc"),
    pytest.param(ISVC_SEEDS, lambda o: validate_inference_service_update(o, o),
                 id="validate isvc update"),
    pytest.param(
        ISVC_SEEDS, lambda o: validate_inference_service(default_inference_service(o)),
        id="default isvc, validate",
    ),
    pytest.param(ISVC_SEEDS, lambda o: validate_inference_service(
        set_runtime_defaults(o, {"serving.kserve.io/server-type": "mlserver"})),
        id="runtime defaults, validate"),
    pytest.param(SR_SEEDS, lambda o: validate_serving_runtime(o, [o]), id="validate sr"),
    pytest.param([a1_t.ig(a1_t.SEQ)], validate_inference_graph, id="validate ig"),
    pytest.param([a1_t.tm()], lambda o: validate_trained_model_update(o, o),
                 id="validate tm update"),
    pytest.param([a1_t.lmc("a")], lambda o: validate_local_model_cache(o, [o]),
                 id="validate lmc"),
    pytest.param([a1_t.lmc("a")], lambda o: validate_local_model_namespace_cache(o, {"ng"}),
                 id="validate lmnc"),
]


@pytest.mark.parametrize(("seeds", "fn"), CASES)
def test_malformed_input_is_refused_naming_the_field(
    seeds: list[Any], fn: Callable[[Any], Any]
) -> None:
    rnd = random.Random(1234)
    wrong: list[str] = []
    for _ in range(400):
        obj, path = _mutate(rnd, rnd.choice(seeds))
        try:
            fn(copy.deepcopy(obj))
        except FieldError as e:
            if not _names(e.field, path):
                wrong.append(f"{_dotted(path)}: refused as {e.field!r} ({e.reason})")
        else:
            wrong.append(f"{_dotted(path)}: accepted")
    assert wrong == []


@pytest.mark.parametrize(("seeds", "fn"), [pytest.param(*c.values, id=c.id) for c in CASES])
def test_null_and_junk_anywhere_never_crash(seeds: list[Any], fn: Callable[[Any], Any]) -> None:
    # null included (valid: absent), and any replacement: either accepted or a FieldError
    rnd = random.Random(4321)
    refused = 0
    for _ in range(200):
        obj = copy.deepcopy(rnd.choice(seeds))
        path = rnd.choice([p for p in _paths(obj) if p])
        target = obj
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = copy.deepcopy(rnd.choice([None, *JUNK]))
        try:
            fn(obj)
        except FieldError as e:
            assert isinstance(e.field, str) and e.reason
            refused += 1
    assert refused > 0


_STRING = "Input should be a valid string"
_NO_QUANTITY = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def _sklearn(**impl: Any) -> dict[str, Any]:
    return {"sklearn": {"storageUri": "gs://b/m", **impl}}


def _default_then_validate(o: Any) -> Any:
    return validate_inference_service(default_inference_service(o))


# Values the pydantic models let through (lightkube types annotations and resource maps as a
# bare dict, enums are Literals) but Go's json.Unmarshal into the webhook's typed structs refuses.
GO_DECODING: list[tuple[str, Callable[[Any], Any], Any, str, str]] = [
    ("annotation value number", validate_inference_service,
     isvc_t.isvc({"predictor": _sklearn()}, annotations={"serving.kserve.io/deploymentMode": 5}),
     "metadata.annotations[serving.kserve.io/deploymentMode]", _STRING),
    ("label value bool", validate_inference_service,
     {**isvc_t.isvc({"predictor": _sklearn()}),
      "metadata": {"name": "m", "namespace": "d", "labels": {"team": True}}},
     "metadata.labels[team]", _STRING),
    ("quantity list", validate_inference_service,
     isvc_t.isvc({"predictor": _sklearn(resources={"limits": {"cpu": [1]}})}),
     "spec.predictor.sklearn.resources.limits[cpu]", _NO_QUANTITY),
    ("quantity bool", validate_inference_service,
     isvc_t.isvc({"predictor": _sklearn(resources={"requests": {"memory": True}})}),
     "spec.predictor.sklearn.resources.requests[memory]", _NO_QUANTITY),
    ("quantity text that does not parse", validate_inference_service,
     isvc_t.isvc({"predictor": _sklearn(resources={"limits": {"nvidia.com/gpu": "one"}})}),
     "spec.predictor.sklearn.resources.limits[nvidia.com/gpu]", _NO_QUANTITY),
    ("quantity typed str by lightkube (emptyDir sizeLimit)", validate_inference_service,
     isvc_t.isvc({"predictor": {**_sklearn(), "volumes": [
         {"name": "v", "emptyDir": {"sizeLimit": "lots"}}]}}),
     "spec.predictor.volumes[0].emptyDir.sizeLimit", _NO_QUANTITY),
    ("Quantity field (TrainedModel memory)", validate_trained_model,
     {**a1_t.tm(), "spec": {**a1_t.tm()["spec"], "model": {
         **a1_t.tm()["spec"]["model"], "memory": "big"}}},
     "spec.model.memory", _NO_QUANTITY),
    ("scaleMetric list, no rule reads it", validate_inference_service,
     isvc_t.isvc({"predictor": {**_sklearn(), "scaleMetric": ["cpu"]}},
                 annotations={"serving.kserve.io/deploymentMode": "Standard"}),
     "spec.predictor.scaleMetric", _STRING),
    ("enum number", validate_inference_service,
     isvc_t.isvc({"predictor": {**_sklearn(), "autoScaling": {"metrics": [{
         "type": "Resource", "resource": {"name": 5, "target": {
             "type": "Utilization", "averageUtilization": 50}}}]}}}),
     "spec.predictor.autoScaling.metrics[0].resource.name", _STRING),
    ("enum object (target.type)", validate_inference_service,
     isvc_t.isvc({"predictor": {**_sklearn(), "autoScaling": {"metrics": [{
         "type": "Resource", "resource": {"name": "cpu", "target": {
             "type": {}, "averageUtilization": 50}}}]}}}),
     "spec.predictor.autoScaling.metrics[0].resource.target.type", _STRING),
    ("enum bool (metric.backend)", validate_inference_service,
     isvc_t.isvc({"predictor": {**_sklearn(), "autoScaling": {"metrics": [{
         "type": "External", "external": {"metric": {"backend": True, "query": "q"},
                                          "target": {"type": "Value", "value": "1"}}}]}}}),
     "spec.predictor.autoScaling.metrics[0].external.metric.backend", _STRING),
    ("defaulter: malformed old-style predictor", default_inference_service,
     isvc_t.isvc({"predictor": {"onnx": "x"}}), "spec.predictor.onnx",
     "Input should be a valid dictionary or instance of ONNXRuntimeSpec"),
    ("defaulter: bad field of an old-style predictor, not its migrated path",
     default_inference_service,
     isvc_t.isvc({"predictor": _sklearn(runtimeVersion=5)}),
     "spec.predictor.sklearn.runtimeVersion", _STRING),
    ("defaulter, then validator", _default_then_validate,
     isvc_t.isvc({"predictor": {"onnx": "x"}}), "spec.predictor.onnx",
     "Input should be a valid dictionary or instance of ONNXRuntimeSpec"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "obj", "field", "reason"), [c[1:] for c in GO_DECODING],
                         ids=[c[0] for c in GO_DECODING])
def test_refused_as_go_decoding_refuses(
    fn: Callable[[Any], Any], obj: Any, field: str, reason: str
) -> None:
    with pytest.raises(FieldError) as info:
        fn(obj)
    assert (info.value.field, info.value.reason) == (field, reason)
    assert str(info.value) == f"{field}: {reason}"


@pytest.mark.parametrize("value", [1, 1.5, "1Gi", " 500m ", "1e3", None])
def test_quantities_go_decodes_are_accepted(value: Any) -> None:
    # a JSON number is read as quantity text; a string is trimmed first (Quantity.UnmarshalJSON)
    obj = isvc_t.isvc({"predictor": _sklearn(resources={"limits": {"cpu": value}})})
    assert validate_inference_service(obj) == validate_inference_service(
        isvc_t.isvc({"predictor": _sklearn(resources={"limits": {"cpu": "1"}})}))


def test_enum_rule_messages_are_kept_for_strings() -> None:
    # a string outside the enum decodes in Go; the rule refuses it with upstream's message
    obj = isvc_t.isvc({"predictor": {**_sklearn(), "scaleMetric": "gpu"}},
                      annotations=isvc_t.STD_HPA)
    with pytest.raises(FieldError) as info:
        validate_inference_service(obj)
    assert (info.value.field, info.value.reason) == (
        "spec.predictor.scaleMetric", "[gpu] is not a supported metric")


def test_null_enum_is_absent_not_a_decode_error() -> None:
    # Go decodes null as absent (""), so the rule refuses it, with upstream's message
    obj = isvc_t.isvc({"predictor": {**_sklearn(), "autoScaling": {"metrics": [{
        "type": None, "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 50}}}]}}},
        annotations=isvc_t.STD_HPA)
    with pytest.raises(FieldError) as info:
        validate_inference_service(obj)
    assert (info.value.field, info.value.reason) == (
        "spec.predictor.autoScaling.metrics[0].type",
        "invalid HPA metric source type with value [],valid metric source types are Resource")


# Upstream decodes the request into its Go types before any rule runs, so a value of the wrong
# JSON type is refused even where no rule reads it (e.g. a string where a number belongs, a
# fractional replica count, "false" for a bool). Constraint-only problems (enums, patterns,
# required fields) are not decode errors and keep upstream's rule messages.
def _isvc(**pred: Any) -> dict[str, Any]:
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m"}
    return isvc_t.isvc({"predictor": {"model": model, **pred}})


def _with_model(**model: Any) -> dict[str, Any]:
    obj = _isvc()
    obj["spec"]["predictor"]["model"].update(model)
    return obj


DECODE_ERRORS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    ("isvc storageUri number", validate_inference_service, _with_model(storageUri=5),
     "spec.predictor.model.storageUri"),
    ("isvc fractional minReplicas", validate_inference_service, _isvc(minReplicas=1.5),
     "spec.predictor.minReplicas"),
    ("isvc bool minReplicas", validate_inference_service, _isvc(minReplicas=True),
     "spec.predictor.minReplicas"),
    ("isvc env name number", validate_inference_service,
     _with_model(env=[{"name": 5, "value": "x"}]), "spec.predictor.model.env[0]"),
    ("isvc nodeSelector value number", validate_inference_service,
     _isvc(nodeSelector={"disk": 1}), "spec.predictor.nodeSelector.disk"),
    ("isvc update, new object", lambda o: validate_inference_service_update(o, _isvc()),
     _isvc(scaleTarget=1.5), "spec.predictor.scaleTarget"),
    ("sr disabled string", lambda o: validate_serving_runtime(o, []),
     sr_t.sr(disabled="false"), "spec.disabled"),
    ("ig weight fractional", validate_inference_graph,
     a1_t.ig({"root": {"routerType": "Splitter", "steps": [
         {"serviceName": "a", "weight": 99.5}, {"serviceName": "b", "weight": 0.5}]}}),
     "spec.nodes.root.steps[0].weight"),
    ("tm inferenceService number", lambda o: validate_trained_model_update(o, a1_t.tm()),
     {**a1_t.tm(), "spec": {**a1_t.tm()["spec"], "inferenceService": 7}},
     "spec.inferenceService"),
    ("lmc sourceModelUri number", lambda o: validate_local_model_cache(o, []),
     {**a1_t.lmc("a"), "spec": {**a1_t.lmc("a")["spec"], "sourceModelUri": 5}},
     "spec.sourceModelUri"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fn", "obj", "field"), [c[1:] for c in DECODE_ERRORS], ids=[c[0] for c in DECODE_ERRORS]
)
def test_wrong_json_type_is_refused_like_go_decoding(
    fn: Callable[[Any], Any], obj: Any, field: str
) -> None:
    with pytest.raises(FieldError) as info:
        fn(obj)
    assert info.value.field == field


def test_constraint_errors_keep_upstream_messages() -> None:
    obj = _isvc(logger={"mode": "sometimes"})
    with pytest.raises(FieldError) as info:
        validate_inference_service(obj)
    assert (info.value.field, info.value.reason) == (
        "spec.predictor.logger.mode",
        "invalid logger type",
    )
