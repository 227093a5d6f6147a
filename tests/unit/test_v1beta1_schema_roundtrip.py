"""Property: every object a CRD schema admits decodes into the Python types and encodes back
unchanged (nothing dropped, nothing refused, nothing added).

Objects are drawn from the openAPIV3Schema (types, required, enums, patterns, bounds, list-map
uniqueness) of two sources: our generated CRDs (config/crd/full), and upstream KServe's
(shared/reference/kserve/crd, beside the repo). Ours catch a Python type stricter than its own
schema; upstream's catch a field upstream declares that our types lack or type differently
(ours are generated from the types, so they cannot show that)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apis.serving.v1beta1 import InferenceService
from tests.reference import reference

OURS = Path(__file__).resolve().parents[2] / "config" / "crd" / "full"
ISVC_FILE = "serving.kserve.io_inferenceservices.yaml"
SOURCES = ["ours", "upstream"]
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 6


def _text(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "pattern" in schema:
        s = st.from_regex(schema["pattern"], fullmatch=True)
        if "maxLength" in schema:
            s = s.filter(lambda v: len(v) <= schema["maxLength"])
        return s
    if schema.get("format") == "date-time":
        return st.just("2026-01-02T03:04:05Z")
    if schema.get("format") == "byte":
        return st.just("aGVsbG8=")
    lo = schema.get("minLength", 0)
    hi = schema.get("maxLength", lo + 6)
    return st.text("abcxyz-./", min_size=lo, max_size=min(hi, lo + 6))


def _int(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    lo = schema.get("minimum", -5 if schema.get("format") else 0)
    hi = schema.get("maximum", 1000)
    return st.integers(int(lo), int(hi))


def strategy(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    if schema.get("x-kubernetes-int-or-string"):
        text = (
            st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else _text({})
        )
        return st.one_of(st.integers(0, 64), text)
    t = schema.get("type")
    if t == "string":
        return _text(schema)
    if t == "integer":
        return _int(schema)
    if t == "number":
        return st.integers(0, 10)
    if t == "boolean":
        return st.booleans()
    if t == "array":
        lo = schema.get("minItems", 0)
        hi = max(lo, min(schema.get("maxItems", 2), 2))
        if depth >= MAX_DEPTH and lo == 0:
            return st.just([])
        keys = schema.get("x-kubernetes-list-map-keys")
        unique_by: Any = None
        if keys:
            unique_by = lambda item: json.dumps([item.get(k) for k in keys])  # noqa: E731
        elif schema.get("x-kubernetes-list-type") == "set":
            unique_by = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
        return st.lists(
            strategy(schema["items"], depth + 1), min_size=lo, max_size=hi, unique_by=unique_by
        )
    if t == "object" or "properties" in schema:
        props = schema.get("properties")
        if props:
            required = set(schema.get("required", []))
            req = {k: strategy(v, depth + 1) for k, v in props.items() if k in required}
            opt = (
                {k: strategy(v, depth + 1) for k, v in props.items() if k not in required}
                if depth < MAX_DEPTH
                else {}
            )
            return st.fixed_dictionaries(req, optional=opt)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict):
            return st.dictionaries(
                st.sampled_from(["a", "b", "cpu"]), strategy(ap, depth + 1), max_size=2
            )
        return st.just({})
    return st.just({})


@functools.cache
def _crd(source: str, file_name: str) -> dict[str, Any]:
    """A CRD of ours or upstream's (a missing upstream reference fails the test)."""
    path = OURS / file_name if source == "ours" else reference("crd", file_name)
    crd: dict[str, Any] = yaml.load(path.read_text(), Loader=Loader)
    return crd


def _schema(source: str, file_name: str) -> dict[str, Any]:
    """The openAPIV3Schema of the storage version."""
    versions = _crd(source, file_name)["spec"]["versions"]
    [storage] = [v for v in versions if v.get("storage")]
    schema: dict[str, Any] = storage["schema"]["openAPIV3Schema"]
    return schema


def _isvc(spec: Any, status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "x"},
        "spec": spec,
        "status": status,
    }


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("component", ["predictor", "transformer", "explainer", "canary"])
def test_schema_admitted_objects_round_trip(source: str, component: str) -> None:
    schema = _schema(source, ISVC_FILE)
    spec_schema = schema["properties"]["spec"]["properties"]
    predictor = strategy(spec_schema["predictor"])
    part = strategy(spec_schema[component])

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(predictor, part, strategy(schema["properties"]["status"]))
    def check(pred: Any, comp: Any, status: Any) -> None:
        spec = (
            {"predictor": pred}
            if component == "predictor"
            else {"predictor": pred, component: comp}
        )
        obj = _isvc(spec, status)
        isvc = InferenceService.model_validate(obj)
        assert isvc.to_kube() == obj

    check()


OTHER_CRDS = sorted(p.name for p in OURS.glob("*.yaml") if p.name != ISVC_FILE)
#: upstream has KServe's group only (a kind of another group, e.g. one made by
#: `python -m codegen create-api`, is checked against its own CRD)
ROUND_TRIPS = [(source, f) for f in OTHER_CRDS for source in SOURCES
               if source == "ours" or f.startswith("serving.kserve.io_")]


@pytest.mark.parametrize(("source", "crd_file"), ROUND_TRIPS,
                         ids=[f"{f[:-5]}-{s}" for s, f in ROUND_TRIPS])
def test_every_kind_round_trips(source: str, crd_file: str) -> None:
    """The same property for every other kind (v1alpha1)."""
    from runtime.resource import discover

    kinds = {k.__crd__.name: k for k in discover("apis")}
    kind = kinds[_crd(source, crd_file)["metadata"]["name"]]
    props = _schema(source, crd_file)["properties"]
    parts = {k: strategy(v) for k, v in props.items() if k in ("spec", "status")}

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.fixed_dictionaries(parts))
    def check(values: dict[str, Any]) -> None:
        obj = {
            "apiVersion": kind.__crd__.api_version,
            "kind": kind.__crd__.kind,
            "metadata": {"name": "x"},
            **values,
        }
        assert kind.model_validate(obj).to_kube() == obj

    check()
