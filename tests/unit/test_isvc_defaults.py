"""Table tests for InferenceService defaulting (kserve-behaviour.md §4.2, rules 1-8)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.inference_service_defaults import (
    default_inference_service,
    set_runtime_defaults,
)

MODE = "serving.kserve.io/deploymentMode"
RESOURCE = {"cpuLimit": "1", "memoryLimit": "2Gi", "cpuRequest": "1", "memoryRequest": "2Gi"}


def cfg(**keys: Any) -> Any:
    data = {"security": {"autoMountServiceAccountToken": True}, **keys}
    return parse_inferenceservice_config(
        {k: json.dumps(v) for k, v in data.items() if v is not None}
    )


def isvc(
    predictor: dict[str, Any] | None = None, annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "m", "namespace": "ns"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {
        "metadata": meta,
        "spec": {"predictor": predictor or {"sklearn": {"storageUri": "gs://b/m"}}, **spec},
    }


def ann(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


# 1. legacy annotation values normalised
@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("RawDeployment", "Standard"),
        ("Serverless", "Knative"),
        ("Standard", "Standard"),
        ("Knative", "Knative"),
        ("ModelMesh", "ModelMesh"),
    ],
)
def test_rule1_normalise_mode(given: str, want: str) -> None:
    out = default_inference_service(isvc(annotations={MODE: given}), cfg())
    assert ann(out)[MODE] == want


# 2. default mode annotation written only for Standard / ModelMesh
@pytest.mark.parametrize(
    ("default", "want"),
    [
        ("Standard", "Standard"),
        ("RawDeployment", "Standard"),
        ("ModelMesh", "ModelMesh"),
        ("Knative", None),
        ("Serverless", None),
        (None, None),
    ],
)
def test_rule2_default_mode_annotation(default: str | None, want: str | None) -> None:
    deploy = {"defaultDeploymentMode": default} if default else None
    out = default_inference_service(isvc(), cfg(deploy=deploy))
    assert ann(out).get(MODE) == want


def test_rule2_existing_annotation_wins() -> None:
    out = default_inference_service(
        isvc(annotations={MODE: "Knative"}), cfg(deploy={"defaultDeploymentMode": "Standard"})
    )
    assert ann(out)[MODE] == "Knative"


# 3. frameworks become model{modelFormat}
@pytest.mark.parametrize(
    ("fw", "protocol"),
    [
        ("sklearn", None),
        ("xgboost", None),
        ("tensorflow", None),
        ("pytorch", None),
        ("pmml", None),
        ("lightgbm", None),
        ("paddle", None),
        ("triton", "v2"),
        ("onnx", "v2"),
        ("huggingface", "v2"),
    ],
)
def test_rule3_framework_to_model(fw: str, protocol: str | None) -> None:
    spec = {
        "storageUri": "gs://b/m",
        "runtimeVersion": "1.0",
        "env": [{"name": "A", "value": "1"}],
        "resources": {"limits": {"cpu": "2"}},
    }
    out = default_inference_service(isvc({fw: spec}), cfg())
    pred = out["spec"]["predictor"]
    assert fw not in pred
    want = {"modelFormat": {"name": fw}, **spec, "name": ""}  # Go zero value, see below
    if protocol:
        want["protocolVersion"] = protocol
    assert pred["model"] == want


def test_rule3_explicit_protocol_kept_and_modelmesh_untouched() -> None:
    out = default_inference_service(isvc({"triton": {"protocolVersion": "grpc-v2"}}), cfg())
    assert out["spec"]["predictor"]["model"]["protocolVersion"] == "grpc-v2"
    mm = default_inference_service(
        isvc({"sklearn": {"storageUri": "s3://x"}}, annotations={MODE: "ModelMesh"}), cfg()
    )
    assert "sklearn" in mm["spec"]["predictor"] and "model" not in mm["spec"]["predictor"]
    assert "modelFormat" not in ann(mm)


def test_rule3_first_framework_in_upstream_order_replaces_model() -> None:
    out = default_inference_service(
        isvc(
            {
                "xgboost": {"storageUri": "x"},
                "sklearn": {"storageUri": "s"},
                "model": {"modelFormat": {"name": "onnx"}},
            }
        ),
        cfg(),
    )
    pred = out["spec"]["predictor"]
    assert pred["model"] == {
        "modelFormat": {"name": "sklearn"},
        "storageUri": "s",
        "name": "",
        "resources": {},
    }
    assert "xgboost" in pred and "sklearn" not in pred


# 4. model protocol v2 for triton / vLLM
@pytest.mark.parametrize(
    ("fmt", "protocol", "want"),
    [
        ("triton", None, "v2"),
        ("vLLM", None, "v2"),
        ("vllm", None, None),
        ("sklearn", None, None),
        ("triton", "v1", "v1"),
    ],
)
def test_rule4_model_protocol(fmt: str, protocol: str | None, want: str | None) -> None:
    model: dict[str, Any] = {"modelFormat": {"name": fmt}}
    if protocol:
        model["protocolVersion"] = protocol
    out = default_inference_service(isvc({"model": model}), cfg())
    assert out["spec"]["predictor"]["model"].get("protocolVersion") == want


# 5. modelFormat annotation
def test_rule5_model_format_annotation() -> None:
    out = default_inference_service(isvc({"model": {"modelFormat": {"name": "onnx"}}}), cfg())
    assert ann(out)["modelFormat"] == "onnx"
    out = default_inference_service(isvc(annotations={"modelFormat": "mine"}), cfg())
    assert ann(out)["modelFormat"] == "mine"
    out = default_inference_service(isvc({"model": {"modelFormat": {"name": ""}}}), cfg())
    assert "modelFormat" not in ann(out)


# 6. component defaults
def test_rule6_model_predictor_gets_no_resource_defaults() -> None:
    out = default_inference_service(isvc(), cfg(inferenceService={"resource": RESOURCE}))
    model = out["spec"]["predictor"]["model"]
    # only the zero values upstream's json.Marshal writes back (see test_go_marshal_zero_values)
    assert model["resources"] == {} and model["name"] == ""


def test_rule6_custom_predictor_name_and_resources() -> None:
    c = cfg(inferenceService={"resource": RESOURCE})
    out = default_inference_service(
        isvc({"containers": [{"image": "x", "resources": {"limits": {"cpu": "4"}}}]}), c
    )
    first = out["spec"]["predictor"]["containers"][0]
    assert first["name"] == "kserve-container"
    assert first["resources"] == {
        "limits": {"cpu": "4", "memory": "2Gi"},
        "requests": {"cpu": "1", "memory": "2Gi"},
    }
    # two containers, first named: name kept
    two = default_inference_service(
        isvc(
            {
                "containers": [
                    {"name": "kserve-container", "image": "x"},
                    {"name": "side", "image": "y"},
                ]
            }
        ),
        c,
    )
    assert [x["name"] for x in two["spec"]["predictor"]["containers"]] == [
        "kserve-container",
        "side",
    ]
    # one container with another name: renamed (upstream)
    one = default_inference_service(isvc({"containers": [{"name": "mine", "image": "x"}]}), c)
    assert one["spec"]["predictor"]["containers"][0]["name"] == "kserve-container"


def test_rule6_transformer_and_explainer() -> None:
    c = cfg(
        inferenceService={"resource": RESOURCE},
        explainers={"art": {"image": "kserve/art", "defaultImageVersion": "0.9"}},
    )
    out = default_inference_service(
        isvc(
            transformer={"containers": [{"name": "t", "image": "x"}]},
            explainer={"art": {"type": "SquareAttack"}},
        ),
        c,
    )
    t = out["spec"]["transformer"]["containers"][0]
    assert t["name"] == "kserve-container" and t["resources"]["requests"]["memory"] == "2Gi"
    art = out["spec"]["explainer"]["art"]
    assert art["name"] == "kserve-container" and art["runtimeVersion"] == "0.9"
    assert art["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    custom = default_inference_service(isvc(explainer={"containers": [{"image": "e"}]}), c)
    assert custom["spec"]["explainer"]["containers"][0]["name"] == "kserve-container"


def test_rule6_invalid_components_left_alone() -> None:
    c = cfg(inferenceService={"resource": RESOURCE})
    obj = isvc(
        {"sklearn": {}, "containers": [{"name": "kserve-container"}]},
        transformer={"minReplicas": 1},
    )
    out = default_inference_service(obj, c)
    assert out["spec"]["predictor"]["containers"][0]["resources"] == {}  # Go zero value only
    assert out["spec"]["transformer"] == {"minReplicas": 1}


def test_rule6_no_resource_config_no_resources() -> None:
    out = default_inference_service(isvc({"containers": [{"image": "x"}]}), cfg())
    assert out["spec"]["predictor"]["containers"][0]["resources"] == {}  # Go zero value only


# 7. local model cache
LMC = {
    "metadata": {"name": "llama"},
    "spec": {"sourceModelUri": "gs://b/llama", "modelSize": "1Gi", "nodeGroups": ["gpu", "cpu"]},
}
LMNC = {
    "metadata": {"name": "mine", "namespace": "ns"},
    "spec": {"sourceModelUri": "gs://b/llama", "modelSize": "1Gi", "nodeGroups": ["ng"]},
}
LM_ON = {"enabled": True, "jobNamespace": "j"}


def _lm(obj: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    return obj["metadata"].get("labels") or {}, ann(obj)


@pytest.mark.parametrize(
    ("uri", "node_group", "want_pvc"),
    [
        ("gs://b/llama", None, "llama-gpu"),
        ("gs://b/llama/", None, "llama-gpu"),
        ("gs://b/llama/sub/dir", None, "llama-gpu"),
        ("gs://b/llama", "cpu", "llama-cpu"),
        ("gs://b/llama", "tpu", None),
        ("gs://b/llama2", None, None),
    ],
)
def test_rule7_cluster_cache(uri: str, node_group: str | None, want_pvc: str | None) -> None:
    a = {"serving.kserve.io/nodegroup": node_group} if node_group else None
    obj = isvc({"model": {"modelFormat": {"name": "hf"}, "storageUri": uri}}, annotations=a)
    out = default_inference_service(obj, cfg(localModel=LM_ON), local_model_caches=[LMC])
    labels, annotations = _lm(out)
    if want_pvc is None:
        assert "internal.serving.kserve.io/localmodel" not in labels
        assert "internal.serving.kserve.io/localmodel-pvc-name" not in annotations
    else:
        assert labels["internal.serving.kserve.io/localmodel"] == "llama"
        assert annotations["internal.serving.kserve.io/localmodel-sourceuri"] == "gs://b/llama"
        assert annotations["internal.serving.kserve.io/localmodel-pvc-name"] == want_pvc


def test_rule7_namespace_cache_first_and_removal() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "hf"}, "storageUri": "gs://b/llama"}})
    out = default_inference_service(
        obj, cfg(localModel=LM_ON), local_model_caches=[LMC], local_model_namespace_caches=[LMNC]
    )
    labels, annotations = _lm(out)
    assert labels["internal.serving.kserve.io/localmodel"] == "mine"
    assert labels["internal.serving.kserve.io/localmodel-namespace"] == "ns"
    assert annotations["internal.serving.kserve.io/localmodel-pvc-name"] == "mine-ng"
    # previously cached, now disabled for this ISVC: metadata removed
    stale = copy.deepcopy(out)
    stale["metadata"]["annotations"]["serving.kserve.io/disable-localmodel"] = "true"
    cleaned = default_inference_service(stale, cfg(localModel=LM_ON), local_model_caches=[LMC])
    labels, annotations = _lm(cleaned)
    assert not any(k.startswith("internal.serving.kserve.io/localmodel") for k in labels)
    assert not any(k.startswith("internal.serving.kserve.io/localmodel") for k in annotations)
    # localModel disabled in the config: caches ignored
    off = default_inference_service(obj, cfg(), local_model_caches=[LMC])
    assert "internal.serving.kserve.io/localmodel" not in _lm(off)[0]


def test_rule7_no_storage_uri_keeps_metadata() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "hf"}}})
    obj["metadata"]["labels"] = {"internal.serving.kserve.io/localmodel": "old"}
    out = default_inference_service(obj, cfg())
    assert out["metadata"]["labels"] == {"internal.serving.kserve.io/localmodel": "old"}


def test_rule7_cluster_cache_clears_namespace_label() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "hf"}, "storageUri": "gs://b/llama"}})
    obj["metadata"]["labels"] = {"internal.serving.kserve.io/localmodel-namespace": "x"}
    out = default_inference_service(obj, cfg(localModel=LM_ON), local_model_caches=[LMC])
    assert "internal.serving.kserve.io/localmodel-namespace" not in out["metadata"]["labels"]


# 8. automountServiceAccountToken
@pytest.mark.parametrize(
    ("security", "want"),
    [
        ({"autoMountServiceAccountToken": False}, False),
        (None, False),  # upstream zero value when the key is missing
        ({"autoMountServiceAccountToken": True}, None),
    ],
)
def test_rule8_automount(security: dict[str, bool] | None, want: bool | None) -> None:
    c = cfg(security=security)
    obj = isvc(
        transformer={"containers": [{"image": "t"}]},
        explainer={"containers": [{"image": "e"}], "automountServiceAccountToken": True},
    )
    out = default_inference_service(obj, c)
    assert out["spec"]["predictor"].get("automountServiceAccountToken") == want
    assert out["spec"]["transformer"].get("automountServiceAccountToken") == want
    assert out["spec"]["explainer"]["automountServiceAccountToken"] is True


def test_pure_and_idempotent() -> None:
    c = cfg(inferenceService={"resource": RESOURCE}, deploy={"defaultDeploymentMode": "Standard"})
    obj = isvc(transformer={"containers": [{"image": "t"}]})
    before = copy.deepcopy(obj)
    once = default_inference_service(obj, c)
    assert obj == before
    assert default_inference_service(once, c) == once


def test_default_config_is_empty_configmap() -> None:
    out = default_inference_service(isvc())
    assert out["spec"]["predictor"]["automountServiceAccountToken"] is False
    assert MODE not in ann(out)


def test_typed_inference_service_round_trip() -> None:
    from apis.serving.v1beta1 import InferenceService

    c = cfg(inferenceService={"resource": RESOURCE}, deploy={"defaultDeploymentMode": "Standard"})
    typed = InferenceService.model_validate(
        isvc(
            {"sklearn": {"storageUri": "gs://b/m"}},
            transformer={"containers": [{"name": "t", "image": "t"}]},
        )
    )
    out = default_inference_service(typed, c)
    assert out["spec"]["predictor"]["model"]["modelFormat"] == {"name": "sklearn"}
    assert ann(out)[MODE] == "Standard"
    again = InferenceService.model_validate(out)
    assert again.to_kube() == out


# reconcile-time runtime defaults (SetRuntimeDefaults)


def _model_isvc(model: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    obj = isvc({"model": model})
    if labels is not None:
        obj["metadata"]["labels"] = labels
    return obj


@pytest.mark.parametrize(
    ("fmt", "model_class"),
    [
        ("sklearn", "mlserver_sklearn.SKLearnModel"),
        ("xgboost", "mlserver_xgboost.XGBoostModel"),
        ("lightgbm", "mlserver_lightgbm.LightGBMModel"),
        ("mlflow", "mlserver_mlflow.MLflowRuntime"),
    ],
)
def test_runtime_defaults_mlserver(fmt: str, model_class: str) -> None:
    obj = _model_isvc({"modelFormat": {"name": fmt}, "storageUri": "gs://b/m"})
    out = set_runtime_defaults(obj, {"serving.kserve.io/server-type": "mlserver"})
    model = out["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["env"] == [
        {"name": "MLSERVER_MODEL_NAME", "value": "m"},
        {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
    ]
    assert out["metadata"]["labels"]["modelClass"] == model_class
    assert "env" not in obj["spec"]["predictor"]["model"]  # input untouched


def test_runtime_defaults_mlserver_without_storage_and_existing_env() -> None:
    obj = _model_isvc(
        {
            "modelFormat": {"name": "sklearn"},
            "runtime": "kserve-mlserver",
            "env": [{"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "true"}],
        }
    )
    out = set_runtime_defaults(obj)  # server type from the runtime name
    assert out["spec"]["predictor"]["model"]["env"] == [
        {"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "true"}
    ]


@pytest.mark.parametrize(
    ("model", "want_args"),
    [
        ({"modelFormat": {"name": "triton"}}, ["--model-control-mode=explicit"]),
        ({"modelFormat": {"name": "triton"}, "storageUri": "gs://b/m"}, None),
        (
            {"modelFormat": {"name": "triton"}, "args": ["--x"]},
            ["--x", "--model-control-mode=explicit"],
        ),
    ],
)
def test_runtime_defaults_triton(model: dict[str, Any], want_args: list[str] | None) -> None:
    out = set_runtime_defaults(_model_isvc({**model, "runtime": "kserve-tritonserver"}))
    m = out["spec"]["predictor"]["model"]
    assert m["protocolVersion"] == "v2"
    assert m.get("args") == want_args


@pytest.mark.parametrize(
    ("protocol", "envelope"),
    [
        (None, "kserve"),
        ("v1", "kserve"),
        ("v2", "kservev2"),
        ("grpc-v2", "kservev2"),
        ("grpc-v1", "kserve"),
    ],
)
def test_runtime_defaults_torchserve(protocol: str | None, envelope: str) -> None:
    model: dict[str, Any] = {
        "modelFormat": {"name": "pytorch"},
        "storageUri": "gs://b/m",
        "runtime": "kserve-torchserve",
    }
    if protocol:
        model["protocolVersion"] = protocol
    out = set_runtime_defaults(_model_isvc(model, labels={"Purpose": "Testing"}))
    labels = out["metadata"]["labels"]
    assert labels == {"Purpose": "Testing", "serviceEnvelope": envelope}
    m = out["spec"]["predictor"]["model"]
    assert m["env"] == [{"name": "PROTOCOL_VERSION", "value": protocol or "v1"}]


def test_runtime_defaults_other_or_no_model() -> None:
    obj = _model_isvc({"modelFormat": {"name": "sklearn"}, "runtime": "kserve-sklearnserver"})
    assert set_runtime_defaults(obj) == obj
    assert set_runtime_defaults(obj, {"serving.kserve.io/server-type": "sklearnserver"}) == obj
    custom = isvc({"containers": [{"name": "kserve-container"}]})
    assert set_runtime_defaults(custom, {"serving.kserve.io/server-type": "mlserver"}) == custom
    # the annotation wins over the runtime name
    named = _model_isvc({"modelFormat": {"name": "triton"}, "runtime": "kserve-tritonserver"})
    assert set_runtime_defaults(named, {"serving.kserve.io/server-type": "custom"}) == named


def test_rule6_art_version_from_inference_service_key_when_it_overrides() -> None:
    base = {"art": {"image": "kserve/art", "defaultImageVersion": "0.9"}}
    obj = isvc(explainer={"art": {"type": "SquareAttack"}})
    out = default_inference_service(obj, cfg(explainers=base))
    assert out["spec"]["explainer"]["art"]["runtimeVersion"] == "0.9"
    # upstream unmarshals the inferenceService key into the same struct: its explainers win
    over = cfg(
        explainers=base, inferenceService={"explainers": {"art": {"defaultImageVersion": "1.0"}}}
    )
    out = default_inference_service(obj, over)
    assert out["spec"]["explainer"]["art"]["runtimeVersion"] == "1.0"


def test_quantities_come_back_canonical_like_go_marshal() -> None:
    c = cfg(inferenceService={"resource": {"cpuLimit": "1000m", "memoryLimit": "2048Mi"}})
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "x"},
                "resources": {"limits": {"memory": "1024Mi"}, "requests": {"cpu": 2}},
            }
        },
        transformer={
            "containers": [{"name": "t", "image": "i"}],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1000Mi"}}],
        },
    )
    out = default_inference_service(obj, c)
    model = out["spec"]["predictor"]["model"]
    assert model["resources"] == {"limits": {"memory": "1Gi"}, "requests": {"cpu": "2"}}
    t = out["spec"]["transformer"]
    assert t["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert t["volumes"][0]["emptyDir"]["sizeLimit"] == "1000Mi"


def test_null_label_and_annotation_maps() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "triton"}, "runtime": "kserve-mlserver"}})
    obj["metadata"]["annotations"] = None
    obj["metadata"]["labels"] = None
    out = default_inference_service(obj, cfg())
    assert ann(out) == {"modelFormat": "triton"}
    assert "labels" not in out["metadata"]
    obj["metadata"]["labels"] = None
    out = set_runtime_defaults(obj)
    assert out["metadata"]["labels"] == {"modelClass": "mlserver_sklearn.SKLearnModel"}


def test_schema_default_mount_path() -> None:
    obj = isvc(
        {
            "model": {"modelFormat": {"name": "x"}},
            "storageUris": [{"uri": "s3://a"}, {"uri": "s3://b", "mountPath": "/m"}],
        },
        transformer={"containers": [{"name": "t"}], "storageUris": [{"uri": "s3://c"}]},
        canary=[
            {"predictor": {"name": "c", "storageUris": [{"uri": "s3://d"}]}, "trafficPercent": 1}
        ],
    )
    out = default_inference_service(obj, cfg())
    assert [u["mountPath"] for u in out["spec"]["predictor"]["storageUris"]] == [
        "/mnt/models",
        "/m",
    ]
    assert out["spec"]["transformer"]["storageUris"][0]["mountPath"] == "/mnt/models"
    assert out["spec"]["canary"][0]["predictor"]["storageUris"][0]["mountPath"] == "/mnt/models"


# Upstream's webhook answers with a JSON patch from the request to json.Marshal of the defaulted
# Go object, keeping every add/replace (controller-runtime drops only removals the scheme
# caused). Fields without omitempty therefore come back with their zero value: the inlined
# corev1.Container's "name" and "resources" (stored ISVCs show model: {name: "", resources: {}}),
# ModelFormat.name, StorageUri.uri, ConfidentialSpec.enabled, CanarySpec.trafficPercent,
# ARTExplainerSpec.type, the autoscaling metric fields, ResourceFieldSelector.divisor ("0").
ZERO_VALUE_CASES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "model container",
        isvc({"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}),
        lambda s: (
            s["predictor"]["model"]
            == {
                "modelFormat": {"name": "sklearn"},
                "storageUri": "gs://b/m",
                "name": "",
                "resources": {},
            }
        ),
    ),
    (
        "framework converted to model",
        isvc({"sklearn": {"storageUri": "gs://b/m", "resources": {"limits": {"cpu": "1"}}}}),
        lambda s: (
            s["predictor"]["model"]["name"] == ""
            and s["predictor"]["model"]["resources"] == {"limits": {"cpu": "1"}}
        ),
    ),
    (
        "modelmesh framework kept",
        isvc({"sklearn": {"storageUri": "gs://b/m"}}, annotations={MODE: "ModelMesh"}),
        lambda s: (
            s["predictor"]["sklearn"]["name"] == "" and s["predictor"]["sklearn"]["resources"] == {}
        ),
    ),
    (
        "containers without resources (no resource config)",
        isvc(
            {"containers": [{"name": "kserve-container", "image": "i"}], "initContainers": [{}]},
            transformer={"containers": [{"image": "t"}]},
        ),
        lambda s: (
            s["predictor"]["containers"][0]["resources"] == {}
            and s["predictor"]["initContainers"][0] == {"name": "", "resources": {}}
            and s["transformer"]["containers"][0]
            == {
                "image": "t",
                "name": "kserve-container",
                "resources": {},
            }
        ),
    ),
    (
        "workerSpec containers",
        isvc(
            {
                "model": {"modelFormat": {"name": "hf"}, "storageUri": "pvc://p/m"},
                "workerSpec": {"containers": [{"name": "worker-container", "image": "w"}]},
            }
        ),
        lambda s: s["predictor"]["workerSpec"]["containers"][0]["resources"] == {},
    ),
    (
        "art explainer",
        isvc(explainer={"art": {"config": {"a": "b"}}}),
        lambda s: s["explainer"]["art"]["type"] == "" and s["explainer"]["art"]["resources"] == {},
    ),
    (
        "model format, storage uri, confidential",
        isvc(
            {
                "model": {"modelFormat": {}, "confidential": {"resourceId": "kbs:///a/b/c"}},
                "storageUris": [{"mountPath": "/m"}],
            }
        ),
        lambda s: (
            s["predictor"]["model"]["modelFormat"] == {"name": ""}
            and s["predictor"]["model"]["confidential"]["enabled"] is False
            and s["predictor"]["storageUris"] == [{"mountPath": "/m", "uri": ""}]
        ),
    ),
    (
        "canary",
        isvc(canary=[{"predictor": {"name": "c", "model": {"modelFormat": {"name": "x"}}}}]),
        lambda s: (
            s["canary"][0]["trafficPercent"] == 0
            and s["canary"][0]["predictor"]["model"]["resources"] == {}
        ),
    ),
    (
        "autoscaling metrics",
        isvc(
            {
                "model": {"modelFormat": {"name": "x"}},
                "autoScaling": {
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu"}},
                        {"type": "External", "external": {"authenticationRef": {}}},
                        {"podmetric": {"target": {"value": "1"}}},
                    ]
                },
            }
        ),
        lambda s: (
            s["predictor"]["autoScaling"]["metrics"]
            == [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": ""}}},
                {
                    "type": "External",
                    "external": {
                        "authenticationRef": {"authenticationRef": {"name": ""}},
                        "metric": {"backend": ""},
                        "target": {"type": ""},
                    },
                },
                {
                    "type": "",
                    "podmetric": {"target": {"value": "1", "type": ""}, "metric": {"backend": ""}},
                },
            ]
        ),
    ),
    (
        "resourceFieldRef divisor",
        isvc(
            {
                "containers": [
                    {
                        "name": "kserve-container",
                        "env": [
                            {
                                "name": "A",
                                "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}},
                            },
                            {
                                "name": "B",
                                "valueFrom": {
                                    "resourceFieldRef": {
                                        "resource": "limits.cpu",
                                        "divisor": "1000m",
                                    }
                                },
                            },
                        ],
                    }
                ]
            }
        ),
        lambda s: (
            [
                e["valueFrom"]["resourceFieldRef"]["divisor"]
                for e in s["predictor"]["containers"][0]["env"]
            ]
            == ["0", "1"]
        ),
    ),
]


@pytest.mark.parametrize(
    ("obj", "check"), [c[1:] for c in ZERO_VALUE_CASES], ids=[c[0] for c in ZERO_VALUE_CASES]
)
def test_go_marshal_zero_values(obj: dict[str, Any], check: Any) -> None:
    out = default_inference_service(obj, cfg())
    assert check(out["spec"])
    assert default_inference_service(out, cfg()) == out  # idempotent
