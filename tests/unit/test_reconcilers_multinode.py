"""controllers.reconcilers.multinode: multi-node names, env and GPU math.

The GPU vectors are upstream's envtest cases (``rawkube_controller_test.go``, "When creating
inference service with raw kube predictor with workerSpec": RAY_NODE_COUNT, head/worker GPU
counts, worker replicas, the insufficient-GPU message) and ``components/predictor_test.go``
TestComputeMpNodeAndGPUs.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import core_v1, meta_v1

from apis.serving.v1beta1.configmap import MultiNodeConfig
from controllers.reconcilers.deployment import create_raw_deployment
from controllers.reconcilers.multinode import (
    InsufficientGPUError,
    add_multi_node_env,
    compute_mp_node_and_gpus,
    compute_ray_node_and_gpus,
    get_head_service_name,
    get_raw_worker_service_label,
    get_worker_service_name,
    gpu_resource_types,
    predictor_worker_service_name,
    string_to_int32,
)
from controllers.reconcilers.utils import ContainerNotFoundError


def pod(container: str, gpus: dict[str, str] | None = None, **extra: Any) -> core_v1.PodSpec:
    c: dict[str, Any] = {"name": container, **extra}
    if gpus:
        c["resources"] = {"limits": dict(gpus), "requests": dict(gpus)}
    return cast(core_v1.PodSpec, core_v1.PodSpec.from_dict({"containers": [c]}))


INTEL = "intel.com/gpu"


def _meta(name: str) -> meta_v1.ObjectMeta:
    return meta_v1.ObjectMeta(name=name, namespace="ns", labels={"isvc.generation": "1"})


@pytest.mark.parametrize(
    ("tp", "pp", "head", "worker", "expected"),
    [
        pytest.param(1, 2, None, None, (2, 1, 1), id="no GPUs set: one GPU per node"),
        pytest.param(1, 5, None, None, (5, 1, 1), id="pipelineParallelSize 5"),
        pytest.param(16, 2, None, None, (32, 1, 1), id="tensorParallelSize 16"),
        pytest.param(4, 2, "2", None, (7, 1, 2), id="head GPUs: single-GPU workers"),
        pytest.param(4, 2, None, "2", (4, 2, 2), id="worker GPUs: head takes the remainder"),
        pytest.param(4, 2, "8", "2", (1, 0, 8), id="head covers the total: head only"),
        pytest.param(4, 2, "2", "8", (1, 0, 8), id="one worker covers the total: head only"),
        pytest.param(16, 2, "4", "3", (11, 3, 4), id="more GPUs than required is fine"),
        pytest.param(4, 1, None, "1.5", (2, 2, 2), id="quantities round up"),
    ],
)
def test_compute_ray_node_and_gpus(
    tp: int, pp: int, head: str | None, worker: str | None, expected: tuple[int, int, int]
) -> None:
    got = compute_ray_node_and_gpus(
        pod("worker-container", {INTEL: worker} if worker else None),
        tp * pp,
        pod("kserve-container", {INTEL: head} if head else None),
    )
    assert got == expected


def test_insufficient_gpus() -> None:
    with pytest.raises(InsufficientGPUError) as err:
        compute_ray_node_and_gpus(
            pod("worker-container", {INTEL: "4"}), 7, pod("kserve-container", {INTEL: "2"})
        )
    assert str(err.value) == (
        "the total required number of GPUs(7) is less than the number of GPUs assigned to the "
        "head node(2) + worker node(4)"
    )
    assert (err.value.total, err.value.head, err.value.workers) == (7, 2, 4)


def test_only_known_gpu_types_count() -> None:
    worker = pod("worker-container", {"example.com/tpu": "4"})
    assert compute_ray_node_and_gpus(worker, 8, pod("kserve-container")) == (8, 1, 1)
    types = gpu_resource_types(MultiNodeConfig(customGPUResourceTypeList=["example.com/tpu"]))
    assert compute_ray_node_and_gpus(worker, 8, pod("kserve-container"), types) == (2, 4, 4)


@pytest.mark.parametrize(
    ("pp", "tp", "expected"),
    [(2, 2, (2, 2, 2)), (4, 8, (4, 8, 8)), (1, 4, (1, 4, 4)), (2, 1, (2, 1, 1))],
)
def test_compute_mp_node_and_gpus(pp: int, tp: int, expected: tuple[int, int, int]) -> None:
    assert compute_mp_node_and_gpus(pp, tp) == expected


def _env(spec: core_v1.PodSpec) -> list[dict[str, Any]]:
    return [e.to_dict() for e in (spec.containers[0].env or [])]


@pytest.mark.parametrize(
    ("kwargs", "head_env", "worker_env"),
    [
        pytest.param(
            {"pipeline_parallel_size": 2, "tensor_parallel_size": 1},
            {"RAY_NODE_COUNT": "2", "REQUEST_GPU_COUNT": "1"},
            {"RAY_NODE_COUNT": "2", "REQUEST_GPU_COUNT": "1"},
            id="ray, runtime sizes",
        ),
        pytest.param(
            {"pipeline_parallel_size": 2, "tensor_parallel_size": 4, "executor_backend": "mp"},
            {"RAY_NODE_COUNT": "2", "REQUEST_GPU_COUNT": "4"},
            {"RAY_NODE_COUNT": "2", "REQUEST_GPU_COUNT": "4"},
            id="mp executor",
        ),
        pytest.param(
            {},
            {"RAY_NODE_COUNT": "1", "REQUEST_GPU_COUNT": "1"},
            {"RAY_NODE_COUNT": "1", "REQUEST_GPU_COUNT": "1"},
            id="sizes default to 1",
        ),
    ],
)
def test_add_multi_node_env(
    kwargs: dict[str, Any], head_env: dict[str, str], worker_env: dict[str, str]
) -> None:
    head_in = pod("kserve-container", env=[{"name": "MODEL_NAME", "value": "old"}])
    worker_in = pod("worker-container")
    head, worker = add_multi_node_env(
        head_in,
        worker_in,
        isvc_name="llama",
        predictor_service_name="llama-predictor",
        isvc_generation="3",
        storage_uri="hf://meta/llama",
        **kwargs,
    )
    pp = str(kwargs.get("pipeline_parallel_size", 1))
    tp = str(kwargs.get("tensor_parallel_size", 1))
    assert _env(head) == [
        {"name": "MODEL_NAME", "value": "llama"},
        {"name": "PIPELINE_PARALLEL_SIZE", "value": pp},
        {"name": "TENSOR_PARALLEL_SIZE", "value": tp},
        {"name": "RAY_NODE_COUNT", "value": head_env["RAY_NODE_COUNT"]},
        {"name": "REQUEST_GPU_COUNT", "value": head_env["REQUEST_GPU_COUNT"]},
    ]
    assert _env(worker) == [
        {"name": "RAY_NODE_COUNT", "value": worker_env["RAY_NODE_COUNT"]},
        {"name": "REQUEST_GPU_COUNT", "value": worker_env["REQUEST_GPU_COUNT"]},
        {"name": "PIPELINE_PARALLEL_SIZE", "value": pp},
        {"name": "TENSOR_PARALLEL_SIZE", "value": tp},
        {"name": "ISVC_NAME", "value": "llama"},
        {"name": "HEAD_SVC", "value": "llama-head-3"},
        {"name": "WORKER_SVC", "value": "llama-workers-3"},
    ]
    # inputs untouched
    assert _env(head_in) == [{"name": "MODEL_NAME", "value": "old"}]
    assert worker_in.containers[0].env is None


@pytest.mark.parametrize(
    ("uri", "model_dir"),
    [
        ("pvc://llama-3-8b-pvc/hf/8b_instruction_tuned", True),
        ("oci://registry/model:1", True),
        ("s3://bucket/model", False),
        (None, False),
    ],
)
def test_model_dir_only_for_pvc_and_oci(uri: str | None, model_dir: bool) -> None:
    head, _ = add_multi_node_env(
        pod("kserve-container"),
        pod("worker-container"),
        isvc_name="m",
        predictor_service_name="m-predictor",
        isvc_generation="1",
        storage_uri=uri,
    )
    assert ({"name": "MODEL_DIR", "value": "/mnt/models"} in _env(head)) is model_dir


def test_add_multi_node_env_errors() -> None:
    with pytest.raises(ContainerNotFoundError, match=r"target container\(kserve-container\)"):
        add_multi_node_env(
            pod("other"),
            pod("worker-container"),
            isvc_name="m",
            predictor_service_name="m-predictor",
            isvc_generation="1",
        )
    with pytest.raises(InsufficientGPUError):
        add_multi_node_env(
            pod("kserve-container", {INTEL: "2"}),
            pod("worker-container", {INTEL: "4"}),
            isvc_name="m",
            predictor_service_name="m-predictor",
            isvc_generation="1",
            tensor_parallel_size=7,
        )


def test_env_feeds_the_deployment_builder() -> None:
    """The head/worker env from add_multi_node_env sets worker replicas and GPU resources
    (upstream envtest: head 2 intel GPUs, TP 4, PP 2 -> 7 nodes, worker 1 nvidia GPU)."""
    head, worker = add_multi_node_env(
        pod("kserve-container", {INTEL: "2"}),
        pod("worker-container"),
        isvc_name="m",
        predictor_service_name="m-predictor",
        isvc_generation="1",
        pipeline_parallel_size=2,
        tensor_parallel_size=4,
    )
    deployments = create_raw_deployment(
        _meta("m-predictor"),
        _meta("m-predictor-worker"),
        None,
        head,
        worker,
        None,
    )
    resources = [
        d.to_dict()["spec"]["template"]["spec"]["containers"][0]["resources"] for d in deployments
    ]
    assert resources == [
        {"limits": {INTEL: "2"}, "requests": {INTEL: "2"}},
        {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}},
    ]
    assert deployments[1].spec is not None and deployments[1].spec.replicas == 6


def test_names() -> None:
    assert get_head_service_name("llama-predictor", "2") == "llama-head-2"
    assert get_worker_service_name("llama-predictor", "2") == "llama-workers-2"
    assert get_worker_service_name("llama-x-predictor", "2") == "llama-x-workers-2"
    assert get_head_service_name("llama", "2") == "llama-head-2"
    assert get_raw_worker_service_label("llama-predictor") == "isvc.llama-predictor-worker"
    assert predictor_worker_service_name("llama") == "llama-predictor-worker"


def test_gpu_resource_types_order() -> None:
    assert gpu_resource_types(None) == [
        "nvidia.com/gpu",
        "amd.com/gpu",
        "intel.com/gpu",
        "habana.ai/gaudi",
    ]
    cfg = MultiNodeConfig(customGPUResourceTypeList=["a.com/gpu", "nvidia.com/gpu"])
    assert gpu_resource_types(cfg)[-1] == "a.com/gpu"
    assert len(gpu_resource_types(cfg)) == 5


@pytest.mark.parametrize(
    ("text", "value"), [("3", 3), ("+4", 4), ("-1", -1), ("2147483647", 2147483647)]
)
def test_string_to_int32(text: str, value: int) -> None:
    assert string_to_int32(text) == value


@pytest.mark.parametrize("text", ["", " 3", "1_000", "3.0", "2147483648", "x"])
def test_string_to_int32_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"^strconv\.ParseInt"):
        string_to_int32(text)
