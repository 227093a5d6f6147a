"""Multi-node (Ray / vLLM ``mp``) predictor helpers: names, environment and GPU math.

Upstream spreads these over ``pkg/constants`` (names), ``components/predictor.go``
(``multiNodeProcess``, ``computeRayNodeAndGPUs``, ``computeMpNodeAndGPUs``) and the
Deployment/Service reconcilers. Kept here, pure, so the predictor component computes the
head/worker pod specs with :func:`add_multi_node_env` and the Deployment builder reads the
env back (``RAY_NODE_COUNT`` -> worker replicas, ``REQUEST_GPU_COUNT`` -> GPU resources), as
upstream does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from lightkube.models import core_v1

from apis.serving.constants import (
    DEFAULT_GPU_RESOURCE_TYPES,
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_CONTAINER,
    WORKER_CONTAINER,
    WORKER_NODE_SUFFIX,
)
from apis.serving.v1beta1.configmap import MultiNodeConfig
from runtime.quantity import parse_quantity

from .utils import add_env_var_to_pod_spec

__all__ = [
    "DEFAULT_PIPELINE_PARALLEL_SIZE",
    "DEFAULT_TENSOR_PARALLEL_SIZE",
    "ERR_RAY_CLUSTER_INSUFFICIENT_GPUS",
    "MULTI_NODE_EXECUTOR_BACKEND_ANNOTATION",
    "MULTI_NODE_EXECUTOR_BACKEND_MP",
    "MULTI_NODE_HEAD",
    "MULTI_NODE_WORKER",
    "PIPELINE_PARALLEL_SIZE_ENV",
    "RAY_NODE_COUNT_ENV",
    "REQUEST_GPU_COUNT_ENV",
    "TENSOR_PARALLEL_SIZE_ENV",
    "WORKER_NODE_SUFFIX_PLURAL",
    "InsufficientGPUError",
    "add_multi_node_env",
    "compute_mp_node_and_gpus",
    "compute_ray_node_and_gpus",
    "get_gpu_resource_qty",
    "get_head_service_name",
    "get_raw_worker_service_label",
    "get_worker_service_name",
    "gpu_resource_types",
    "predictor_worker_service_name",
    "string_to_int32",
]

TENSOR_PARALLEL_SIZE_ENV = "TENSOR_PARALLEL_SIZE"
"""``constants.TensorParallelSizeEnvName``."""
PIPELINE_PARALLEL_SIZE_ENV = "PIPELINE_PARALLEL_SIZE"
"""``constants.PipelineParallelSizeEnvName``."""
RAY_NODE_COUNT_ENV = "RAY_NODE_COUNT"
"""``constants.RayNodeCountEnvName``: head + workers; the worker Deployment runs one less."""
REQUEST_GPU_COUNT_ENV = "REQUEST_GPU_COUNT"
"""``constants.RequestGPUCountEnvName``: GPUs of this node; written into its resources."""
DEFAULT_TENSOR_PARALLEL_SIZE = 1
DEFAULT_PIPELINE_PARALLEL_SIZE = 1
MULTI_NODE_EXECUTOR_BACKEND_ANNOTATION = "multinode/executor-backend"
"""``constants.MultiNodeExecutorBackendAnnotationKey`` (on the ServingRuntime); absent: ray."""
MULTI_NODE_EXECUTOR_BACKEND_MP = "mp"
MULTI_NODE_HEAD = "head"
"""Value of label ``multinode/role`` on the head headless Service."""
MULTI_NODE_WORKER = "worker"
"""Value of label ``multinode/role`` on the worker headless Service."""
WORKER_NODE_SUFFIX_PLURAL = "workers"
"""``constants.WorkerNodeSuffixPlural``."""

ERR_RAY_CLUSTER_INSUFFICIENT_GPUS = (
    "the total required number of GPUs({}) is less than the number of GPUs assigned to the "
    "head node({}) + worker node({})"
)
"""``components.ErrRayClusterInsufficientGPUs`` (the Go ``%d`` verbs as ``{}``)."""


class InsufficientGPUError(ValueError):
    """The head and worker GPUs cannot add up to the requested total (upstream's message,
    which the predictor surfaces as ``PredictorReady`` False ``InvalidGPUAllocation``)."""

    def __init__(self, total: int, head: int, workers: int) -> None:
        self.total = total
        self.head = head
        self.workers = workers
        super().__init__(ERR_RAY_CLUSTER_INSUFFICIENT_GPUS.format(total, head, workers))


def get_raw_worker_service_label(name: str) -> str:
    """``constants.GetRawWorkerServiceLabel``: ``isvc.<name>-worker``, the worker pods'
    ``app`` label."""
    return f"isvc.{name}-{WORKER_NODE_SUFFIX}"


def predictor_worker_service_name(isvc_name: str) -> str:
    """``constants.PredictorWorkerServiceName``: ``<isvc>-predictor-worker`` (the worker
    Deployment)."""
    return f"{isvc_name}-predictor-{WORKER_NODE_SUFFIX}"


def _trim_predictor(service: str) -> str:
    return service.removesuffix("-predictor")


def get_head_service_name(service: str, isvc_generation: str) -> str:
    """``constants.GetHeadServiceName``: ``<service minus -predictor>-head-<generation>``."""
    return f"{_trim_predictor(service)}-{MULTI_NODE_HEAD}-{isvc_generation}"


def get_worker_service_name(service: str, isvc_generation: str) -> str:
    """``constants.GetWorkerServiceName``: ``<service minus -predictor>-workers-<generation>``."""
    return f"{_trim_predictor(service)}-{WORKER_NODE_SUFFIX_PLURAL}-{isvc_generation}"


def gpu_resource_types(multi_node: MultiNodeConfig | None = None) -> list[str]:
    """The process-wide GPU resource names in upstream's order: the built-in list, then
    ``multiNode.customGPUResourceTypeList`` (``utils.UpdateGlobalGPUResourceTypeList``, run at
    manager start), without duplicates."""
    out = list(DEFAULT_GPU_RESOURCE_TYPES)
    for t in multi_node.custom_gpu_resource_type_list if multi_node else ():
        if t not in out:
            out.append(t)
    return out


_INT_RE = re.compile(r"[+-]?[0-9]+")


def string_to_int32(value: str) -> int:
    """``utils.StringToInt32`` (``strconv.ParseInt(s, 10, 32)``): a signed decimal integer in
    int32 range, nothing else (no spaces, no ``_``). Raises ``ValueError``."""
    if _INT_RE.fullmatch(value) is None:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
    n = int(value)
    if not -(2**31) <= n < 2**31:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": value out of range')
    return n


def get_gpu_resource_qty(
    resources: core_v1.ResourceRequirements | None,
    types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> tuple[str, int] | None:
    """``utils.GetGPUResourceQtyByType(..., "Request")`` then ``Quantity.Value()``: the first
    GPU resource (one of ``types``) in ``requests`` and its count rounded up, or None."""
    for name, qty in ((resources.requests if resources else None) or {}).items():
        if name in types:
            return name, math.ceil(parse_quantity(qty))
    return None


def _gpu_count(pod_spec: core_v1.PodSpec, types: Sequence[str]) -> int:
    containers = pod_spec.containers or []
    found = get_gpu_resource_qty(containers[0].resources, types) if containers else None
    return found[1] if found else 0


def compute_ray_node_and_gpus(
    worker_pod_spec: core_v1.PodSpec,
    total_request_gpu_count: int,
    head_pod_spec: core_v1.PodSpec,
    types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> tuple[int, int, int]:
    """``computeRayNodeAndGPUs``: ``(ray_node_count, worker_node_gpus, head_node_gpus)`` for
    the ray executor, from the GPU requests of the first container of each pod spec.

    Worker GPUs set: nodes = ceil(total / worker GPUs), the head takes the remainder unless it
    sets its own; a head that alone covers the total (or a single node) runs alone with the
    total. Only head GPUs set: single-GPU workers for the rest. None set: ``(total, 1, 1)``.
    Raises :class:`InsufficientGPUError` when head + workers fall short of the total."""

    def nodes(total: int, per_node: int) -> int:
        return 1 if per_node == 0 else math.ceil(total / per_node)

    def check(ray_nodes: int, head: int, worker: int) -> None:
        if total_request_gpu_count > head + worker * (ray_nodes - 1):
            raise InsufficientGPUError(total_request_gpu_count, head, worker * (ray_nodes - 1))

    head = _gpu_count(head_pod_spec, types)
    worker = _gpu_count(worker_pod_spec, types)
    if worker > 0:
        ray_nodes = nodes(total_request_gpu_count, worker)
        remainder = total_request_gpu_count - worker * (ray_nodes - 1)
        if head > 0:
            if nodes(total_request_gpu_count, head) == 1:
                ray_nodes = 1
        elif head == 0:
            head = remainder
        if ray_nodes == 1:
            worker = 0
            head = total_request_gpu_count
        check(ray_nodes, head, worker)
        return ray_nodes, worker, head
    if head > 0:
        remaining = total_request_gpu_count - head
        ray_nodes = 1
        worker = 1
        if remaining > 0:
            ray_nodes = nodes(remaining, worker) + 1
        check(ray_nodes, head, worker)
        return ray_nodes, worker, head
    return total_request_gpu_count, 1, 1


def compute_mp_node_and_gpus(
    pipeline_parallel_size: int, tensor_parallel_size: int
) -> tuple[int, int, int]:
    """``computeMpNodeAndGPUs``: for the ``mp`` executor, one node per pipeline stage and
    ``tensor_parallel_size`` GPUs on each: ``(nodes, worker GPUs, head GPUs)``."""
    return pipeline_parallel_size, tensor_parallel_size, tensor_parallel_size


def add_multi_node_env(
    head_pod_spec: core_v1.PodSpec,
    worker_pod_spec: core_v1.PodSpec,
    *,
    isvc_name: str,
    predictor_service_name: str,
    isvc_generation: str,
    pipeline_parallel_size: int | None = None,
    tensor_parallel_size: int | None = None,
    executor_backend: str | None = None,
    storage_uri: str | None = None,
    types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> tuple[core_v1.PodSpec, core_v1.PodSpec]:
    """The environment half of ``multiNodeProcess``: copies of the head pod spec (its
    ``kserve-container``) and of the merged worker pod spec (its ``worker-container``, first
    container) with the multi-node env upstream sets, in upstream's order.

    Head: PIPELINE_PARALLEL_SIZE, TENSOR_PARALLEL_SIZE, RAY_NODE_COUNT, REQUEST_GPU_COUNT (head
    GPUs), MODEL_NAME=<isvc>, and MODEL_DIR=/mnt/models when ``storage_uri`` (the
    ``storage-initializer-sourceuri`` annotation) is ``pvc://`` or ``oci://``. Worker:
    RAY_NODE_COUNT, REQUEST_GPU_COUNT (worker GPUs), PIPELINE_PARALLEL_SIZE,
    TENSOR_PARALLEL_SIZE, ISVC_NAME, HEAD_SVC (head service of ``isvc_name``), WORKER_SVC
    (worker service of ``predictor_service_name``).

    ``pipeline_parallel_size``/``tensor_parallel_size`` are the resolved sizes (InferenceService
    workerSpec over ServingRuntime workerSpec; None: 1). Node count and GPUs come from
    :func:`compute_mp_node_and_gpus` for executor backend ``mp``, else
    :func:`compute_ray_node_and_gpus` (may raise :class:`InsufficientGPUError`).
    Raises :class:`~controllers.reconcilers.utils.ContainerNotFoundError` when either
    container is missing.
    """
    pp = (
        DEFAULT_PIPELINE_PARALLEL_SIZE if pipeline_parallel_size is None else pipeline_parallel_size
    )
    tp = DEFAULT_TENSOR_PARALLEL_SIZE if tensor_parallel_size is None else tensor_parallel_size
    if executor_backend == MULTI_NODE_EXECUTOR_BACKEND_MP:
        node_count, worker_gpus, head_gpus = compute_mp_node_and_gpus(pp, tp)
    else:
        node_count, worker_gpus, head_gpus = compute_ray_node_and_gpus(
            worker_pod_spec, tp * pp, head_pod_spec, types
        )

    head = head_pod_spec
    for name, value in (
        (PIPELINE_PARALLEL_SIZE_ENV, str(pp)),
        (TENSOR_PARALLEL_SIZE_ENV, str(tp)),
        (RAY_NODE_COUNT_ENV, str(node_count)),
        (REQUEST_GPU_COUNT_ENV, str(head_gpus)),
        ("MODEL_NAME", isvc_name),
    ):
        head = add_env_var_to_pod_spec(head, INFERENCE_SERVICE_CONTAINER, name, value)
    protocol = (storage_uri or "").split("://")[0]
    if protocol in ("pvc", "oci"):
        head = add_env_var_to_pod_spec(
            head, INFERENCE_SERVICE_CONTAINER, "MODEL_DIR", DEFAULT_MOUNT_PATH
        )

    worker = worker_pod_spec
    for name, value in (
        (RAY_NODE_COUNT_ENV, str(node_count)),
        (REQUEST_GPU_COUNT_ENV, str(worker_gpus)),
        (PIPELINE_PARALLEL_SIZE_ENV, str(pp)),
        (TENSOR_PARALLEL_SIZE_ENV, str(tp)),
        ("ISVC_NAME", isvc_name),
        ("HEAD_SVC", get_head_service_name(isvc_name, isvc_generation)),
        ("WORKER_SVC", get_worker_service_name(predictor_service_name, isvc_generation)),
    ):
        worker = add_env_var_to_pod_spec(worker, WORKER_CONTAINER, name, value)
    return head, worker
