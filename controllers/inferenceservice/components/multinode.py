"""The multi-node predictor (upstream ``components/predictor.go``: ``reconcileWorker``,
``multiNodeProcess``): the worker pod (the ServingRuntime's ``workerSpec`` merged with the
InferenceService's), its metadata, and the multi-node env on head and worker. The node and GPU
math and the env names are shared with the Deployment builder
(:mod:`controllers.reconcilers.multinode`). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from lightkube.models import meta_v1

from apis.serving.constants import (
    INFERENCE_SERVICE_GENERATION_POD_LABEL,
    MESSAGE_NO_WORKER_CONTAINER,
    MESSAGE_WORKER_SPEC_NOT_SET,
    REASON_INVALID_GPU_ALLOCATION,
    REASON_INVALID_WORKER_SPEC_NOT_SET,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    WORKER_CONTAINER,
    InferenceServiceComponent,
)
from apis.serving.v1beta1 import WorkerSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_runtime_selection import SelectedRuntime
from controllers.reconcilers.multinode import (
    MULTI_NODE_EXECUTOR_BACKEND_ANNOTATION,
    InsufficientGPUError,
    add_multi_node_env,
    gpu_resource_types,
    predictor_worker_service_name,
)
from controllers.reconcilers.utils import ContainerNotFoundError

from .component import ComponentError, component_labels, object_meta, to_pod_spec, union
from .runtime_merge import JsonDict, invalid_predictor_spec, merge_serving_runtime_and_isvc_specs

__all__ = ["multi_node_pod_specs", "worker_object_meta"]


def worker_object_meta(
    isvc_name: str,
    namespace: str | None,
    runtime: SelectedRuntime | None,
    isvc_labels: Mapping[str, str],
    predictor_labels: Mapping[str, str] | None,
    annotations: Mapping[str, str],
    predictor_annotations: Mapping[str, str],
    generation: str,
) -> meta_v1.ObjectMeta:
    """``reconcileWorker``'s ObjectMeta of ``<isvc>-predictor-worker``: labels = runtime
    workerSpec labels < InferenceService labels < predictor labels < generation and component
    labels; annotations = runtime workerSpec annotations < the component's own (filtered
    InferenceService annotations + internal ones) < predictor annotations (filtered)."""
    rt_worker = runtime.spec.worker_spec if runtime is not None else None
    return object_meta(
        predictor_worker_service_name(isvc_name),
        namespace,
        union(
            rt_worker.labels if rt_worker else None,
            isvc_labels,
            predictor_labels,
            {
                INFERENCE_SERVICE_GENERATION_POD_LABEL: generation,
                **component_labels(isvc_name, InferenceServiceComponent.PREDICTOR),
            },
        ),
        union(rt_worker.annotations if rt_worker else None, annotations, predictor_annotations),
    )


def multi_node_pod_specs(
    isvc_name: str,
    worker: WorkerSpec,
    config: InferenceServiceConfig,
    runtime: SelectedRuntime | None,
    pod: JsonDict,
    annotations: Mapping[str, str],
    component_name: str,
    generation: str,
) -> tuple[JsonDict, JsonDict]:
    """``multiNodeProcess``: the head pod with the multi-node env and the worker pod
    (``worker-container`` of the runtime's workerSpec merged with the predictor's)."""
    rt_worker = runtime.spec.worker_spec if runtime is not None else None
    if runtime is None or rt_worker is None:
        raise ComponentError(
            MESSAGE_WORKER_SPEC_NOT_SET, condition_reason=REASON_INVALID_WORKER_SPEC_NOT_SET
        )
    if not rt_worker.containers:
        raise invalid_predictor_spec(
            MESSAGE_NO_WORKER_CONTAINER, condition_reason=REASON_INVALID_GPU_ALLOCATION
        )
    pp = worker.pipeline_parallel_size
    if pp is None:
        pp = rt_worker.pipeline_parallel_size
    tp = worker.tensor_parallel_size
    if tp is None:
        tp = rt_worker.tensor_parallel_size
    worker_pod_json = worker.pod_spec().to_dict()
    worker_containers = worker_pod_json.get("containers") or []
    container, worker_pod = merge_serving_runtime_and_isvc_specs(
        [c.to_dict() for c in rt_worker.containers],
        worker_containers[0] if worker_containers else {},
        WORKER_CONTAINER,
        rt_worker,
        worker_pod_json,
        condition_reason=REASON_INVALID_GPU_ALLOCATION,
    )
    worker_pod["containers"] = [container]
    try:
        head, workers = add_multi_node_env(
            to_pod_spec(pod),
            to_pod_spec(worker_pod),
            isvc_name=isvc_name,
            predictor_service_name=component_name,
            isvc_generation=generation,
            pipeline_parallel_size=pp,
            tensor_parallel_size=tp,
            executor_backend=(runtime.spec.annotations or {}).get(
                MULTI_NODE_EXECUTOR_BACKEND_ANNOTATION
            ),
            storage_uri=annotations.get(STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION),
            types=gpu_resource_types(config.multi_node),
        )
    except InsufficientGPUError as err:
        raise ComponentError(str(err), condition_reason=REASON_INVALID_GPU_ALLOCATION) from None
    except ContainerNotFoundError as err:
        raise ComponentError(str(err), condition_reason=REASON_INVALID_GPU_ALLOCATION) from None
    return head.to_dict(), workers.to_dict()
