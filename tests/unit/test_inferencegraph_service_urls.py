"""``serviceName`` steps resolved to the InferenceService's endpoint (upstream
``GetPredictorEndpoint`` / ``GetModelName`` and the controller's resolution loop), as tables."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph import InferenceGraphSpec
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.inferencegraph.service_urls import (
    EndpointError,
    get_model_name,
    get_predictor_endpoint,
    model_runtime_name,
    referenced_service_names,
    resolve_service_urls,
)

ADDR = "http://m-predictor.ns.svc.cluster.local"


def isvc(spec: dict[str, Any], *, name: str = "m", address: str | None = ADDR) -> InferenceService:
    status = {"address": {"url": address}} if address else None
    return InferenceService.model_validate(
        {"metadata": {"name": name, "namespace": "ns"}, "spec": spec, "status": status})


SK = {"predictor": {"sklearn": {"storageUri": "gs://b/m"}}}


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (SK, "m"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "args": ["--model_name=foo"]}}}, "foo"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "args": ["--model_name", "bar", "--port", "1"]}}}, "bar"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "args": ["--model_name", "--port"]}}}, "m"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "env": [{"name": "MLSERVER_MODEL_NAME", "value": "ml"}],
                                  "args": ["--model_name=ignored"]}}}, "ml"),
        ({"predictor": {"containers": [{"name": "kserve-container", "image": "i",
                                        "args": ["--model_name=custom"]}]}}, "custom"),
        ({"predictor": {"containers": [{"name": "kserve-container", "image": "i",
                                        "args": ["--model_name=pred"]}]},
          "transformer": {"containers": [{"name": "t", "image": "t",
                                          "args": ["--model_name", "trans"]}]}}, "trans"),
        ({"predictor": {"containers": [{"name": "kserve-container", "image": "i",
                                        "args": ["--model_name=pred"]}]},
          "transformer": {"containers": [{"name": "t", "image": "t"}]}}, "pred"),
    ],
    ids=["isvc-name", "args-eq", "args-next", "args-next-is-flag", "mlserver-env",
         "custom-container", "transformer-args", "transformer-without-name"],
)
def test_get_model_name(spec: dict[str, Any], name: str) -> None:
    assert get_model_name(isvc(spec)) == name


@pytest.mark.parametrize(
    ("spec", "runtimes", "endpoint"),
    [
        (SK, None, ADDR + "/v1/models/m:predict"),
        ({"predictor": {"sklearn": {"storageUri": "gs://b", "protocolVersion": "v2"}}}, None,
         ADDR + "/v2/models/m/infer"),
        ({"predictor": {"sklearn": {"storageUri": "gs://b", "protocolVersion": "grpc-v2"}}},
         None, ADDR),
        # multi-model predictor: no path
        ({"predictor": {"tensorflow": {}}}, None, ADDR),
        # transformer decides the protocol (PROTOCOL env of its first container)
        ({"predictor": {"sklearn": {"storageUri": "gs://b", "protocolVersion": "v2"}},
          "transformer": {"containers": [{"name": "t", "image": "t"}]}}, None,
         ADDR + "/v1/models/m:predict"),
        ({"predictor": {"sklearn": {"storageUri": "gs://b"}},
          "transformer": {"containers": [{"name": "t", "image": "t", "env": [
              {"name": "PROTOCOL", "value": "v2"}]}]}}, None, ADDR + "/v2/models/m/infer"),
        # model.runtime: the first of v1/v2 in the runtime's protocolVersions
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}}}, {"rt": ["grpc-v2", "v2", "v1"]},
         ADDR + "/v2/models/m/infer"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}}}, {"rt": []},
         ADDR + "/v1/models/m:predict"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "protocolVersion": "v2"}}}, None,
         ADDR + "/v2/models/m/infer"),
    ],
    ids=["v1", "v2", "grpc", "mms", "transformer-v1", "transformer-v2", "runtime-v2",
         "runtime-no-versions", "model-v2-auto-select"],
)
def test_get_predictor_endpoint(spec: dict[str, Any], runtimes: Any, endpoint: str) -> None:
    assert get_predictor_endpoint(isvc(spec), runtimes) == endpoint


@pytest.mark.parametrize(
    ("spec", "runtimes", "address", "reason", "message"),
    [
        (SK, None, None, "InferenceServiceNotReady", "service m is not ready"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}}}, {}, ADDR, "ServingRuntimeNotFound",
         "No ServingRuntimes or ClusterServingRuntimes with the name: rt"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}}}, {"rt": ["grpc-v1"]}, ADDR,
         "ServingRuntimeProtocolUnsupported",
         "the runtime does not support a protocol compatible with Inference Graphs"),
    ],
)
def test_get_predictor_endpoint_errors(spec: dict[str, Any], runtimes: Any, address: Any,
                                       reason: str, message: str) -> None:
    with pytest.raises(EndpointError) as e:
        get_predictor_endpoint(isvc(spec, address=address), runtimes)
    assert (e.value.reason, str(e.value)) == (reason, message)


@pytest.mark.parametrize(
    ("spec", "runtime"),
    [
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}}}, "rt"),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "runtime": "rt"}}}, None),
        ({"predictor": {"model": {"modelFormat": {"name": "x"}, "storageUri": "gs://b",
                                  "runtime": "rt"}},
          "transformer": {"containers": [{"name": "t", "image": "t"}]}}, None),
        (SK, None),
    ],
    ids=["model-runtime", "mms", "transformer", "framework"],
)
def test_model_runtime_name(spec: dict[str, Any], runtime: str | None) -> None:
    assert model_runtime_name(isvc(spec)) == runtime


def test_resolve_service_urls() -> None:
    spec = InferenceGraphSpec.model_validate({"nodes": {
        "root": {"routerType": "Sequence", "steps": [
            {"serviceName": "a"},
            {"serviceName": "a", "serviceUrl": "http://given"},
            {"nodeName": "second"},
        ]},
        "second": {"routerType": "Ensemble", "steps": [
            {"serviceName": "missing"}, {"serviceName": "pending"}, {"serviceUrl": "http://x"}]},
    }})
    isvcs = {"a": isvc(SK, name="a"), "pending": isvc(SK, name="pending", address=None)}
    resolved, problems = resolve_service_urls(spec, isvcs)
    steps = resolved.nodes["root"].steps or []
    assert [s.service_url for s in steps] == [ADDR + "/v1/models/a:predict", "http://given",
                                              None]
    assert [(p.node, p.step, p.service_name, p.reason) for p in problems] == [
        ("second", 0, "missing", "InferenceServiceNotFound"),
        ("second", 1, "pending", "InferenceServiceNotReady"),
    ]
    assert spec.nodes["root"].steps[0].service_url is None  # type: ignore[index]  # a copy
    assert referenced_service_names(spec) == ["a", "missing", "pending"]
    assert referenced_service_names(None) == []
    # a serviceUrl given for a missing InferenceService is still a problem (upstream checks)
    _, problems = resolve_service_urls(spec, {"a": isvc(SK, name="a")})
    assert [p.service_name for p in problems] == ["missing", "pending"]
    _, problems = resolve_service_urls(spec, {})
    assert [p.service_name for p in problems] == ["a", "a", "missing", "pending"]
