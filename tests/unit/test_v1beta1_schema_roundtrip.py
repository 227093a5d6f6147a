"""Property: every object the generated InferenceService CRD schema admits decodes into the
Python types and encodes back unchanged (nothing dropped, nothing refused, nothing added).

Objects are drawn from the CRD's own openAPIV3Schema (types, required, enums, patterns,
bounds, list-map uniqueness), so a field declared in the schema but missing from the Python
types, or a Python type stricter than the schema, fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apis.serving.v1beta1 import InferenceService

CRD = (
    Path(__file__).resolve().parents[2] / "config/crd/full/serving.kserve.io_inferenceservices.yaml"
)
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


with CRD.open() as f:
    SCHEMA = yaml.load(f, Loader=Loader)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _isvc(spec: Any, status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "x"},
        "spec": spec,
        "status": status,
    }


@pytest.mark.parametrize("component", ["predictor", "transformer", "explainer", "canary"])
def test_schema_admitted_objects_round_trip(component: str) -> None:
    spec_schema = SCHEMA["properties"]["spec"]["properties"]
    predictor = strategy(spec_schema["predictor"])
    part = strategy(spec_schema[component])

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(predictor, part, strategy(SCHEMA["properties"]["status"]))
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


OTHER_CRDS = sorted(
    p for p in CRD.parent.glob("*.yaml") if not p.name.endswith("_inferenceservices.yaml")
)


@pytest.mark.parametrize("crd_file", OTHER_CRDS, ids=[p.stem.split("_")[1] for p in OTHER_CRDS])
def test_every_kind_round_trips(crd_file: Path) -> None:
    """The same property for every other generated kind (v1alpha1)."""
    from runtime.resource import discover

    kinds = {k.__crd__.name: k for k in discover("apis")}
    crd = yaml.load(crd_file.read_text(), Loader=Loader)
    kind = kinds[crd["metadata"]["name"]]
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
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
