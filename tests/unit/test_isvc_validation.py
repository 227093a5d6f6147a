"""Table tests for InferenceService validation (kserve-behaviour.md §4.1, rules 1-13)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.inference_service_validation import (
    validate_inference_service,
    validate_inference_service_create,
    validate_inference_service_update,
)
from apis.serving.validation import FieldError

SK = {"storageUri": "gs://bucket/model"}


def isvc(
    spec: dict[str, Any] | None = None,
    *,
    name: str = "my-model",
    annotations: dict[str, str] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": "default", **meta},
        "spec": spec if spec is not None else {"predictor": {"sklearn": dict(SK)}},
    }
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    return obj


STD_HPA = {
    "serving.kserve.io/deploymentMode": "Standard",
    "serving.kserve.io/autoscalerClass": "hpa",
}
STD_KEDA = {
    "serving.kserve.io/deploymentMode": "Standard",
    "serving.kserve.io/autoscalerClass": "keda",
}
STD = {"serving.kserve.io/deploymentMode": "Standard"}
MN_OK = {
    "serving.kserve.io/deploymentMode": "Standard",
    "serving.kserve.io/autoscalerClass": "none",
}


def pred(**fields: Any) -> dict[str, Any]:
    return {"predictor": fields}


def model(**extra: Any) -> dict[str, Any]:
    return {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m", **extra}


def env(name: str, value: str = "x") -> dict[str, str]:
    return {"name": name, "value": value}


def res_metric(name: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def ext_metric(query: str = "q", **target: Any) -> dict[str, Any]:
    return {
        "type": "External",
        "external": {"metric": {"backend": "prometheus", "query": query}, "target": target},
    }


def pod_metric(query: str = "q", **target: Any) -> dict[str, Any]:
    return {
        "type": "PodMetric",
        "podmetric": {"metric": {"backend": "opentelemetry", "query": query}, "target": target},
    }


def canary(name: str, pct: int, **p: Any) -> dict[str, Any]:
    return {"predictor": {"name": name, "model": model(), **p}, "trafficPercent": pct}


GPU = {"limits": {"nvidia.com/gpu": "1"}}

# (id, object, expected field, expected message fragment) -- every rule has refusals here
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    # 1. name
    ("1 name uppercase", isvc(name="MyModel"), "metadata.name", "regex used for validation is"),
    (
        "1 name starts with digit",
        isvc(name="1abc"),
        "metadata.name",
        "must start with alphabetical",
    ),
    ("1 name ends with dash", isvc(name="abc-"), "metadata.name", 'InferenceService "abc-"'),
    # 2. autoscaler class
    (
        "2 autoscaler class",
        isvc(annotations={"serving.kserve.io/autoscalerClass": "kpa"}),
        "metadata.annotations[serving.kserve.io/autoscalerClass]",
        "[kpa] is not a supported autoscaler class type",
    ),
    # 3. PYTHONPATH
    (
        "3 pythonpath predictor container",
        isvc(
            pred(
                containers=[{"name": "kserve-container", "image": "i", "env": [env("PYTHONPATH")]}]
            )
        ),
        "spec.predictor.containers[0].env[0].name",
        'setting PYTHONPATH in container "kserve-container" is not allowed for security reasons',
    ),
    (
        "3 pythonpath predictor init container",
        isvc(
            pred(
                sklearn=SK, initContainers=[{"name": "init", "env": [env("A"), env("PYTHONPATH")]}]
            )
        ),
        "spec.predictor.initContainers[0].env[1].name",
        'the InferenceService "my-model" is invalid',
    ),
    (
        "3 pythonpath framework container",
        isvc(pred(sklearn={**SK, "env": [env("PYTHONPATH")]})),
        "spec.predictor.sklearn.env[0].name",
        "PYTHONPATH",
    ),
    (
        "3 pythonpath model container",
        isvc(pred(model=model(env=[env("PYTHONPATH")]))),
        "spec.predictor.model.env[0].name",
        "PYTHONPATH",
    ),
    (
        "3 pythonpath worker container",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m"),
                workerSpec={
                    "containers": [{"name": "worker-container", "env": [env("PYTHONPATH")]}]
                },
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.workerSpec.containers[0].env[0].name",
        "PYTHONPATH",
    ),
    (
        "3 pythonpath transformer",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "transformer": {"containers": [{"name": "t", "env": [env("PYTHONPATH")]}]},
            }
        ),
        "spec.transformer.containers[0].env[0].name",
        'container "t"',
    ),
    (
        "3 pythonpath explainer art",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "explainer": {"art": {"type": "SquareAttack", "env": [env("PYTHONPATH")]}},
            }
        ),
        "spec.explainer.art.env[0].name",
        "PYTHONPATH",
    ),
    # 4. workerSpec
    (
        "4 worker two containers",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m"),
                workerSpec={"containers": [{"name": "a"}, {"name": "b"}]},
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.workerSpec.containers",
        "setting multiple containers in workerSpec is not allowed",
    ),
    (
        "4 worker PIPELINE_PARALLEL_SIZE env",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m", env=[env("PIPELINE_PARALLEL_SIZE", "2")]),
                workerSpec={},
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.model.env",
        "setting PIPELINE_PARALLEL_SIZE in environment variables is not allowed",
    ),
    (
        "4 worker TENSOR_PARALLEL_SIZE env",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m", env=[env("TENSOR_PARALLEL_SIZE", "2")]),
                workerSpec={},
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.model.env",
        "setting TENSOR_PARALLEL_SIZE",
    ),
    (
        "4 worker unknown gpu on model",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m", resources={"limits": {"foo.com/gpu": "1"}}),
                workerSpec={},
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.model.resources",
        "Unknown GPU resource type",
    ),
    (
        "4 worker no storageUri",
        isvc(
            pred(model={"modelFormat": {"name": "huggingface"}}, workerSpec={}), annotations=MN_OK
        ),
        "spec.predictor.model.storageUri",
        "StorageURI must be set for multinode enabled",
    ),
    (
        "4 worker s3 storage",
        isvc(pred(model=model(storageUri="s3://b/m"), workerSpec={}), annotations=MN_OK),
        "spec.predictor.model.storageUri",
        "Multinode only supports 'pvc' and 'oci' Storage Protocol(s3)",
    ),
    (
        "4 worker autoscaler must be none",
        isvc(pred(model=model(storageUri="pvc://p/m"), workerSpec={}), annotations=STD_HPA),
        "metadata.annotations[serving.kserve.io/autoscalerClass]",
        "Multinode only supports 'none' autoscaler(hpa)",
    ),
    (
        "4 worker pipelineParallelSize 0",
        isvc(
            pred(model=model(storageUri="pvc://p/m"), workerSpec={"pipelineParallelSize": 0}),
            annotations=MN_OK,
        ),
        "spec.predictor.workerSpec.pipelineParallelSize",
        "WorkerSpec.PipelineParallelSize cannot be less than 1(0)",
    ),
    (
        "4 worker tensorParallelSize 0",
        isvc(
            pred(model=model(storageUri="pvc://p/m"), workerSpec={"tensorParallelSize": 0}),
            annotations=MN_OK,
        ),
        "spec.predictor.workerSpec.tensorParallelSize",
        "WorkerSpec.TensorParallelSize cannot be less than 1(0)",
    ),
    (
        "4 worker container unknown gpu",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m"),
                workerSpec={
                    "containers": [{"name": "w", "resources": {"requests": {"x.io/tpu": "1"}}}]
                },
            ),
            annotations=MN_OK,
        ),
        "spec.predictor.workerSpec.containers[0].resources",
        "Unknown GPU resource type",
    ),
    (
        "4 bad gpu annotation",
        isvc(
            pred(model=model(storageUri="pvc://p/m"), workerSpec={}),
            annotations={**MN_OK, "serving.kserve.io/gpu-resource-types": "gpu"},
        ),
        "metadata.annotations",
        "must be a valid JSON array",
    ),
    # 5. transformer container STORAGE_URI
    (
        "5 collocated transformer storage uri",
        isvc(
            pred(
                containers=[
                    {"name": "kserve-container"},
                    {"name": "transformer-container", "env": [env("STORAGE_URI", "s3://x")]},
                ]
            )
        ),
        "spec.predictor.containers[1].env[0]",
        "storage uri should not be specified in transformer container",
    ),
    # 6. name on framework/model predictor
    (
        "6 sklearn name",
        isvc(pred(sklearn={**SK, "name": "c"})),
        "spec.predictor.sklearn.name",
        "the 'name' field is not allowed in standard predictor",
    ),
    ("6 model name", isvc(pred(model=model(name="c"))), "spec.predictor.model.name", "not allowed"),
    # 7. storageUri vs storageUris and storageUris items
    (
        "7 both storageUri and storageUris",
        isvc(pred(model=model(), storageUris=[{"uri": "s3://a", "mountPath": "/mnt/a"}])),
        "spec.predictor.storageUris",
        "Setting both StorageURI and StorageURIs is not supported.",
    ),
    (
        "7 transformer both",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "transformer": {
                    "containers": [{"name": "t", "env": [env("STORAGE_URI", "s3://x")]}],
                    "storageUris": [{"uri": "s3://a", "mountPath": "/m"}],
                },
            }
        ),
        "spec.transformer.storageUris",
        "Setting both",
    ),
    (
        "7 empty uri",
        isvc(
            pred(model={"modelFormat": {"name": "x"}}, storageUris=[{"uri": "", "mountPath": "/m"}])
        ),
        "spec.predictor.storageUris[0].uri",
        "storage URI cannot be empty",
    ),
    (
        "7 root mount",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[{"uri": "s3://a", "mountPath": "/"}],
            )
        ),
        "spec.predictor.storageUris[0].mountPath",
        "storage path cannot be empty",
    ),
    (
        "7 relative mount",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[{"uri": "s3://a", "mountPath": "mnt"}],
            )
        ),
        "spec.predictor.storageUris[0].mountPath",
        "storage path must be absolute: mnt",
    ),
    (
        "7 dotdot mount",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[{"uri": "s3://a", "mountPath": "/mnt/../etc"}],
            )
        ),
        "spec.predictor.storageUris[0].mountPath",
        "cannot contain '..'",
    ),
    (
        "7 no common parent",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[
                    {"uri": "s3://a", "mountPath": "/a/m"},
                    {"uri": "s3://b", "mountPath": "/b/m"},
                ],
            )
        ),
        "spec.predictor.storageUris",
        "storage paths must have a common parent directory. Current paths: [/a/m /b/m]",
    ),
    (
        "7 duplicate pvc paths",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[
                    {"uri": "s3://a", "mountPath": "/mnt/a"},
                    {"uri": "s3://b", "mountPath": "/mnt/b"},
                    {"uri": "pvc://c/x", "mountPath": "/p"},
                    {"uri": "pvc://d/y", "mountPath": "/p"},
                ],
            )
        ),
        "spec.predictor.storageUris",
        "PVC storage paths must be unique",
    ),
    # 8. confidential
    (
        "8 confidential without storageUri",
        isvc(pred(model={"modelFormat": {"name": "x"}, "confidential": {"enabled": True}})),
        "spec.predictor.model.storageUri",
        "confidential model serving requires storageUri to be set",
    ),
    (
        "8 confidential bad resourceId",
        isvc(pred(model=model(confidential={"enabled": True, "resourceId": "kbs://a/b"}))),
        "spec.predictor.model.confidential.resourceId",
        'Invalid value: "kbs://a/b": must be in the format kbs:///<repo>/<type>/<tag>',
    ),
    (
        # Go's regexp "$" is end of text; Python's also matches before a final newline
        "8 confidential resourceId with trailing newline",
        isvc(pred(model=model(confidential={"enabled": True, "resourceId": "kbs:///r/t/tag\n"}))),
        "spec.predictor.model.confidential.resourceId",
        "must be in the format kbs:///<repo>/<type>/<tag>",
    ),
    # 9. component validation
    (
        "9 no implementation",
        isvc(pred(minReplicas=1)),
        "spec.predictor",
        "exactly one of [Name, SKLearn, XGBoost, Tensorflow, PyTorch, Triton, ONNX, HuggingFace, "
        "PMML, LightGBM, Paddle, Model, StorageUris, StorageContainerName, WorkerSpec, PodSpec] "
        "must be specified in PredictorSpec",
    ),
    (
        "9 two implementations",
        isvc(pred(sklearn=SK, xgboost=SK)),
        "spec.predictor",
        "exactly one of",
    ),
    (
        "9 framework plus kserve-container",
        isvc(pred(sklearn=SK, containers=[{"name": "kserve-container"}])),
        "spec.predictor",
        "exactly one of",
    ),
    (
        "9 transformer without containers",
        isvc({"predictor": {"sklearn": SK}, "transformer": {"minReplicas": 1}}),
        "spec.transformer",
        "exactly one of [PodSpec, ComponentExtensionSpec] must be specified in TransformerSpec",
    ),
    (
        "9 explainer art and containers",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "explainer": {"art": {"type": "SquareAttack"}, "containers": [{"name": "e"}]},
            }
        ),
        "spec.explainer",
        "exactly one of [ART, PodSpec, ComponentExtensionSpec] must be specified in ExplainerSpec",
    ),
    (
        "9 tf gpu limits without -gpu version",
        isvc(pred(tensorflow={**SK, "runtimeVersion": "2.6.2", "resources": GPU})),
        "spec.predictor.tensorflow.runtimeVersion",
        "Tensorflow RuntimeVersion is not GPU enabled but GPU resources are requested",
    ),
    (
        "9 tf -gpu version without gpu",
        isvc(pred(tensorflow={**SK, "runtimeVersion": "2.6.2-gpu"})),
        "spec.predictor.tensorflow.runtimeVersion",
        "Tensorflow RuntimeVersion is GPU enabled but GPU resources are not requested",
    ),
    (
        "9 torch mig gpu without -gpu",
        isvc(
            pred(
                pytorch={
                    **SK,
                    "runtimeVersion": "0.9",
                    "resources": {"limits": {"nvidia.com/mig-1g.5gb": "1"}},
                }
            )
        ),
        "spec.predictor.pytorch.runtimeVersion",
        "PyTorch RuntimeVersion is not GPU enabled",
    ),
    (
        "9 onnx extension",
        isvc(pred(onnx={"storageUri": "gs://b/model.pt"})),
        "spec.predictor.onnx.storageUri",
        "expected storageUri file extension: '.onnx' but got '.pt'",
    ),
    (
        "9 storage spec bad uri",
        isvc(pred(huggingface={"storageUri": "gs://b/m", "storage": {"key": "k"}})),
        "spec.predictor.huggingface.storageUri",
        "StorageUri [gs://b/m] is not supported",
    ),
    (
        "9 storage spec bad type",
        isvc(pred(pmml={"storage": {"parameters": {"type": "gs"}}})),
        "spec.predictor.pmml.storage.parameters.type",
        "storage.spec.type [gs] is not supported",
    ),
    (
        "9 custom protocol",
        isvc(pred(containers=[{"name": "kserve-container", "env": [env("PROTOCOL", "v3")]}])),
        "spec.predictor.containers[0].env[0].value",
        # upstream passes fmt.Errorf(InvalidProtocol, ...) its arguments the other way round
        "invalid protocol v1, v2. Must be one of [v3]",
    ),
    (
        "9 containerConcurrency",
        isvc(pred(sklearn=SK, containerConcurrency=-1)),
        "spec.predictor.containerConcurrency",
        "parallelism cannot be less than 0",
    ),
    (
        "9 minReplicas negative",
        isvc(pred(sklearn=SK, minReplicas=-1)),
        "spec.predictor.minReplicas",
        "'MinReplicas' cannot be less than 0",
    ),
    (
        "9 maxReplicas negative",
        isvc(pred(sklearn=SK, maxReplicas=-1)),
        "spec.predictor.maxReplicas",
        "'MaxReplicas' cannot be less than 0",
    ),
    (
        "9 min > max",
        isvc(pred(sklearn=SK, minReplicas=3, maxReplicas=2)),
        "spec.predictor.minReplicas",
        "'MinReplicas' cannot be greater than MaxReplicas",
    ),
    (
        "9 default min 1 > max",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "transformer": {"containers": [{"name": "t"}], "minReplicas": 0, "maxReplicas": -2},
            }
        ),
        "spec.transformer.maxReplicas",
        "'MaxReplicas' cannot be less than 0",
    ),
    (
        "9 logger mode",
        isvc(pred(sklearn=SK, logger={"mode": "everything"})),
        "spec.predictor.logger.mode",
        "invalid logger type",
    ),
    (
        "9 logger mode missing",
        isvc(pred(sklearn=SK, logger={})),
        "spec.predictor.logger.mode",
        "invalid logger type",
    ),
    (
        "9 logger storage incomplete",
        isvc(pred(sklearn=SK, logger={"mode": "all", "storage": {"path": "/p", "key": "k"}})),
        "spec.predictor.logger.storage",
        "invalid logger storage configuration",
    ),
    (
        "9 explainer art storage spec",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "explainer": {
                    "art": {"type": "SquareAttack", "storageUri": "gs://x", "storage": {}}
                },
            }
        ),
        "spec.explainer.art.storageUri",
        "is not supported",
    ),
    # 10. autoscaling
    (
        "10 hpa metric",
        isvc(pred(sklearn=SK, scaleMetric="rps"), annotations=STD_HPA),
        "spec.predictor.scaleMetric",
        "[rps] is not a supported metric",
    ),
    (
        "10 hpa cpu target 0",
        isvc(pred(sklearn=SK, scaleTarget=0), annotations=STD_HPA),
        "spec.predictor.scaleTarget",
        "the target utilization percentage should be a [1-100] integer",
    ),
    (
        "10 hpa target > 100",
        isvc(pred(sklearn=SK, scaleTarget=101), annotations=STD_HPA),
        "spec.predictor.scaleTarget",
        "[1-100]",
    ),
    (
        "10 hpa memory target > 100 (upstream precedence)",
        isvc(pred(sklearn=SK, scaleMetric="memory", scaleTarget=200), annotations=STD_HPA),
        "spec.predictor.scaleTarget",
        "[1-100]",
    ),
    (
        "10 hpa memory target 0",
        isvc(pred(sklearn=SK, scaleMetric="memory", scaleTarget=0), annotations=STD_HPA),
        "spec.predictor.scaleTarget",
        "the target memory should be greater than 1 MiB",
    ),
    (
        "10 hpa external metric",
        isvc(pred(sklearn=SK, autoScaling={"metrics": [ext_metric(value=1)]}), annotations=STD_HPA),
        "spec.predictor.autoScaling.metrics[0].type",
        "invalid HPA metric source type with value [External],"
        "valid metric source types are Resource",
    ),
    (
        "10 hpa resource missing",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [{"type": "Resource"}]}), annotations=STD_HPA
        ),
        "spec.predictor.autoScaling.metrics[0].resource",
        "metricSpec.Resource is not set",
    ),
    (
        "10 knative hpa class",
        isvc(
            pred(sklearn=SK, scaleMetric="concurrency"),
            annotations={"autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev"},
        ),
        "spec.predictor.scaleMetric",
        "[concurrency] is not a supported metric",
    ),
    (
        "10 keda scaleMetric",
        isvc(pred(sklearn=SK, scaleMetric="cpu"), annotations=STD_KEDA),
        "spec.predictor.scaleMetric",
        "ScaleMetric is not supported for KEDA",
    ),
    (
        "10 keda cpu AverageValue",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={"metrics": [res_metric("cpu", type="AverageValue", averageValue="1")]},
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.type",
        "the cpu target value type should be Utilization",
    ),
    (
        "10 keda memory Value",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={"metrics": [res_metric("memory", type="Value", value="1Gi")]},
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.type",
        "AverageValue or Utilization",
    ),
    (
        "10 keda memory < 1Mi",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={
                    "metrics": [res_metric("memory", type="AverageValue", averageValue="512Ki")]
                },
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.averageValue",
        "the memory target value should be greater than 1 MiB",
    ),
    (
        # upstream: a nil *MetricQuantity reads as the zero quantity (GetQuantity), so the
        # 1 MiB check refuses it; there is no nil dereference
        "10 keda memory AverageValue unset",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={"metrics": [res_metric("memory", type="AverageValue")]},
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.averageValue",
        "the memory target value should be greater than 1 MiB",
    ),
    (
        "10 keda gpu resource",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={
                    "metrics": [res_metric("gpu", type="Utilization", averageUtilization=5)]
                },
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.name",
        "resource type gpu is not supported",
    ),
    (
        "10 keda utilization missing",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [res_metric("cpu", type="Utilization")]}),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.averageUtilization",
        "the AverageUtilization type should be set",
    ),
    (
        "10 keda utilization 101",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={
                    "metrics": [res_metric("cpu", type="Utilization", averageUtilization=101)]
                },
            ),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].resource.target.averageUtilization",
        "[1-100]",
    ),
    (
        "10 keda external no query",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [ext_metric("", type="Value", value="1")]}),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].external.metric.query",
        "the query should not be empty",
    ),
    (
        "10 keda external no value",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [ext_metric(type="Value")]}),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].external.target.value",
        "the target threshold value should not be empty",
    ),
    (
        "10 keda external missing",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [{"type": "External"}]}), annotations=STD_KEDA
        ),
        "spec.predictor.autoScaling.metrics[0].external",
        "metricSpec.External is not set",
    ),
    (
        "10 keda podmetric no query",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [pod_metric("", type="Value", value="1")]}),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].podmetric.metric.query",
        "the query should not be empty",
    ),
    (
        "10 keda podmetric averageValue unset",
        isvc(
            pred(sklearn=SK, autoScaling={"metrics": [pod_metric(type="AverageValue", value="1")]}),
            annotations=STD_KEDA,
        ),
        "spec.predictor.autoScaling.metrics[0].podmetric.target.averageValue",
        "the AverageValue type should be set",
    ),
    (
        "10 keda unknown type",
        isvc(pred(sklearn=SK, autoScaling={"metrics": [{"type": "Object"}]}), annotations=STD_KEDA),
        "spec.predictor.autoScaling.metrics[0].type",
        "unknown KEDA metric type with value [Object].Valid types are Resource,External,PodMetric",
    ),
    (
        "10 kpa deploymentStrategy",
        isvc(pred(sklearn=SK, deploymentStrategy={"type": "Recreate"})),
        "spec.predictor.deploymentStrategy",
        "customizing deploymentStrategy is only supported for raw deployment mode",
    ),
    (
        "10 kpa cpu metric",
        isvc(
            pred(sklearn=SK, scaleMetric="cpu"),
            annotations={"serving.kserve.io/deploymentMode": "Knative"},
        ),
        "spec.predictor.scaleMetric",
        "[cpu] is not a supported metric",
    ),
    (
        "10 kpa rps target 0",
        isvc(pred(sklearn=SK, scaleMetric="rps", scaleTarget=0)),
        "spec.predictor.scaleTarget",
        "the target for rps should be greater than 1",
    ),
    (
        "10 transformer autoscaling too",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "transformer": {"containers": [{"name": "t"}], "scaleMetric": "memory"},
            }
        ),
        "spec.transformer.scaleMetric",
        "[memory] is not a supported metric",
    ),
    # 11. canary
    (
        "11 canary needs Standard",
        isvc({"predictor": {"model": model()}, "canary": [canary("c1", 10)]}),
        "spec.canary",
        "canary is only supported in Standard deployment mode",
    ),
    (
        "11 canary needs stable model",
        isvc(
            {
                "predictor": {"containers": [{"name": "kserve-container"}]},
                "canary": [canary("c1", 10)],
            },
            annotations=STD,
        ),
        "spec.predictor",
        "canary requires a stable predictor with a model",
    ),
    (
        "11 canary name required",
        isvc(
            {
                "predictor": {"model": model()},
                "canary": [{"predictor": {"model": model()}, "trafficPercent": 10}],
            },
            annotations=STD,
        ),
        "spec.canary[0].predictor.name",
        "canary[0] predictor.name is required",
    ),
    (
        "11 canary duplicate",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 10), canary("c1", 10)]},
            annotations=STD,
        ),
        "spec.canary[1].predictor.name",
        'canary predictor.name "c1" is duplicated',
    ),
    (
        "11 canary same as stable",
        isvc(
            {"predictor": {"name": "v1", "model": model()}, "canary": [canary("v1", 10)]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.name",
        'canary predictor.name "v1" conflicts with stable predictor name',
    ),
    (
        "11 canary percent range",
        isvc({"predictor": {"model": model()}, "canary": [canary("c1", 101)]}, annotations=STD),
        "spec.canary[0].trafficPercent",
        'canary "c1" trafficPercent must be between 0 and 100, got 101',
    ),
    (
        "11 canary no impl",
        isvc(
            {
                "predictor": {"model": model()},
                "canary": [{"predictor": {"name": "c1"}, "trafficPercent": 5}],
            },
            annotations=STD,
        ),
        "spec.canary[0].predictor",
        'canary "c1" predictor: exactly one of',
    ),
    (
        "11 canary ext invalid",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, minReplicas=-1)]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.minReplicas",
        "canary \"c1\" predictor: 'MinReplicas' cannot be less than 0",
    ),
    (
        "11 canary workerSpec",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, workerSpec={})]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.workerSpec",
        'canary "c1" must not set workerSpec',
    ),
    (
        "11 canary maxReplicas",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, maxReplicas=3)]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.maxReplicas",
        'canary "c1" must not set maxReplicas (canary uses fixed replicas)',
    ),
    (
        "11 canary scaleTarget",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, scaleTarget=3)]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.scaleTarget",
        "must not set scaleTarget",
    ),
    (
        "11 canary scaleMetric",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, scaleMetric="cpu")]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.scaleMetric",
        "must not set scaleMetric",
    ),
    (
        "11 canary autoScaling",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, autoScaling={})]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.autoScaling",
        "must not set autoScaling",
    ),
    (
        "11 canary min > stable default 1",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 5, minReplicas=2)]},
            annotations=STD,
        ),
        "spec.canary[0].predictor.minReplicas",
        'canary "c1" minReplicas (2) must not exceed stable predictor minReplicas (1)',
    ),
    (
        "11 canary sum",
        isvc(
            {"predictor": {"model": model()}, "canary": [canary("c1", 60), canary("c2", 50)]},
            annotations=STD,
        ),
        "spec.canary",
        "sum of canary trafficPercent values (110) must be <= 100",
    ),
]


@pytest.mark.parametrize(("obj", "field", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refusals_name_field_and_reason(obj: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_inference_service_create(obj)
    assert info.value.field == field
    assert needle in info.value.reason
    assert str(info.value).startswith(field + ": ")


GOOD: list[tuple[str, dict[str, Any]]] = [
    ("sklearn", isvc()),
    ("model", isvc(pred(model=model()))),
    (
        "custom predictor",
        isvc(
            pred(
                containers=[
                    {"name": "kserve-container", "image": "x", "env": [env("PROTOCOL", "v2")]}
                ]
            )
        ),
    ),
    ("custom predictor unnamed container", isvc(pred(containers=[{"image": "x"}]))),
    (
        "collocated transformer without storage uri",
        isvc(pred(containers=[{"name": "kserve-container"}, {"name": "transformer-container"}])),
    ),
    (
        "transformer and explainer",
        isvc(
            {
                "predictor": {"sklearn": SK},
                "transformer": {"containers": [{"name": "t"}]},
                "explainer": {"art": {"type": "SquareAttack"}},
            }
        ),
    ),
    ("max 0 means unbounded", isvc(pred(sklearn=SK, minReplicas=5, maxReplicas=0))),
    ("tf gpu ok", isvc(pred(tensorflow={**SK, "runtimeVersion": "2.6.2-gpu", "resources": GPU}))),
    ("onnx extension ok", isvc(pred(onnx={"storageUri": "gs://b/model.onnx"}))),
    ("onnx dir ok", isvc(pred(onnx={"storageUri": "gs://b.dir/model"}))),
    (
        "storage spec s3",
        isvc(pred(huggingface={"storageUri": "s3://b/m", "storage": {"key": "k"}})),
    ),
    ("storage spec type param", isvc(pred(pmml={"storage": {"parameters": {"type": "hdfs"}}}))),
    (
        "logger ok",
        isvc(
            pred(
                sklearn=SK,
                logger={"mode": "all", "storage": {"path": "/p", "key": "k", "parameters": {}}},
            )
        ),
    ),
    (
        "hpa memory",
        isvc(pred(sklearn=SK, scaleMetric="memory", scaleTarget=50), annotations=STD_HPA),
    ),
    (
        "hpa resource metric",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={
                    "metrics": [res_metric("cpu", type="Utilization", averageUtilization=50)]
                },
            ),
            annotations=STD_HPA,
        ),
    ),
    (
        "standard external class skips autoscaling",
        isvc(
            pred(sklearn=SK, scaleMetric="rps"),
            annotations={**STD, "serving.kserve.io/autoscalerClass": "external"},
        ),
    ),
    (
        "standard no class skips autoscaling",
        isvc(pred(sklearn=SK, scaleMetric="rps"), annotations=STD),
    ),
    (
        "keda full",
        isvc(
            pred(
                sklearn=SK,
                autoScaling={
                    "metrics": [
                        res_metric("cpu", type="Utilization", averageUtilization=60),
                        res_metric("memory", type="AverageValue", averageValue="2Gi"),
                        ext_metric(type="Value", value="10"),
                        pod_metric(type="AverageValue", value="1", averageValue="3"),
                    ]
                },
            ),
            annotations=STD_KEDA,
        ),
    ),
    ("kpa rps", isvc(pred(sklearn=SK, scaleMetric="rps", scaleTarget=5))),
    (
        "storageUris with common parent and pvc",
        isvc(
            pred(
                model={"modelFormat": {"name": "x"}},
                storageUris=[
                    {"uri": "s3://a", "mountPath": "/mnt/models/a"},
                    {"uri": "hf://b", "mountPath": "/mnt/models/b"},
                    {"uri": "pvc://c/x", "mountPath": "/data"},
                ],
            )
        ),
    ),
    (
        "multinode ok",
        isvc(
            pred(
                model=model(storageUri="pvc://p/m"),
                workerSpec={
                    "containers": [
                        {
                            "name": "worker-container",
                            "resources": {"limits": {"custom.com/gpu": "1"}},
                        }
                    ],
                    "pipelineParallelSize": 2,
                },
            ),
            annotations={**MN_OK, "serving.kserve.io/gpu-resource-types": '["custom.com/gpu"]'},
        ),
    ),
    (
        "canaries",
        isvc(
            {
                "predictor": {"model": model(), "minReplicas": 3},
                "canary": [canary("c1", 30, minReplicas=2), canary("c2", 70)],
            },
            annotations=STD,
        ),
    ),
]


@pytest.mark.parametrize("obj", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_accepted(obj: dict[str, Any]) -> None:
    assert validate_inference_service(obj) == []


def test_confidential_warnings() -> None:
    obj = isvc(pred(model=model(storageUri="oci://r/m:1", confidential={"enabled": True})))
    warnings = validate_inference_service(obj)
    assert len(warnings) == 1 and "OCI URIs" in warnings[0]
    obj = isvc(
        pred(
            model=model(
                storageUri="pvc://p/m",
                confidential={"enabled": True, "resourceId": "kbs:///r/t/tag"},
            )
        )
    )
    assert "PVC URIs" in validate_inference_service(obj)[0]
    bad = isvc(
        pred(
            model=model(storageUri="pvc://p/m", confidential={"enabled": True, "resourceId": "x"}),
            minReplicas=-1,
        )
    )
    with pytest.raises(FieldError) as info:
        validate_inference_service(bad)
    assert info.value.warnings and "PVC URIs" in info.value.warnings[0]


def test_multinode_custom_gpu_from_config() -> None:
    obj = isvc(
        pred(
            model=model(storageUri="pvc://p/m", resources={"limits": {"custom.com/gpu": "1"}}),
            workerSpec={},
        ),
        annotations=MN_OK,
    )
    with pytest.raises(FieldError):
        validate_inference_service(obj)
    cfg = parse_inferenceservice_config(
        {"multiNode": '{"customGPUResourceTypeList": ["custom.com/gpu"]}'}
    )
    assert validate_inference_service(obj, config=cfg) == []


# 12 + 13: update rules
def _with_status(obj: dict[str, Any], mode: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["status"] = {"deploymentMode": mode}
    return out


UPDATE_BAD = [
    (
        "12 mode change",
        isvc(
            annotations={"serving.kserve.io/deploymentMode": "Knative"},
            spec=pred(sklearn=SK, minReplicas=1),
        ),
        _with_status(isvc(), "Standard"),
        "metadata.annotations[serving.kserve.io/deploymentMode]",
        "update rejected: deploymentMode cannot be changed from 'Standard' to 'Knative'",
    ),
    (
        "12 legacy status normalised",
        isvc(annotations={"serving.kserve.io/deploymentMode": "Standard"}),
        _with_status(isvc(), "Serverless"),
        "metadata.annotations[serving.kserve.io/deploymentMode]",
        "from 'Knative' to 'Standard'",
    ),
    (
        "13 rename without model change",
        isvc(pred(name="v2", model=model())),
        isvc(pred(name="v1", model=model())),
        "spec.predictor.name",
        "predictor.name change requires a model change (e.g. storageUri)",
    ),
]


@pytest.mark.parametrize(
    ("new", "old", "field", "needle"), [u[1:] for u in UPDATE_BAD], ids=[u[0] for u in UPDATE_BAD]
)
def test_update_refusals(new: dict[str, Any], old: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_inference_service_update(new, old)
    assert (info.value.field, needle in info.value.reason) == (field, True)


def test_update_accepted() -> None:
    # no status mode yet (first reconcile) -> any annotation
    assert (
        validate_inference_service_update(
            isvc(annotations={"serving.kserve.io/deploymentMode": "Knative"}), isvc()
        )
        == []
    )
    # same mode
    old = _with_status(isvc(), "Standard")
    assert validate_inference_service_update(isvc(annotations=STD), old) == []
    # rename with a new model
    new = isvc(pred(name="v2", model=model(storageUri="gs://b/m2")))
    assert validate_inference_service_update(new, isvc(pred(name="v1", model=model()))) == []
    # being deleted: nothing checked, not even the name
    dying = isvc(name="BAD", deletionTimestamp="2026-01-01T00:00:00Z")
    assert validate_inference_service_update(dying, isvc()) == []
    # update still runs rules 1-11
    with pytest.raises(FieldError):
        validate_inference_service_update(isvc(name="Bad"), isvc())


def test_accepts_typed_models() -> None:
    class Fake:
        def __init__(self, d: dict[str, Any]) -> None:
            self.d = d

        def to_kube(self) -> dict[str, Any]:
            return self.d

    assert validate_inference_service(Fake(isvc())) == []
    with pytest.raises(FieldError):
        validate_inference_service(Fake(isvc(name="X")))


def test_input_not_mutated() -> None:
    obj = isvc(pred(sklearn=SK, minReplicas=-1))
    before = copy.deepcopy(obj)
    with pytest.raises(FieldError):
        validate_inference_service(obj)
    assert obj == before


def test_typed_inference_service_and_samples() -> None:
    from pathlib import Path

    import yaml

    from apis.serving.v1beta1 import InferenceService

    samples = sorted(
        (Path(__file__).resolve().parents[2] / "config" / "samples").glob(
            "serving_v1beta1_inferenceservice_*.yaml"
        )
    )
    for path in samples:
        typed = InferenceService.model_validate(yaml.safe_load(path.read_text()))
        assert validate_inference_service(typed) == [], path.name
    bad = InferenceService.model_validate(isvc(pred(sklearn=SK, minReplicas=-1)))
    with pytest.raises(FieldError) as info:
        validate_inference_service(bad)
    assert info.value.field == "spec.predictor.minReplicas"
