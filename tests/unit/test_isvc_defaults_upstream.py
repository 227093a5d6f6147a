# ruff: noqa: E501  (upstream's scenario titles are kept verbatim)
"""Upstream's ``pkg/apis/serving/v1beta1/inference_service_defaults_test.go``, all 16 test
funcs case by case, through our pure functions ``default_inference_service`` and (for
upstream's ``SetRuntimeDefaults`` / ``SetTorchServeDefaults`` / ``SetTritonDefaults`` /
``SetMlServerDefaults``) ``set_runtime_defaults``.

Upstream calls ``isvc.DefaultInferenceService(config, deployConfig, securityConfig, models,
nsModels)`` with Go structs, any of them nil; :func:`default` maps those arguments onto the
``inferenceservice-config`` ConfigMap our function takes (see its docstring). Each upstream
assertion is kept; a few rows add what upstream leaves implicit (whole annotation maps).
"""

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
MODEL_FORMAT = "modelFormat"
NODE_GROUP = "serving.kserve.io/nodegroup"
SERVER_TYPE = "serving.kserve.io/server-type"
LM_LABEL = "internal.serving.kserve.io/localmodel"
LM_NS_LABEL = "internal.serving.kserve.io/localmodel-namespace"
LM_SOURCE = "internal.serving.kserve.io/localmodel-sourceuri"
LM_PVC = "internal.serving.kserve.io/localmodel-pvc-name"
TESTMODEL = "gs://testbucket/testmodel"


def default(
    obj: dict[str, Any],
    config: dict[str, Any] | None = None,
    deploy: str | None = None,
    security: bool | None = None,
    models: list[dict[str, Any]] | None = None,
    ns_models: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Upstream's ``DefaultInferenceService(config, deployConfig, securityConfig, models,
    nsModels)``; None is Go's nil.

    * ``config``: ConfigMap keys (``inferenceService``, ``explainers``) of upstream's
      ``InferenceServicesConfig``; nil and the empty struct are the same (no keys).
    * ``deploy``: ``DeployConfig.DefaultDeploymentMode`` (key ``deploy``); nil: no key.
    * ``security``: ``SecurityConfig.AutoMountServiceAccountToken``. A nil securityConfig
      leaves ``automountServiceAccountToken`` alone, which our config says with ``true`` (a
      missing ``security`` key is Go's zero value ``false``, as upstream's webhook reads it).
    * ``models``/``ns_models``: the LocalModelCache / LocalModelNamespaceCache lists; upstream's
      webhook lists them only when ``localModel.enabled``, so passing one turns that on.
    """
    data: dict[str, Any] = dict(config or {})
    if deploy is not None:
        data["deploy"] = {"defaultDeploymentMode": deploy}
    data["security"] = {"autoMountServiceAccountToken": True if security is None else security}
    if models is not None or ns_models is not None:
        data["localModel"] = {"enabled": True, "jobNamespace": "kserve-localmodel-jobs"}
    cfg = parse_inferenceservice_config({k: json.dumps(v) for k, v in data.items()})
    before = copy.deepcopy(obj)
    out = default_inference_service(
        obj, cfg, local_model_caches=models, local_model_namespace_caches=ns_models
    )
    assert obj == before  # pure: the input is never touched
    return out


def isvc(predictor: dict[str, Any], *, name: str = "foo", labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": {"predictor": predictor, **spec}}


def fw(key: str, uri: str | None = TESTMODEL, **ext: Any) -> dict[str, Any]:
    """A predictor with framework ``key`` (PredictorExtensionSpec fields in ``ext``)."""
    spec: dict[str, Any] = dict(ext)
    if uri is not None:
        spec["storageUri"] = uri
    return {key: spec}


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("labels") or {}


def annots(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def pred(obj: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = obj["spec"]["predictor"]
    return p


# ---------------------------------------------------------------- TestInferenceServiceDefaults

ART_AND_RESOURCE = {
    "explainers": {"art": {"image": "art", "defaultImageVersion": "v0.4.0"}},
    "inferenceService": {"resource": {"cpuLimit": "1", "memoryLimit": "2Gi",
                                      "cpuRequest": "1", "memoryRequest": "2Gi"}},
}
RESOURCES_1_2GI = {"requests": {"cpu": "1", "memory": "2Gi"},
                   "limits": {"cpu": "1", "memory": "2Gi"}}


def with_transformer_and_art(predictor: dict[str, Any]) -> dict[str, Any]:
    return isvc(predictor,
                transformer={"containers": [{"env": [{"name": "STORAGE_URI",
                                                      "value": "s3://transformer"}]}]},
                explainer={"art": {"storageUri": TESTMODEL}})


ISVC_DEFAULTS = [
    ("Knative", "Knative", fw("tensorflow"), {MODEL_FORMAT: "tensorflow"}),
    ("When annotations is nil in raw deployment", "Standard", fw("tensorflow"),
     {MODE: "Standard", MODEL_FORMAT: "tensorflow"}),
    ("ONNX", "Knative", fw("onnx"), {MODEL_FORMAT: "onnx"}),
    ("PMML", "Knative", fw("pmml"), {MODEL_FORMAT: "pmml"}),
    ("Paddle", "Knative", fw("paddle"), {MODEL_FORMAT: "paddle"}),
]


@pytest.mark.parametrize(("title", "mode", "predictor", "want_annotations"), ISVC_DEFAULTS,
                         ids=[c[0] for c in ISVC_DEFAULTS])
def test_inference_service_defaults(title: str, mode: str, predictor: dict[str, Any],
                                    want_annotations: dict[str, str]) -> None:
    out = default(with_transformer_and_art(predictor), ART_AND_RESOURCE, deploy=mode)
    for key in ("tensorflow", "onnx", "pmml", "paddle"):
        assert key not in pred(out)
    # upstream: HaveKeyWithValue(modelFormat) for each, Equal(whole map) for the raw case;
    # the whole map holds for every row
    assert annots(out) == want_annotations
    assert pred(out)["model"] is not None
    assert out["spec"]["transformer"]["containers"][0]["resources"] == RESOURCES_1_2GI
    assert out["spec"]["explainer"]["art"]["runtimeVersion"] == "v0.4.0"
    assert out["spec"]["explainer"]["art"]["resources"] == RESOURCES_1_2GI


# ---------------------------------------------------------------- TestCustomPredictorDefaultsConfig

RESOURCE_2_4GI = {"inferenceService": {"resource": {"cpuLimit": "2", "memoryLimit": "4Gi",
                                                    "cpuRequest": "2", "memoryRequest": "4Gi"}},
                  "explainers": {"art": {"image": "art", "defaultImageVersion": "v0.4.0"}}}
STORAGE_ENV = [{"name": "STORAGE_URI", "value": "s3://transformer"}]


@pytest.mark.parametrize(
    "container",
    [{"name": "kserve-container", "env": STORAGE_ENV}, {"env": STORAGE_ENV}],
    ids=["isvc", "isvcWithoutContainerName"],
)
def test_custom_predictor_defaults_config(container: dict[str, Any]) -> None:
    out = default(isvc({"containers": [copy.deepcopy(container)]}), RESOURCE_2_4GI,
                  deploy="Knative")
    assert pred(out)["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


# ---------------------------------------------------------------- TestInferenceServiceDefaultsModelMeshAnnotation


def test_inference_service_defaults_model_mesh_annotation() -> None:
    out = default(isvc(fw("tensorflow"), annotations={MODE: "ModelMesh"}), {}, deploy="Knative")
    assert "model" not in pred(out)
    assert pred(out)["tensorflow"] is not None


# ---------------------------------------------------------------- TestRuntimeDefaults


@pytest.mark.parametrize(
    ("key", "runtime", "server_type", "protocol"),
    [
        ("pytorch", "kserve-torchserve", "torchserve", "v1"),
        ("triton", "kserve-tritonserver", "tritonserver", "v2"),
        ("xgboost", "kserve-mlserver", "mlserver", "v2"),
    ],
    ids=["PyTorch", "Triton", "MlServer"],
)
def test_runtime_defaults(key: str, runtime: str, server_type: str, protocol: str) -> None:
    out = default(isvc(fw(key)), {}, deploy="Knative")
    pred(out)["model"]["runtime"] = runtime
    out = set_runtime_defaults(out, {SERVER_TYPE: server_type})
    assert pred(out)["model"] is not None
    assert key not in pred(out)
    assert pred(out)["model"]["protocolVersion"] == protocol


# ---------------------------------------------------------------- TestTorchServeDefaults / TestSetTritonDefaults / TestMlServerDefaults
# upstream sets Model.Runtime and calls Set<Server>Defaults directly; set_runtime_defaults
# without runtime annotations picks the server type from that runtime name


def runtime_defaults(obj: dict[str, Any], runtime: str) -> dict[str, Any]:
    out = default(obj, {}, deploy="Knative")
    pred(out)["model"]["runtime"] = runtime
    return set_runtime_defaults(out, None)


@pytest.mark.parametrize(
    ("obj", "label", "value"),
    [
        (isvc(fw("pytorch", protocolVersion="v2")), "serviceEnvelope", "kservev2"),
        (isvc(fw("pytorch"), labels={"Purpose": "Testing"}), "Purpose", "Testing"),
    ],
    ids=["pytorch with protocol version 2", "pytorch with labels"],
)
def test_torch_serve_defaults(obj: dict[str, Any], label: str, value: str) -> None:
    out = runtime_defaults(obj, "kserve-torchserve")
    assert pred(out)["model"] is not None
    assert "pytorch" not in pred(out)
    assert labels(out)[label] == value


@pytest.mark.parametrize(
    "predictor",
    [fw("triton", uri=None), {"model": {"modelFormat": {"name": "triton"}}}],
    ids=["Storage URI is nil", "Default Protocol"],
)
def test_set_triton_defaults(predictor: dict[str, Any]) -> None:
    out = runtime_defaults(isvc(predictor), "kserve-tritonserver")
    model = pred(out)["model"]
    assert model is not None
    assert model["protocolVersion"] == "v2"
    assert "triton" not in pred(out)
    assert "--model-control-mode=explicit" in model["args"]


MLSERVER = [
    ("Storage URI is nil", isvc(fw("sklearn", uri=None)),
     {"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "false"},
     {"modelClass": "mlserver_sklearn.SKLearnModel"}),
    ("XGBoost model", isvc(fw("xgboost")),
     {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
     {"modelClass": "mlserver_xgboost.XGBoostModel"}),
    ("LightGBM model", isvc(fw("lightgbm")),
     {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
     {"modelClass": "mlserver_lightgbm.LightGBMModel"}),
    ("LightGBM model with labels", isvc(fw("lightgbm"), labels={"Purpose": "Testing"}),
     {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
     {"Purpose": "Testing", "modelClass": "mlserver_lightgbm.LightGBMModel"}),
]


@pytest.mark.parametrize(("title", "obj", "env", "want_labels"), MLSERVER,
                         ids=[c[0] for c in MLSERVER])
def test_ml_server_defaults(title: str, obj: dict[str, Any], env: dict[str, str],
                            want_labels: dict[str, str]) -> None:
    out = runtime_defaults(obj, "kserve-mlserver")
    model = pred(out)["model"]
    assert env in model["env"]
    assert model["protocolVersion"] == "v2"
    # upstream: HaveKeyWithValue for each label; these are the whole maps
    assert labels(out) == want_labels


# ---------------------------------------------------------------- TestLocalModelAnnotation


def cache(name: str, uri: str, groups: list[str], namespace: str | None = None,
          size: str | None = "123Gi") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    spec: dict[str, Any] = {"sourceModelUri": uri, "nodeGroups": groups}
    if size is not None:
        spec["modelSize"] = size
    kind = "LocalModelNamespaceCache" if namespace is not None else "LocalModelCache"
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": kind, "metadata": meta,
            "spec": spec}


MODELS = [cache("model1", "gs://bucket/model", ["gpu1", "gpu2"]),
          cache("model2", "gs://bucket/model2", ["gpu1", "gpu2"])]

LOCAL_MODEL_ANNOTATION = [
    ("isvc without node group annotation with LocalModelCache",
     isvc(fw("pytorch", "gs://bucket/model", protocolVersion="v2")), "model1", "model1-gpu1"),
    ("isvc with node group annotation with LocalModelCache",
     isvc(fw("pytorch", "gs://bucket/model", protocolVersion="v2"),
          annotations={NODE_GROUP: "gpu2"}), "model1", "model1-gpu2"),
    ("isvc with overlapping storage URIs",
     isvc(fw("pytorch", "gs://bucket/model2", protocolVersion="v2"),
          annotations={NODE_GROUP: "gpu2"}), "model2", "model2-gpu2"),
    # "gs://bucket/model3" is not a match for "gs://bucket/model" on the LocalModelCache
    ("isvc without LocalModelCache",
     isvc(fw("pytorch", "gs://bucket/model3"), labels={"Purpose": "Testing"}), None, None),
    ("isvc with node group annotation without LocalModelCache",
     isvc(fw("pytorch", "gs://bucket/model", protocolVersion="v2"),
          annotations={NODE_GROUP: "some-random-gpu"}), None, None),
]


@pytest.mark.parametrize(("title", "obj", "label", "pvc"), LOCAL_MODEL_ANNOTATION,
                         ids=[c[0] for c in LOCAL_MODEL_ANNOTATION])
def test_local_model_annotation(title: str, obj: dict[str, Any], label: str | None,
                                pvc: str | None) -> None:
    out = default(obj, {}, deploy="Knative", models=MODELS)
    if label is None:
        assert LM_LABEL not in labels(out)
        assert LM_PVC not in annots(out)
    else:
        assert labels(out)[LM_LABEL] == label
        assert annots(out)[LM_PVC] == pvc


# ---------------------------------------------------------------- TestLocalModelAnnotationWithTensorflow

LOCAL_MODEL_TF = [
    ("Match model1", isvc(fw("tensorflow", "gs://bucket/model")),
     ("model1", "gs://bucket/model", "model1-gpu1")),
    ("Match model2", isvc(fw("tensorflow", "gs://bucket/model2")),
     ("model2", "gs://bucket/model2", "model2-gpu1")),
    ("With node group annotation",
     isvc(fw("tensorflow", "gs://bucket/model"), annotations={NODE_GROUP: "gpu2"}),
     ("model1", "gs://bucket/model", "model1-gpu2")),
    ("No model match", isvc(fw("tensorflow", "gs://bucket/model3")), None),
    ("No storage URI",
     isvc({"containers": [{"env": [{"name": "MODEL_NAME", "value": "test-model"}]}]}), None),
]


@pytest.mark.parametrize(("title", "obj", "want"), LOCAL_MODEL_TF,
                         ids=[c[0] for c in LOCAL_MODEL_TF])
def test_local_model_annotation_with_tensorflow(title: str, obj: dict[str, Any],
                                                want: tuple[str, str, str] | None) -> None:
    out = default(obj, None, deploy="Knative", models=MODELS)
    if want is None:
        assert LM_LABEL not in labels(out)
    else:
        assert (labels(out)[LM_LABEL], annots(out)[LM_SOURCE],
                annots(out)[LM_PVC]) == want


# ---------------------------------------------------------------- TestDisableAutomountServiceAccountToken


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        (isvc(fw("tensorflow")), {"predictor": False}),
        (isvc(fw("tensorflow"), transformer={"containers": [{"env": STORAGE_ENV}]}),
         {"predictor": False, "transformer": False}),
    ],
    ids=["Predictor only", "With transformer"],
)
def test_disable_automount_service_account_token(obj: dict[str, Any],
                                                 want: dict[str, bool]) -> None:
    out = default(obj, None, deploy="Knative", security=False)
    got = {c: out["spec"][c]["automountServiceAccountToken"]
           for c in ("predictor", "transformer", "explainer") if c in out["spec"]}
    assert got == want


def test_nil_security_config_leaves_automount_alone() -> None:
    """The other side of the mapping in :func:`default`: upstream's nil securityConfig."""
    assert "automountServiceAccountToken" not in pred(default(isvc(fw("tensorflow")), None))


# ---------------------------------------------------------------- TestDefault


def test_default_with_tensorflow_predictor() -> None:
    out = default(isvc(fw("tensorflow"), name="tensorflow-model"), None, deploy="Knative")
    assert "tensorflow" not in pred(out)
    assert pred(out)["model"]["modelFormat"]["name"] == "tensorflow"
    assert pred(out)["model"]["storageUri"] == TESTMODEL


def test_default_with_triton_predictor() -> None:
    out = default(isvc(fw("triton"), name="triton-model"), None, deploy="Knative")
    assert "triton" not in pred(out)
    assert pred(out)["model"]["modelFormat"]["name"] == "triton"
    assert pred(out)["model"]["storageUri"] == TESTMODEL
    assert pred(out)["model"]["protocolVersion"] == "v2"


def test_default_with_security_disabled_service_account_token() -> None:
    out = default(isvc(fw("sklearn"), name="security-model"), None, None, security=False)
    assert pred(out)["automountServiceAccountToken"] is False


def test_default_with_model_mesh_deployment() -> None:
    out = default(isvc(fw("tensorflow"), name="modelmesh-model",
                       annotations={MODE: "ModelMesh"}), None, deploy="Knative")
    # for ModelMesh, the predictor is not converted to a model
    assert pred(out)["tensorflow"] is not None
    assert "model" not in pred(out)


def test_default_with_raw_deployment_mode() -> None:
    out = default(isvc(fw("onnx"), name="raw-deployment-model"), None, deploy="Standard")
    assert annots(out)[MODE] == "Standard"
    assert "onnx" not in pred(out)
    assert pred(out)["model"]["modelFormat"]["name"] == "onnx"


# ---------------------------------------------------------------- TestLocalModelLabelAssignment


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        (isvc(fw("tensorflow", "gs://bucket/model"), name="matching-model"),
         ("model1", "model1-gpu1")),
        (isvc(fw("tensorflow", "gs://bucket/model"), name="matching-model-with-annotation",
              annotations={NODE_GROUP: "gpu2"}), ("model1", "model1-gpu2")),
        (isvc(fw("tensorflow", "gs://bucket/non-matching-model"), name="non-matching-model"),
         None),
    ],
    ids=["ModelMatches", "ModelMatchesWithNodeGroupAnnotation", "ModelDoesNotMatch"],
)
def test_local_model_label_assignment(obj: dict[str, Any],
                                      want: tuple[str, str] | None) -> None:
    # upstream: DefaultInferenceService (no caches, converts to model), then
    # setLocalModelLabel(localModels, nil); ours: defaulting the defaulted object again, with
    # the caches (the label step is the only one left with something to do)
    first = default(obj, None, deploy="Knative")
    out = default(first, None, deploy="Knative", models=MODELS)
    if want is None:
        assert labels(out).get(LM_LABEL, "") == ""
        assert annots(out).get(LM_SOURCE, "") == ""
        assert annots(out).get(LM_PVC, "") == ""
    else:
        assert labels(out)[LM_LABEL] == want[0]
        assert annots(out)[LM_SOURCE] == "gs://bucket/model"
        assert annots(out)[LM_PVC] == want[1]


# ---------------------------------------------------------------- TestAssignHuggingFaceRuntime

HF_URI = "gs://testbucket/huggingface-model"


@pytest.mark.parametrize(
    ("obj", "config", "protocol"),
    [
        (isvc(fw("huggingface", HF_URI), name="huggingface-model"), {}, "v2"),
        (isvc(fw("huggingface", HF_URI, protocolVersion="v1"), name="huggingface-model-v1"), {},
         "v1"),
        (isvc(fw("huggingface", HF_URI), name="huggingface-with-resources"),
         {"inferenceService": {"resource": {"cpuLimit": "2", "memoryLimit": "4Gi",
                                            "cpuRequest": "1", "memoryRequest": "2Gi"}}}, "v2"),
    ],
    ids=["HuggingFace without protocol version", "HuggingFace with explicit protocol version",
         "HuggingFace with resource config"],
)
def test_assign_hugging_face_runtime(obj: dict[str, Any], config: dict[str, Any],
                                     protocol: str) -> None:
    out = default(obj, config, deploy="Knative")
    model = pred(out)["model"]
    assert "huggingface" not in pred(out)
    assert model["modelFormat"]["name"] == "huggingface"
    assert model["protocolVersion"] == protocol
    assert model["storageUri"] == HF_URI


# ---------------------------------------------------------------- TestDefaultInferenceServiceWithLocalModel


def test_default_inference_service_with_local_model() -> None:
    local = cache("local-model", TESTMODEL, ["node-group-1"], size=None)
    out = default(isvc(fw("tensorflow"), name="test-isvc"), None, None, None, models=[local])
    assert labels(out)[LM_LABEL] == "local-model"
    assert annots(out)[LM_SOURCE] == TESTMODEL
    assert annots(out)[LM_PVC] == "local-model-node-group-1"


# ---------------------------------------------------------------- TestDefaultInferenceServiceNormalizesLegacyDeploymentMode


@pytest.mark.parametrize(
    ("name", "legacy", "want"),
    [("test-raw", "RawDeployment", "Standard"), ("test-serverless", "Serverless", "Knative")],
    ids=["RawDeployment -> Standard", "Serverless -> Knative"],
)
def test_default_inference_service_normalizes_legacy_deployment_mode(
    name: str, legacy: str, want: str
) -> None:
    out = default(isvc(fw("tensorflow"), name=name, annotations={MODE: legacy}), None,
                  deploy="Knative")
    assert annots(out)[MODE] == want


# ---------------------------------------------------------------- TestDefaultInferenceServiceWithLocalModelNamespaceCache


def test_default_inference_service_with_local_model_namespace_cache() -> None:
    ns_cache = cache("test-ns-cache", TESTMODEL, ["gpu"], namespace="default", size="1Gi")
    out = default(isvc({"model": {"storageUri": TESTMODEL}}, name="test-isvc"), None, None,
                  None, None, ns_models=[ns_cache])
    assert labels(out)[LM_LABEL] == "test-ns-cache"
    assert labels(out)[LM_NS_LABEL] == "default"
