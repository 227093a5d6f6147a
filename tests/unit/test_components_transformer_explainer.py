"""Transformer and explainer workloads (components/transformer.go, explainer.go; upstream
transformer_custom_test.go TestCreateTransformerContainer and explainer_art_test.go
TestCreateARTExplainerContainer(WithConfig) as tables). Full metadata and pod specs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apis.serving.v1beta1 import ComponentExtensionSpec, InferenceService
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from controllers.inferenceservice.components import (
    ComponentError,
    ComponentPending,
    build_explainer,
    build_transformer,
)
from controllers.inferenceservice.components.explainer import art_explainer_container
from controllers.inferenceservice.components.transformer import transformer_container

J = dict[str, Any]
CONFIG = parse_inferenceservice_config(
    {
        "inferenceService": '{"serviceAnnotationDisallowedList": ["no/pe"]}',
        "explainers": json.dumps(
            {"art": {"image": "kfserving/art-server", "defaultImageVersion": "latest"}}
        ),
        "storageInitializer": json.dumps(
            {
                "image": "si:1",
                "cpuRequest": "100m",
                "cpuLimit": "1",
                "memoryRequest": "100Mi",
                "memoryLimit": "1Gi",
            }
        ),
    }
)
RES = {"limits": {"cpu": "100m"}, "requests": {"cpu": "90m"}}
PRED = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://someUri"}}


def isvc(spec: J, *, meta: J | None = None, status: J | None = None) -> InferenceService:
    obj: J = {
        "metadata": {"name": "someName", "namespace": "default", **(meta or {})},
        "spec": {"predictor": PRED, **spec},
    }
    if status is not None:
        obj["status"] = status
    return InferenceService.model_validate(obj)


@pytest.mark.parametrize(
    ("container", "extension", "args"),
    [
        (
            {"image": "transformer:0.1.0"},
            {},
            [
                "--model_name",
                "someName",
                "--predictor_host",
                "someName-predictor.default",
                "--http_port",
                "8080",
            ],
        ),
        (
            {"image": "t"},
            {"containerConcurrency": 2},
            [
                "--model_name",
                "someName",
                "--predictor_host",
                "someName-predictor.default",
                "--http_port",
                "8080",
                "--workers",
                "2",
            ],
        ),
        (
            {"image": "t", "args": ["--workers", "1"]},
            {"containerConcurrency": 2},
            [
                "--workers",
                "1",
                "--model_name",
                "someName",
                "--predictor_host",
                "someName-predictor.default",
                "--http_port",
                "8080",
            ],
        ),
        (
            {"image": "t", "args": ["--model_name=x", "--predictor_host=h", "--http_port=1"]},
            {},
            ["--model_name=x", "--predictor_host=h", "--http_port=1"],
        ),
    ],
    ids=[
        "ContainerSpecWithCustomImage",
        "ContainerSpecWithContainerConcurrency",
        "ContainerSpecWithWorker",
        "args-given",
    ],
)
def test_transformer_container(container: J, extension: J, args: list[str]) -> None:
    got = transformer_container(
        {"name": "kserve-container", **container},
        isvc_name="someName",
        namespace="default",
        predictor_name="someName-predictor",
        extension=ComponentExtensionSpec.model_validate(extension),
        annotations={},
    )
    assert got["args"] == args


def test_build_transformer() -> None:
    obj = isvc(
        {
            "transformer": {
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": "transformer:0.1.0",
                        "env": [{"name": "STORAGE_URI", "value": "hdfs://modelzoo"}],
                    },
                    {"name": "side", "image": "s"},
                ],
                "labels": {"t": "1"},
                "annotations": {"ta": "1", "no/pe": "x"},
                "logger": {"mode": "all", "url": "http://log"},
                "batcher": {"maxBatchSize": 8},
                "minReplicas": 2,
            }
        },
        meta={"labels": {"app-team": "a"}, "annotations": {"a": "1", "no/pe": "y"}},
    )
    w = build_transformer(obj, CONFIG, isvc_labels_override={"app-team": "a", "modelClass": "m"})
    assert (w.component, w.protocol_version) == ("transformer", "v1")
    assert w.extension.to_kube() == {
        "minReplicas": 2,
        "labels": {"t": "1"},
        "annotations": {"ta": "1", "no/pe": "x"},
        "logger": {"mode": "all", "url": "http://log"},
        "batcher": {"maxBatchSize": 8},
    }
    assert w.meta.to_dict() == {
        "name": "someName-transformer",
        "namespace": "default",
        "labels": {
            "app-team": "a",
            "modelClass": "m",
            "t": "1",
            "serving.kserve.io/inferenceservice": "someName",
            "component": "transformer",
        },
        "annotations": {
            "a": "1",
            "internal.serving.kserve.io/storage-initializer-sourceuri": "hdfs://modelzoo",
            "internal.serving.kserve.io/logger": "true",
            "internal.serving.kserve.io/logger-sink-url": "http://log",
            "internal.serving.kserve.io/logger-mode": "all",
            "internal.serving.kserve.io/batcher": "true",
            "internal.serving.kserve.io/batcher-max-batchsize": "8",
            "ta": "1",
        },
    }
    assert w.pod_spec.to_dict() == {
        "containers": [
            {
                "name": "kserve-container",
                "image": "transformer:0.1.0",
                "args": [
                    "--model_name",
                    "someName",
                    "--predictor_host",
                    "someName-predictor.default",
                    "--http_port",
                    "8080",
                ],
                "env": [
                    {"name": "STORAGE_URI", "value": "hdfs://modelzoo"},
                    {"name": "INFERENCE_SERVICE_NAME", "value": "someName"},
                ],
            },
            {"name": "side", "image": "s"},
        ]
    }


def test_transformer_named_predictor_and_storage_uris() -> None:
    obj = isvc(
        {
            "predictor": {**PRED, "name": "blue"},
            "transformer": {
                "containers": [{"name": "kserve-container", "image": "t"}],
                "storageUris": [{"uri": "s3://b/vocab", "mountPath": "/mnt/vocab"}],
            },
        }
    )
    w = build_transformer(obj, CONFIG)
    pod = w.pod_spec.to_dict()
    assert pod["containers"][0]["args"][3] == "someName-blue-predictor.default"
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "mnt-vocab", "mountPath": "/mnt/vocab", "readOnly": True}
    ]
    assert [c["name"] for c in pod["initContainers"]] == ["storage-initializer"]
    assert pod["initContainers"][0]["args"] == ["s3://b/vocab", "/mnt/vocab"]


def test_transformer_model_mesh() -> None:
    spec = {"transformer": {"containers": [{"name": "kserve-container", "image": "t"}]}}
    with pytest.raises(ComponentPending) as pending:
        build_transformer(isvc(spec), CONFIG, "ModelMesh")
    assert pending.value.requeue_after == 3.0
    ready = isvc(
        spec,
        meta={"annotations": {"serving.kserve.io/deploymentMode": "ModelMesh"}},
        status={"components": {"predictor": {"url": "grpc://modelmesh-serving.default:8033"}}},
    )
    w = build_transformer(ready, CONFIG, "ModelMesh")
    assert w.pod_spec.to_dict()["containers"][0]["args"] == [
        "--protocol",
        "grpc-v2",
        "--model_name",
        "someName",
        "--predictor_host",
        "modelmesh-serving.default:8033",
        "--http_port",
        "8080",
    ]
    bad = isvc(
        spec,
        meta={"annotations": {"serving.kserve.io/deploymentMode": "ModelMesh"}},
        status={"components": {"predictor": {"url": "ftp://x"}}},
    )
    with pytest.raises(ComponentError, match="Predictor URL Scheme not supported: ftp"):
        build_transformer(bad, CONFIG, "ModelMesh")


ART_ARGS = [
    "--model_name",
    "someName",
    "--http_port",
    "8080",
    "--predictor_host",
    "someName-predictor-default.default",
    "--storage_uri",
    "/mnt/models",
    "--adversary_type",
    "SquareAttack",
]


@pytest.mark.parametrize(
    ("art", "expected"),
    [
        (
            {
                "type": "SquareAttack",
                "storageUri": "gs://someUri",
                "resources": RES,
                "runtimeVersion": "0.5.0",
            },
            {
                "image": "kfserving/art-server:0.5.0",
                "name": "kserve-container",
                "resources": RES,
                "args": ART_ARGS,
            },
        ),
        (
            {
                "type": "SquareAttack",
                "storageUri": "gs://someUri",
                "resources": RES,
                "runtimeVersion": "0.5.0",
                "config": {"num_classes": "10", "num_samples": "20", "min_weight": "0"},
            },
            {
                "image": "kfserving/art-server:0.5.0",
                "name": "kserve-container",
                "resources": RES,
                "args": [
                    *ART_ARGS,
                    "--min_weight",
                    "0",
                    "--num_classes",
                    "10",
                    "--num_samples",
                    "20",
                ],
            },
        ),
        # own args: appended to the generated ones, then once more (upstream); an own image wins
        (
            {"type": "SquareAttack", "image": "mine:1", "args": ["--predictor_host=h", "--x"]},
            {
                "image": "mine:1",
                "name": "kserve-container",
                "args": [
                    "--model_name",
                    "someName",
                    "--http_port",
                    "8080",
                    "--adversary_type",
                    "SquareAttack",
                    "--predictor_host=h",
                    "--x",
                    "--predictor_host=h",
                    "--x",
                ],
            },
        ),
    ],
    ids=[
        "TestCreateARTExplainerContainer",
        "TestCreateARTExplainerContainerWithConfig",
        "own-args-and-image",
    ],
)
def test_art_explainer_container(art: J, expected: J) -> None:
    obj = isvc({"explainer": {"art": art}})
    assert (
        obj.spec is not None
        and obj.spec.explainer is not None
        and obj.spec.explainer.art is not None
    )
    got = art_explainer_container(
        obj.spec.explainer.art,
        isvc_name="someName",
        host="someName-predictor-default.default",
        extension=ComponentExtensionSpec.model_validate({"maxReplicas": 2}),
        config=CONFIG,
    )
    assert got == expected


def test_build_explainer_art() -> None:
    obj = isvc(
        {
            "explainer": {
                "art": {"type": "SquareAttack"},
                "labels": {"e": "1"},
                "containerConcurrency": 3,
                "logger": {"mode": "request"},
            }
        },
        meta={"labels": {"l": "1"}, "annotations": {"a": "1"}},
    )
    w = build_explainer(obj, CONFIG)
    assert w.meta.to_dict() == {
        "name": "someName-explainer",
        "namespace": "default",
        "labels": {
            "l": "1",
            "e": "1",
            "serving.kserve.io/inferenceservice": "someName",
            "component": "explainer",
        },
        "annotations": {
            "a": "1",
            "internal.serving.kserve.io/logger": "true",
            "internal.serving.kserve.io/logger-mode": "request",
        },
    }
    assert w.pod_spec.to_dict() == {
        "containers": [
            {
                "name": "kserve-container",
                "image": "kfserving/art-server:latest",
                "args": [
                    "--model_name",
                    "someName",
                    "--http_port",
                    "8080",
                    "--predictor_host",
                    "someName-predictor.default",
                    "--workers",
                    "3",
                    "--adversary_type",
                    "SquareAttack",
                ],
            }
        ]
    }


def test_build_explainer_custom() -> None:
    obj = isvc(
        {
            "explainer": {
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": "ex:1",
                        "args": ["--model_name=m"],
                        "env": [{"name": "STORAGE_URI", "value": "gs://e"}],
                    }
                ]
            }
        }
    )
    w = build_explainer(obj, CONFIG)
    assert (w.meta.annotations or {}) == {
        "internal.serving.kserve.io/storage-initializer-sourceuri": "gs://e"
    }
    assert w.pod_spec.to_dict() == {
        "containers": [
            {
                "name": "kserve-container",
                "image": "ex:1",
                "args": [
                    "--model_name=m",
                    "--predictor_host",
                    "someName-predictor.default",
                    "--http_port",
                    "8080",
                ],
                "env": [{"name": "STORAGE_URI", "value": "gs://e"}],
            }
        ]
    }


def test_missing_components() -> None:
    with pytest.raises(ComponentError):
        build_transformer(isvc({}), CONFIG)
    with pytest.raises(ComponentError):
        build_explainer(isvc({}), CONFIG)
    with pytest.raises(ComponentError, match="StorageURI not supported"):
        build_explainer(
            isvc({"explainer": {"art": {"type": "SquareAttack", "storageUri": "ftp://x"}}}), CONFIG
        )
