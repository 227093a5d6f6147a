"""Validators and defaulters never crash on malformed input (possible with the minimal CRDs,
which do not validate): every failure is a FieldError. Seeded random mutations of the table
test objects, replacing values with values of the wrong JSON type."""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph_validation import validate_inference_graph
from apis.serving.v1alpha1.local_model_cache_validation import (
    validate_local_model_cache,
    validate_local_model_namespace_cache,
)
from apis.serving.v1alpha1.servingruntime_validation import validate_serving_runtime
from apis.serving.v1alpha1.trained_model_validation import validate_trained_model_update
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

JUNK: list[Any] = [None, 1, -5, "x", [], {}, [1], {"a": 1}, True, 1.5, [{}], [None], "1Gi"]


def _paths(o: Any, p: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _paths(v, (*p, i))


def _mutate(rnd: random.Random, seed: Any) -> Any:
    obj = copy.deepcopy(seed)
    for _ in range(rnd.randint(1, 3)):
        paths = [p for p in _paths(obj) if p]
        if not paths:
            break
        p = rnd.choice(paths)
        target = obj
        for k in p[:-1]:
            target = target[k]
        target[p[-1]] = copy.deepcopy(rnd.choice(JUNK))
    return obj


ISVC_SEEDS = [b[1] for b in isvc_t.BAD] + [g[1] for g in isvc_t.GOOD]
SR_SEEDS = [b[1] for b in sr_t.BAD] + [g[1] for g in sr_t.GOOD]
A1_SEEDS = [a1_t.tm(), a1_t.ig(a1_t.SEQ), a1_t.lmc("a")]

CASES: list[tuple[str, list[Any], Callable[[Any], Any]]] = [
    ("validate isvc", ISVC_SEEDS, validate_inference_service),
    ("validate isvc update", ISVC_SEEDS, lambda o: validate_inference_service_update(o, o)),
    ("default isvc", ISVC_SEEDS, default_inference_service),
    (
        "runtime defaults",
        ISVC_SEEDS,
        lambda o: set_runtime_defaults(o, {"serving.kserve.io/server-type": "mlserver"}),
    ),
    ("validate sr", SR_SEEDS, lambda o: validate_serving_runtime(o, [o])),
    ("validate ig", A1_SEEDS, validate_inference_graph),
    ("validate tm update", A1_SEEDS, lambda o: validate_trained_model_update(o, o)),
    ("validate lmc", A1_SEEDS, lambda o: validate_local_model_cache(o, [o])),
    ("validate lmnc", A1_SEEDS, lambda o: validate_local_model_namespace_cache(o, {"ng"})),
]


@pytest.mark.parametrize(("seeds", "fn"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_input_is_a_field_error(seeds: list[Any], fn: Callable[[Any], Any]) -> None:
    rnd = random.Random(1234)
    for _ in range(400):
        obj = _mutate(rnd, rnd.choice(seeds))
        with contextlib.suppress(FieldError):
            fn(obj)


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
