"""The predictor workload (components/predictor.go): runtime merge, metadata, runtime
defaults, placeholders, image tags, container order, internal annotations, errors, the
custom-container path, and upstream's components/predictor_test.go (oci+native annotation).
Every case asserts the full metadata and pod spec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.predictor_runtime_selection import select_runtime
from controllers.inferenceservice.components import ComponentError, build_predictor

J = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
CSRS = [
    ClusterServingRuntime.model_validate(yaml.safe_load(p.read_text()))
    for p in sorted((ROOT / "config" / "runtimes").glob("kserve-*.yaml"))
]
CONFIG = parse_inferenceservice_config(
    {
        "inferenceService": '{"serviceAnnotationDisallowedList": ["blocked.example.com/a"]}',
        "storageInitializer": (
            '{"image": "kserve/storage-initializer:v1", "cpuRequest": "100m", "cpuLimit": "1",'
            ' "memoryRequest": "100Mi", "memoryLimit": "1Gi"}'
        ),
    }
)
SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "runAsNonRoot": True,
}
RES = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}


def isvc(
    predictor: J,
    *,
    name: str = "sk",
    labels: J | None = None,
    annotations: J | None = None,
    **spec: Any,
) -> InferenceService:
    meta: J = {"name": name, "namespace": "ns", "generation": 3}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return InferenceService.model_validate(
        {"metadata": meta, "spec": {"predictor": predictor, **spec}}
    )


def build(
    obj: InferenceService, runtimes: list[ServingRuntime] | None = None, **kw: Any
) -> tuple[J, J]:
    pred = obj.spec.predictor if obj.spec else None
    rt = None
    if pred is not None and pred.model is not None:
        rt = select_runtime(
            pred.model, runtimes or [], CSRS, multi_node=pred.worker_spec is not None
        )
    w = build_predictor(obj, CONFIG, rt, **kw)
    return w.meta.to_dict(), w.pod_spec.to_dict()


def test_sklearn_auto_selected() -> None:
    obj = isvc(
        {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}},
        annotations={"serving.kserve.io/deploymentMode": "Standard"},
    )
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    assert w.runtime is not None and (w.runtime.name, w.runtime.cluster_scoped) == (
        "kserve-sklearnserver",
        True,
    )
    assert (w.protocol_version, w.multi_model, w.worker_pod_spec, w.storage_uris) == (
        "v1",
        False,
        None,
        (),
    )
    assert w.meta.to_dict() == {
        "name": "sk-predictor",
        "namespace": "ns",
        "labels": {"serving.kserve.io/inferenceservice": "sk", "component": "predictor"},
        "annotations": {
            "prometheus.kserve.io/port": "8080",
            "prometheus.kserve.io/path": "/metrics",
            "serving.kserve.io/deploymentMode": "Standard",
            "internal.serving.kserve.io/storage-initializer-sourceuri": "gs://b/m",
        },
    }
    assert w.pod_spec.to_dict() == {
        "containers": [
            {
                "name": "kserve-container",
                "image": "kserve-sklearnserver:replace",
                "args": ["--model_name=sk", "--model_dir=/mnt/models", "--http_port=8080"],
                "env": [{"name": "INFERENCE_SERVICE_NAME", "value": "sk"}],
                "resources": RES,
                "securityContext": SECURITY,
            }
        ]
    }


def test_mlserver_runtime_defaults_and_placeholder() -> None:
    # protocol v2 excludes the v1-first sklearnserver? no: both support v2, mlserver has priority 2
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "protocolVersion": "v2",
                "storageUri": "gs://b/m",
            }
        },
        labels={"team": "a"},
    )
    rt = select_runtime(obj.spec.predictor.model, [], CSRS)  # type: ignore[union-attr, arg-type]
    assert rt.name == "kserve-mlserver"
    w = build_predictor(obj, CONFIG, rt)
    assert w.isvc_labels == {"team": "a", "modelClass": "mlserver_sklearn.SKLearnModel"}
    assert w.meta.to_dict()["labels"] == {
        "team": "a",
        "modelClass": "mlserver_sklearn.SKLearnModel",
        "serving.kserve.io/inferenceservice": "sk",
        "component": "predictor",
    }
    assert w.pod_spec.to_dict() == {
        "containers": [
            {
                "name": "kserve-container",
                "image": "mlserver:replace",
                "env": [
                    # new model env first: apimachinery puts patch-only items before the
                    # original-only ones
                    {"name": "MLSERVER_MODEL_NAME", "value": "sk"},
                    {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
                    {
                        "name": "MLSERVER_MODEL_IMPLEMENTATION",
                        "value": "mlserver_sklearn.SKLearnModel",
                    },
                    {"name": "MLSERVER_HTTP_PORT", "value": "8080"},
                    {"name": "MLSERVER_GRPC_PORT", "value": "9000"},
                    {"name": "INFERENCE_SERVICE_NAME", "value": "sk"},
                ],
                "resources": RES,
                "securityContext": SECURITY,
            }
        ]
    }


def test_mlserver_without_storage_and_explicit_runtime() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "xgboost"}, "runtime": "kserve-mlserver"}})
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    assert w.protocol_version == "v2"
    assert w.multi_model  # no storage: a multi-model server (the agent pulls models)
    assert w.meta.to_dict()["annotations"] == {
        "prometheus.kserve.io/port": "8080",
        "prometheus.kserve.io/path": "/metrics",
        "internal.serving.kserve.io/agent": "true",
        "internal.serving.kserve.io/configVolumeName": "modelconfig-sk-0",
        "internal.serving.kserve.io/configMountPath": "/mnt/configs",
        "internal.serving.kserve.io/modelDir": "/mnt/models",
    }
    assert w.pod_spec.to_dict()["containers"][0]["env"] == [
        {"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "false"},
        {"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": "mlserver_xgboost.XGBoostModel"},
        {"name": "MLSERVER_HTTP_PORT", "value": "8080"},
        {"name": "MLSERVER_GRPC_PORT", "value": "9000"},
        {"name": "INFERENCE_SERVICE_NAME", "value": "sk"},
    ]


def test_torchserve_and_triton_defaults() -> None:
    obj = isvc({"model": {"modelFormat": {"name": "pytorch"}, "storageUri": "gs://b/m"}})
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    assert (w.protocol_version, w.isvc_labels) == ("v1", {"serviceEnvelope": "kserve"})
    c = w.pod_spec.to_dict()["containers"][0]
    assert c["env"] == [
        {"name": "PROTOCOL_VERSION", "value": "v1"},
        {"name": "TS_SERVICE_ENVELOPE", "value": "kserve"},
        {"name": "INFERENCE_SERVICE_NAME", "value": "sk"},
    ]
    triton = {
        "modelFormat": {"name": "triton"},
        "protocolVersion": "v2",
        "args": ["--log-verbose=1"],
    }
    obj = isvc({"model": triton})
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    assert w.protocol_version == "v2"
    assert w.pod_spec.to_dict()["containers"][0]["args"] == [
        "tritonserver",
        "--model-store=/mnt/models",
        "--grpc-port=9000",
        "--http-port=8080",
        "--allow-grpc=true",
        "--allow-http=true",
        "--log-verbose=1",
        "--model-control-mode=explicit",
    ]


def _custom_runtime(**extra: Any) -> ServingRuntime:
    spec: J = {
        "supportedModelFormats": [{"name": "custom", "version": "1", "autoSelect": True}],
        "protocolVersions": ["v2", "v1"],
        "labels": {"rt-label": "r", "shared": "runtime"},
        "annotations": {"rt-anno": "r", "blocked.example.com/a": "x", "shared": "runtime"},
        "nodeSelector": {"pool": "cpu", "zone": "a"},
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}],
        "imagePullSecrets": [{"name": "rt-secret"}],
        "containers": [
            {
                "name": "kserve-container",
                "image": "repo/server:1.0",
                "args": ["--model_name={{.Name}}", "--ns={{.Namespace}}"],
                "env": [
                    {"name": "A", "value": "runtime"},
                    {"name": "B", "value": "{{.Annotations.team}}"},
                ],
                "ports": [{"containerPort": 8080, "name": "h2c"}],
                "resources": {
                    "limits": {"cpu": "2", "memory": "4Gi"},
                    "requests": {"cpu": "1", "memory": "2Gi"},
                },
                "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            },
            {"name": "sidecar", "image": "side:1", "args": ["--for={{.Name}}"]},
            {
                "name": "transformer-container",
                "image": "tr:1",
                "args": ["--predictor={{.Name}}"],
                "env": [{"name": "T", "value": "rt"}],
            },
        ],
        **extra,
    }
    return ServingRuntime.model_validate(
        {"metadata": {"name": "my-runtime", "namespace": "ns"}, "spec": spec}
    )


def test_full_merge_with_namespace_runtime() -> None:
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "custom"},
                "storageUri": "s3://b/m",
                "runtimeVersion": "2.0",
                "args": ["--extra"],
                "env": [{"name": "A", "value": "isvc"}, {"name": "C", "value": "c"}],
                "resources": {"limits": {"cpu": "4"}},
            },
            "nodeSelector": {"zone": "b"},
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pvc"}}],
            "serviceAccountName": "sa",
            "labels": {"pred-label": "p", "shared": "predictor"},
            "annotations": {"pred-anno": "p", "blocked.example.com/a": "y"},
            "containers": [
                {"name": "transformer-container", "env": [{"name": "T", "value": "isvc"}]},
                {"name": "logger", "image": "log:1"},
            ],
        },
        name="full",
        labels={"isvc-label": "i", "shared": "isvc"},
        annotations={
            "team": "ml",
            "blocked.example.com/a": "z",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    )
    rt = select_runtime(obj.spec.predictor.model, [_custom_runtime()], [])  # type: ignore[union-attr, arg-type]
    assert (rt.name, rt.cluster_scoped, rt.protocol_version) == ("my-runtime", False, "v1")
    w = build_predictor(obj, CONFIG, rt)
    assert w.meta.to_dict() == {
        "name": "full-predictor",
        "namespace": "ns",
        "labels": {
            "rt-label": "r",
            "shared": "predictor",
            "isvc-label": "i",
            "pred-label": "p",
            "serving.kserve.io/inferenceservice": "full",
            "component": "predictor",
        },
        "annotations": {
            "rt-anno": "r",
            "shared": "runtime",
            "team": "ml",
            "internal.serving.kserve.io/storage-initializer-sourceuri": "s3://b/m",
            "pred-anno": "p",
        },
    }
    assert w.pod_spec.to_dict() == {
        "nodeSelector": {"pool": "cpu", "zone": "b"},
        "serviceAccountName": "sa",
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "pvc"}},
            {"name": "shm", "emptyDir": {"medium": "Memory"}},
        ],
        "imagePullSecrets": [{"name": "rt-secret"}],
        "containers": [
            {
                "name": "kserve-container",
                "image": "repo/server:2.0",
                "args": ["--model_name=full", "--ns=ns", "--extra"],
                "env": [
                    {"name": "A", "value": "isvc"},
                    {"name": "C", "value": "c"},
                    {"name": "B", "value": "ml"},
                    {"name": "INFERENCE_SERVICE_NAME", "value": "full"},
                ],
                "ports": [{"containerPort": 8080, "name": "h2c"}],
                "resources": {
                    "limits": {"cpu": "4", "memory": "4Gi"},
                    "requests": {"cpu": "1", "memory": "2Gi"},
                },
                "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            },
            {
                "name": "transformer-container",
                "image": "tr:1",
                "args": ["--predictor=full"],
                "env": [
                    {"name": "T", "value": "isvc"},
                    {"name": "INFERENCE_SERVICE_NAME", "value": "full"},
                ],
            },
            # the runtime's other containers are not rendered (upstream only renders the
            # kserve-container and the transformer-container)
            {
                "name": "sidecar",
                "image": "side:1",
                "args": ["--for={{.Name}}"],
                "env": [{"name": "INFERENCE_SERVICE_NAME", "value": "full"}],
            },
            {
                "name": "logger",
                "image": "log:1",
                "env": [{"name": "INFERENCE_SERVICE_NAME", "value": "full"}],
            },
        ],
    }


@pytest.mark.parametrize(
    ("transformer_in_runtime", "transformer_in_isvc", "expected"),
    [
        (
            True,
            False,
            {
                "name": "transformer-container",
                "image": "tr:1",
                "args": ["--predictor=o"],
                "env": [{"name": "T", "value": "rt"}],
            },
        ),
        (
            False,
            True,
            {"name": "transformer-container", "image": "mine:1", "args": ["--p={{.Name}}"]},
        ),
        (False, False, None),
    ],
    ids=["runtime-only", "isvc-only", "none"],
)
def test_transformer_container_sources(
    transformer_in_runtime: bool, transformer_in_isvc: bool, expected: J | None
) -> None:
    rt = _custom_runtime()
    assert rt.spec is not None
    if not transformer_in_runtime:
        rt.spec.containers = rt.spec.containers[:2]
    pred: J = {"model": {"modelFormat": {"name": "custom"}, "storageUri": "s3://b"}}
    if transformer_in_isvc:
        pred["containers"] = [
            {"name": "transformer-container", "image": "mine:1", "args": ["--p={{.Name}}"]}
        ]
    obj = isvc(pred, name="o")
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [rt], []))  # type: ignore[union-attr, arg-type]
    names = [c["name"] for c in w.pod_spec.to_dict()["containers"]]
    if expected is None:
        assert names == ["kserve-container", "sidecar"]
        return
    assert names == ["kserve-container", "transformer-container", "sidecar"]
    got = w.pod_spec.to_dict()["containers"][1]
    got["env"] = [e for e in got.get("env", []) if e["name"] != "INFERENCE_SERVICE_NAME"] or None
    if got["env"] is None:
        del got["env"]
    # an isvc-only transformer container is rendered too (upstream renders whichever is used)
    if transformer_in_isvc:
        expected = {**expected, "args": ["--p=o"]}
    assert got == expected


def test_gpu_image_tag_for_tensorflow() -> None:
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "tensorflow"},
                "runtime": "kserve-tensorflow-serving",
                "storageUri": "gs://b",
                "resources": {"limits": {"nvidia.com/gpu": "1"}},
            }
        }
    )
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    c = w.pod_spec.to_dict()["containers"][0]
    assert c["image"] == "tensorflow-serving:replace-gpu"
    assert c["resources"] == {
        "limits": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "1", "memory": "2Gi"},
    }


def test_vllm_cpu_image() -> None:
    rt = ServingRuntime.model_validate(
        {
            "metadata": {"name": "kserve-vllmserver", "namespace": "ns"},
            "spec": {
                "supportedModelFormats": [{"name": "vLLM", "autoSelect": True}],
                "containers": [{"name": "kserve-container", "image": "vllm/vllm-openai:v0.6"}],
            },
        }
    )
    obj = isvc({"model": {"modelFormat": {"name": "vLLM"}, "storageUri": "hf://m"}})
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [rt], []))  # type: ignore[union-attr, arg-type]
    assert w.pod_spec.to_dict()["containers"][0]["image"] == "vllm/vllm-openai-cpu:v0.6"
    assert w.protocol_version == ""  # a runtime without protocolVersions: upstream's "" protocol


def test_internal_annotations() -> None:
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "storage": {
                    "key": "k",
                    "path": "/models/m",
                    "parameters": {"type": "s3", "bucket": "b<&>"},
                },
                "confidential": {"enabled": True, "resourceId": "kbs:///r/t/k"},
            },
            "logger": {
                "url": "http://sink",
                "mode": "request",
                "metadataHeaders": ["a", "b"],
                "metadataAnnotations": ["x"],
            },
            "batcher": {"maxBatchSize": 32, "maxLatency": 500},
        }
    )
    meta, _ = build(obj)
    assert meta["annotations"] == {
        "prometheus.kserve.io/port": "8080",
        "prometheus.kserve.io/path": "/metrics",
        "internal.serving.kserve.io/logger": "true",
        "internal.serving.kserve.io/logger-sink-url": "http://sink",
        "internal.serving.kserve.io/logger-mode": "request",
        "internal.serving.kserve.io/logger-metadata-headers": "a,b",
        "internal.serving.kserve.io/logger-metadata-annotations": "x",
        "internal.serving.kserve.io/batcher": "true",
        "internal.serving.kserve.io/batcher-max-batchsize": "32",
        "internal.serving.kserve.io/batcher-max-latency": "500",
        "internal.serving.kserve.io/storage-spec": "true",
        "internal.serving.kserve.io/storage-spec-param": (
            '{"bucket":"b\\u003c\\u0026\\u003e","type":"s3"}'
        ),
        "internal.serving.kserve.io/storage-spec-key": "k",
        "internal.serving.kserve.io/storage-initializer-sourceuri": "<scheme-placeholder>://models/m",
        "internal.serving.kserve.io/confidential-enabled": "true",
        "internal.serving.kserve.io/confidential-resource-id": "kbs:///r/t/k",
    }


def test_storage_container_name_annotation() -> None:
    obj = isvc(
        {
            "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b"},
            "storageContainerName": "mine",
        }
    )
    meta, _ = build(obj)
    assert meta["annotations"]["internal.serving.kserve.io/storage-container-name"] == "mine"


@pytest.mark.parametrize(
    "uri",
    [
        "oci+native://ghcr.io/kserve/oci-native-test-fixture:v1",
        "oci://r/i:1",
        "hf://org/m",
        "pvc://c/p",
        "/local/path",
        "https://acct.blob.core.windows.net/c/m",
    ],
)
def test_storage_uri_annotation(uri: str) -> None:
    # upstream TestAddStorageInitializerAnnotationsOciNative, and other accepted URIs
    meta, pod = build(isvc({"model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri}}))
    assert meta["annotations"]["internal.serving.kserve.io/storage-initializer-sourceuri"] == uri
    assert "initContainers" not in pod  # the pod mutator injects for a single storageUri


@pytest.mark.parametrize(
    ("predictor", "message", "failure"),
    [
        (
            {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "ftp://x/y"}},
            "StorageURI not supported: storageUri, must be one of: [gs://, s3://, pvc://, "
            "file://, https://, http://, hdfs://, webhdfs://, oci://, oci+native://, "
            "oci+fetch://, hf://] or match https://{}.blob.core.windows.net/{}/{} or be an "
            "absolute or relative local path. StorageUri [ftp://x/y] is not supported",
            None,
        ),
        (
            {
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": "s3://b",
                    "storage": {"path": "/p"},
                }
            },
            "must provide only one of storageUri and storage.path",
            None,
        ),
    ],
    ids=["unsupported-uri", "uri-and-storage-path"],
)
def test_storage_errors(predictor: J, message: str, failure: str | None) -> None:
    with pytest.raises(ComponentError) as info:
        build(isvc(predictor))
    assert str(info.value) == message
    assert info.value.failure_reason is failure


def _rt_with(containers: list[J]) -> ServingRuntime:
    return ServingRuntime.model_validate(
        {
            "metadata": {"name": "bad", "namespace": "ns"},
            "spec": {
                "supportedModelFormats": [{"name": "x", "autoSelect": True}],
                "containers": containers,
            },
        }
    )


@pytest.mark.parametrize(
    ("containers", "error", "message"),
    [
        (
            [],
            "no container configuration found in selected serving runtime",
            "no container configuration found in selected serving runtime",
        ),
        (
            [{"name": "other"}],
            "failed to find kserve-container in ServingRuntime containers",
            "failed to find kserve-container in ServingRuntime containers",
        ),
        (
            [{"name": "kserve-container", "args": ["{{.Bogus}}"]}],
            "failed to replace placeholders in serving runtime bad Container kserve-container: "
            "at <.Bogus>: can't evaluate field Bogus in type v1.ObjectMeta",
            "failed to replace placeholders in serving runtime bad Container kserve-container",
        ),
    ],
    ids=["no-containers", "no-kserve-container", "bad-placeholder"],
)
def test_invalid_predictor_spec(containers: list[J], error: str, message: str) -> None:
    obj = isvc({"model": {"modelFormat": {"name": "x"}, "storageUri": "s3://b"}})
    rt = select_runtime(obj.spec.predictor.model, [_rt_with(containers)], [])  # type: ignore[union-attr, arg-type]
    with pytest.raises(ComponentError) as info:
        build_predictor(obj, CONFIG, rt)
    assert str(info.value) == error
    assert (info.value.failure_reason, info.value.failure_message) == (
        "InvalidPredictorSpec",
        message,
    )


def test_custom_container_predictor() -> None:
    obj = isvc(
        {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "me:1",
                    "env": [
                        {"name": "STORAGE_URI", "value": "gs://b/m"},
                        {"name": "PROTOCOL", "value": "v2"},
                    ],
                },
                {"name": "helper", "image": "h:1"},
            ],
            "serviceAccountName": "sa",
            "labels": {"l": "1"},
            "minReplicas": 2,
            "maxReplicas": 4,
        },
        name="cu",
    )
    w = build_predictor(obj, CONFIG, None)
    assert (w.runtime, w.protocol_version, w.multi_model) == (None, "v2", False)
    assert w.extension.to_kube() == {"minReplicas": 2, "maxReplicas": 4, "labels": {"l": "1"}}
    assert w.meta.to_dict() == {
        "name": "cu-predictor",
        "namespace": "ns",
        "labels": {"l": "1", "serving.kserve.io/inferenceservice": "cu", "component": "predictor"},
        "annotations": {"internal.serving.kserve.io/storage-initializer-sourceuri": "gs://b/m"},
    }
    assert w.pod_spec.to_dict() == {
        "serviceAccountName": "sa",
        "containers": [
            {
                "name": "kserve-container",
                "image": "me:1",
                "env": [
                    {"name": "STORAGE_URI", "value": "gs://b/m"},
                    {"name": "PROTOCOL", "value": "v2"},
                    {"name": "INFERENCE_SERVICE_NAME", "value": "cu"},
                ],
            },
            {
                "name": "helper",
                "image": "h:1",
                "env": [{"name": "INFERENCE_SERVICE_NAME", "value": "cu"}],
            },
        ],
    }


def test_custom_predictor_with_multi_model_env() -> None:
    obj = isvc(
        {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "m",
                    "env": [{"name": "MULTI_MODEL_SERVER", "value": "true"}],
                }
            ]
        }
    )
    w = build_predictor(obj, CONFIG, None)
    assert w.multi_model
    assert (w.meta.annotations or {})["internal.serving.kserve.io/agent"] == "true"


def test_model_without_runtime_is_a_caller_error() -> None:
    with pytest.raises(ComponentError, match="select_runtime"):
        build_predictor(isvc({"model": {"modelFormat": {"name": "sklearn"}}}), CONFIG, None)


def test_inputs_are_not_modified() -> None:
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "protocolVersion": "v2",
                "storageUri": "gs://b",
            }
        },
        labels={"a": "b"},
    )
    before = copy.deepcopy(obj.to_kube())
    rt = select_runtime(obj.spec.predictor.model, [], CSRS)  # type: ignore[union-attr, arg-type]
    runtime_before = rt.spec.to_kube()
    build_predictor(obj, CONFIG, rt)
    assert obj.to_kube() == before
    assert rt.spec.to_kube() == runtime_before


def test_storage_uris_injected_into_predictor_pod() -> None:
    obj = isvc(
        {
            "model": {"modelFormat": {"name": "sklearn"}},
            "storageUris": [
                {"uri": "s3://b/base", "mountPath": "/mnt/models/base"},
                {"uri": "s3://b/lora", "mountPath": "/mnt/models/lora"},
            ],
        },
        annotations={"storage.kserve.io/readonly": "false"},
    )
    w = build_predictor(obj, CONFIG, select_runtime(obj.spec.predictor.model, [], CSRS))  # type: ignore[union-attr, arg-type]
    assert not w.multi_model
    assert "internal.serving.kserve.io/storage-initializer-sourceuri" not in (
        w.meta.annotations or {}
    )
    pod = w.pod_spec.to_dict()
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "mnt-models", "mountPath": "/mnt/models"}
    ]
    assert pod["volumes"] == [{"name": "mnt-models", "emptyDir": {}}]
    assert pod["initContainers"] == [
        {
            "name": "storage-initializer",
            "image": "kserve/storage-initializer:v1",
            "args": ["s3://b/base", "/mnt/models/base", "s3://b/lora", "/mnt/models/lora"],
            "env": [
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
                {"name": "HF_XET_HIGH_PERFORMANCE", "value": "1"},
                {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "8"},
            ],
            "resources": {
                "limits": {"cpu": "1", "memory": "1Gi"},
                "requests": {"cpu": "100m", "memory": "100Mi"},
            },
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}],
        }
    ]
