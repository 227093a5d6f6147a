"""Multi-node predictors (components/predictor.go reconcileWorker/multiNodeProcess; upstream
predictor_test.go TestComputeMpNodeAndGPUs as a table): head and worker pod specs, worker
metadata, executor backends, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apis.serving.v1alpha1 import ClusterServingRuntime
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from apis.serving.v1beta1.predictor_runtime_selection import SelectedRuntime, select_runtime
from controllers.inferenceservice.components import ComponentError, build_predictor
from controllers.reconcilers.multinode import compute_mp_node_and_gpus

J = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
MULTINODE = yaml.safe_load(
    (ROOT / "config" / "runtimes" / "kserve-huggingfaceserver-multinode.yaml").read_text()
)
CONFIG = parse_inferenceservice_config({})
GPU1 = {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}


def runtime(**spec_changes: Any) -> ClusterServingRuntime:
    obj = yaml.safe_load(yaml.safe_dump(MULTINODE))
    obj["spec"].update(spec_changes)
    return ClusterServingRuntime.model_validate(obj)


def isvc(
    worker: J | None, *, model_resources: J | None = None, storage: str = "pvc://llama/model"
) -> InferenceService:
    model: J = {"modelFormat": {"name": "huggingface"}, "storageUri": storage}
    if model_resources is not None:
        model["resources"] = model_resources
    pred: J = {"model": model}
    if worker is not None:
        pred["workerSpec"] = worker
    return InferenceService.model_validate(
        {
            "metadata": {
                "name": "llm",
                "namespace": "ns",
                "generation": 2,
                "labels": {"team": "x"},
            },
            "spec": {"predictor": pred},
        }
    )


def select(obj: InferenceService, rt: ClusterServingRuntime) -> SelectedRuntime:
    assert obj.spec is not None and obj.spec.predictor.model is not None
    return select_runtime(obj.spec.predictor.model, [], [rt], multi_node=True)


def envs(pod: J, container: int = 0) -> dict[str, str]:
    return {
        e["name"]: e.get("value", "<from>") for e in pod["containers"][container].get("env", [])
    }


@pytest.mark.parametrize(
    ("pp", "tp", "nodes", "worker_gpu", "head_gpu"),
    [(2, 2, 2, 2, 2), (4, 8, 4, 8, 8), (1, 4, 1, 4, 4), (2, 1, 2, 1, 1)],
    ids=[
        "PP=2, TP=2: 2 nodes, 2 GPUs per node",
        "PP=4, TP=8: 4 nodes, 8 GPUs per node",
        "PP=1, TP=4: 1 node, 4 GPUs",
        "PP=2, TP=1: 2 nodes, 1 GPU per node",
    ],
)
def test_compute_mp_node_and_gpus(
    pp: int, tp: int, nodes: int, worker_gpu: int, head_gpu: int
) -> None:
    assert compute_mp_node_and_gpus(pp, tp) == (nodes, worker_gpu, head_gpu)


def test_head_and_worker() -> None:
    obj = isvc(
        {
            "pipelineParallelSize": 2,
            "tensorParallelSize": 1,
            "containers": [{"name": "worker-container", "resources": GPU1}],
            "nodeSelector": {"gpu": "a100"},
        },
        model_resources=GPU1,
    )
    w = build_predictor(obj, CONFIG, select(obj, runtime()))
    assert w.meta.to_dict() == {
        "name": "llm-predictor",
        "namespace": "ns",
        "labels": {
            "team": "x",
            "serving.kserve.io/inferenceservice": "llm",
            "component": "predictor",
            "isvc.generation": "2",
        },
        "annotations": {
            "prometheus.kserve.io/port": "8080",
            "prometheus.kserve.io/path": "/metrics",
            "internal.serving.kserve.io/storage-initializer-sourceuri": "pvc://llama/model",
        },
    }
    assert w.worker_meta is not None and w.worker_meta.to_dict() == {
        "name": "llm-predictor-worker",
        "namespace": "ns",
        "labels": {
            "team": "x",
            "isvc.generation": "2",
            "serving.kserve.io/inferenceservice": "llm",
            "component": "predictor",
        },
        "annotations": {
            "internal.serving.kserve.io/storage-initializer-sourceuri": "pvc://llama/model"
        },
    }
    head = w.pod_spec.to_dict()
    assert [e["name"] for e in head["containers"][0]["env"]] == [
        "RAY_PORT",
        "POD_NAMESPACE",
        "POD_IP",
        "VLLM_CONFIG_ROOT",
        "HF_HUB_CACHE",
        "INFERENCE_SERVICE_NAME",
        "PIPELINE_PARALLEL_SIZE",
        "TENSOR_PARALLEL_SIZE",
        "RAY_NODE_COUNT",
        "REQUEST_GPU_COUNT",
        "MODEL_NAME",
        "MODEL_DIR",
    ]
    assert envs(head) == {
        "RAY_PORT": "6379",
        "POD_NAMESPACE": "<from>",
        "POD_IP": "<from>",
        "VLLM_CONFIG_ROOT": "/tmp",
        "HF_HUB_CACHE": "/tmp",
        "INFERENCE_SERVICE_NAME": "llm",
        "PIPELINE_PARALLEL_SIZE": "2",
        "TENSOR_PARALLEL_SIZE": "1",
        "RAY_NODE_COUNT": "2",
        "REQUEST_GPU_COUNT": "1",
        "MODEL_NAME": "llm",
        "MODEL_DIR": "/mnt/models",
    }
    assert head["volumes"] == [
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "3Gi"}}
    ]
    worker = w.worker_pod_spec.to_dict() if w.worker_pod_spec else {}
    assert worker["nodeSelector"] == {"gpu": "a100"}
    assert worker["volumes"] == [
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "3Gi"}}
    ]
    assert [c["name"] for c in worker["containers"]] == ["worker-container"]
    wc = worker["containers"][0]
    assert wc["resources"] == {
        "limits": {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "2", "memory": "6Gi", "nvidia.com/gpu": "1"},
    }
    assert wc["volumeMounts"] == [{"name": "shm", "mountPath": "/dev/shm"}]
    assert envs(worker) == {
        "POD_NAME": "<from>",
        "POD_NAMESPACE": "<from>",
        "RAY_NODE_COUNT": "2",
        "REQUEST_GPU_COUNT": "1",
        "PIPELINE_PARALLEL_SIZE": "2",
        "TENSOR_PARALLEL_SIZE": "1",
        "ISVC_NAME": "llm",
        "HEAD_SVC": "llm-head-2",
        "WORKER_SVC": "llm-workers-2",
    }


@pytest.mark.parametrize(
    ("worker", "model_resources", "annotations", "expected"),
    [
        # sizes from the runtime (1/1) when the InferenceService sets none; no GPUs: defaults
        (
            {},
            None,
            {},
            {
                "PIPELINE_PARALLEL_SIZE": "1",
                "TENSOR_PARALLEL_SIZE": "1",
                "RAY_NODE_COUNT": "1",
                "REQUEST_GPU_COUNT": "1",
            },
        ),
        # mp executor: nodes = PP, GPUs per node = TP
        (
            {"pipelineParallelSize": 3, "tensorParallelSize": 4},
            None,
            {"multinode/executor-backend": "mp"},
            {
                "PIPELINE_PARALLEL_SIZE": "3",
                "TENSOR_PARALLEL_SIZE": "4",
                "RAY_NODE_COUNT": "3",
                "REQUEST_GPU_COUNT": "4",
            },
        ),
        # ray: head takes the whole total when it alone can (head GPUs >= total)
        (
            {
                "pipelineParallelSize": 1,
                "tensorParallelSize": 2,
                "containers": [{"name": "worker-container", "resources": GPU1}],
            },
            {"requests": {"nvidia.com/gpu": "2"}},
            {},
            {
                "PIPELINE_PARALLEL_SIZE": "1",
                "TENSOR_PARALLEL_SIZE": "2",
                "RAY_NODE_COUNT": "1",
                "REQUEST_GPU_COUNT": "2",
            },
        ),
    ],
    ids=["defaults", "mp", "head-only"],
)
def test_sizes_and_gpu_math(
    worker: J, model_resources: J | None, annotations: J, expected: dict[str, str]
) -> None:
    obj = isvc(worker, model_resources=model_resources, storage="s3://b/m")
    rt = runtime(annotations={**MULTINODE["spec"]["annotations"], **annotations})
    w = build_predictor(obj, CONFIG, select(obj, rt))
    head = envs(w.pod_spec.to_dict())
    assert {k: head[k] for k in expected} == expected
    assert "MODEL_DIR" not in head  # only for pvc:// and oci:// models


def test_errors() -> None:
    obj = isvc({"pipelineParallelSize": 1, "tensorParallelSize": 2})
    with pytest.raises(ComponentError) as info:
        build_predictor(obj, CONFIG, select(obj, runtime(workerSpec={"containers": []})))
    assert (info.value.failure_reason, info.value.condition_reason) == (
        "InvalidPredictorSpec",
        "InvalidGPUAllocation",
    )
    assert (
        str(info.value) == "No workerSpec container configuration found in selected serving runtime"
    )

    rt = select(obj, runtime())
    plain = SelectedRuntime(
        name=rt.name, cluster_scoped=True, spec=rt.spec.model_copy(update={"worker_spec": None})
    )
    with pytest.raises(ComponentError) as info:
        build_predictor(obj, CONFIG, plain)
    assert info.value.condition_reason == "InvalidWorkerSpecNotSet"
    assert str(info.value) == (
        "you cannot set WorkerSpec in the InferenceService if the ServingRuntime does not have "
        "a WorkerSpec"
    )

    # ray: a total of 5 GPUs, 3 per worker -> 2 nodes; the head asks for 1: 1 + 3 < 5
    gpu3 = {"requests": {"nvidia.com/gpu": "3"}}
    bad = isvc(
        {
            "pipelineParallelSize": 1,
            "tensorParallelSize": 5,
            "containers": [{"name": "worker-container", "resources": gpu3}],
        },
        model_resources={"requests": {"nvidia.com/gpu": "1"}},
    )
    with pytest.raises(ComponentError) as info:
        build_predictor(bad, CONFIG, select(bad, runtime()))
    assert info.value.condition_reason == "InvalidGPUAllocation"
    assert str(info.value) == (
        "the total required number of GPUs(5) is less than the number of GPUs assigned to the "
        "head node(1) + worker node(3)"
    )


def test_storage_uris_reach_the_worker_pod() -> None:
    obj = InferenceService.model_validate(
        {
            "metadata": {"name": "llm", "namespace": "ns", "generation": 1},
            "spec": {
                "predictor": {
                    "model": {"modelFormat": {"name": "huggingface"}},
                    "storageUris": [{"uri": "pvc://weights", "mountPath": "/mnt/models"}],
                    "workerSpec": {},
                }
            },
        }
    )
    w = build_predictor(obj, CONFIG, select(obj, runtime()))
    for pod, container in (
        (w.pod_spec.to_dict(), "kserve-container"),
        (w.worker_pod_spec.to_dict() if w.worker_pod_spec else {}, "worker-container"),
    ):
        c = next(c for c in pod["containers"] if c["name"] == container)
        assert {"name": "mnt-models", "mountPath": "/mnt/models", "readOnly": True} in c[
            "volumeMounts"
        ]
        assert {"name": "mnt-models", "persistentVolumeClaim": {"claimName": "weights"}} in pod[
            "volumes"
        ]
