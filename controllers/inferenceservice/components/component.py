"""What every component builder shares (upstream ``components/component.go`` plus the
metadata helpers inlined in ``predictor.go``/``transformer.go``/``explainer.go``): the
:class:`ComponentWorkload` a builder returns, the typed :class:`ComponentError`, the
internal annotations (logger, batcher, storage spec, agent, confidential) and the
label/annotation union with the ``serviceAnnotationDisallowedList`` filter.

Pure: inputs are never modified; maps are fresh copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from lightkube.models import core_v1, meta_v1

from apis.serving.constants import (
    AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION,
    AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION,
    AGENT_MODEL_DIR_ANNOTATION,
    AGENT_SHOULD_INJECT_ANNOTATION,
    BATCHER_ANNOTATION,
    BATCHER_MAX_BATCH_SIZE_ANNOTATION,
    BATCHER_MAX_LATENCY_ANNOTATION,
    COMPONENT_LABEL,
    CONFIDENTIAL_ENABLED_ANNOTATION,
    CONFIDENTIAL_RESOURCE_ID_ANNOTATION,
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_NAME_ENV,
    INFERENCE_SERVICE_POD_LABEL,
    LOGGER_ANNOTATION,
    LOGGER_METADATA_ANNOTATIONS_ANNOTATION,
    LOGGER_METADATA_HEADERS_ANNOTATION,
    LOGGER_MODE_ANNOTATION,
    LOGGER_SINK_URL_ANNOTATION,
    MODEL_CONFIG_DIR,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    STORAGE_SPEC_ANNOTATION,
    STORAGE_SPEC_KEY_ANNOTATION,
    STORAGE_SPEC_PARAM_ANNOTATION,
    InferenceServiceComponent,
    model_config_name,
)
from apis.serving.v1alpha1.servingruntime_types import ServingRuntimeSpec
from apis.serving.v1beta1 import (
    Batcher,
    ComponentExtensionSpec,
    InferenceService,
    LoggerSpec,
    ModelStorageSpec,
    PredictorSpec,
    StorageSpec,
    StorageUri,
)
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_implementation import (
    get_confidential_spec,
    get_predictor_implementation,
    is_mms_predictor,
)
from apis.serving.v1beta1.predictor_runtime_selection import SelectedRuntime
from controllers.gojson import go_json
from controllers.storage.credentials.service_account_credentials import URI_SCHEME_PLACEHOLDER

__all__ = [
    "INFERENCE_SERVICE_NAME_ENV",
    "MODEL_CONFIG_DIR",
    "URI_SCHEME_PLACEHOLDER",
    "ComponentError",
    "ComponentPending",
    "ComponentWorkload",
    "add_agent_annotations",
    "add_batcher_annotations",
    "add_confidential_annotations",
    "add_logger_annotations",
    "add_storage_spec_annotations",
    "component_extension",
    "component_labels",
    "filter_disallowed",
    "isvc_annotations",
    "isvc_labels",
    "predictor_storage_spec",
    "union",
]



class ComponentError(ValueError):
    """A component cannot be built from the InferenceService as it is.

    ``str(error)`` is upstream's error text. ``failure_reason``/``failure_message``, when set,
    are the ``modelStatus.lastFailureInfo`` upstream writes (transition status InvalidSpec):
    ``InvalidPredictorSpec`` and friends. ``condition_reason``, when set, is the reason of the
    component's ``<Component>Ready`` False condition upstream writes, with ``str(error)`` as
    its message (multi-node: ``InvalidGPUAllocation``). Neither set: a plain reconcile error
    (upstream returns it; the reconcile emits ``InternalError``)."""

    def __init__(
        self,
        error: str,
        *,
        failure_reason: str | None = None,
        failure_message: str | None = None,
        condition_reason: str | None = None,
    ) -> None:
        super().__init__(error)
        self.failure_reason = failure_reason
        self.failure_message = failure_message
        self.condition_reason = condition_reason


@dataclass(frozen=True)
class ComponentWorkload:
    """The desired workload of one component, ready for the Standard-mode object builders
    (:func:`controllers.reconcilers.raw.build_raw_kube_objects` takes ``meta``,
    ``worker_meta``, ``extension``, ``pod_spec``, ``worker_pod_spec``) or a Knative Service.

    The storage initializer for ``storageUris`` is already injected into ``pod_spec`` (and
    ``worker_pod_spec``); a single ``storageUri`` is left to the pod mutator through the
    ``internal.serving.kserve.io/storage-initializer-sourceuri`` annotation, as upstream."""

    component: InferenceServiceComponent
    meta: meta_v1.ObjectMeta
    """Name (``<isvc>-predictor``, ``<isvc>-<predictor.name>-predictor``, ``<isvc>-transformer``,
    ``<isvc>-explainer``), namespace, labels and annotations of the component's objects and
    pod template. Without ``app: isvc.<name>``: the Deployment builder adds it."""
    extension: ComponentExtensionSpec
    """Replicas, scaling, timeout... (stable predictor: ``minReplicas`` already reduced by the
    ready canaries; canary: only ``minReplicas``)."""
    pod_spec: core_v1.PodSpec
    worker_meta: meta_v1.ObjectMeta | None = None
    """Multi-node: the ``<isvc>-predictor-worker`` Deployment's metadata."""
    worker_pod_spec: core_v1.PodSpec | None = None
    """Multi-node: the worker pods (``worker-container``)."""
    storage_uris: tuple[StorageUri, ...] = ()
    """The component's ``storageUris`` (already injected)."""
    storage_spec: StorageSpec | None = None
    """The predictor's ``storage`` spec (upstream passes it for every component's storage
    credentials)."""
    runtime: SelectedRuntime | None = None
    """Predictor with ``model``: the runtime it runs on."""
    protocol_version: str | None = None
    """Predictor: the resolved protocol (``model.protocolVersion`` after runtime defaults;
    the custom predictor's ``GetProtocol``)."""
    multi_model: bool = False
    """Predictor: a multi-model server (``IsMMSPredictor``): the reconcile keeps the
    ``modelconfig-<isvc>-0`` ConfigMap and the agent is injected."""
    canary_name: str | None = None
    """Set on a ``spec.canary[]`` predictor: that canary's ``predictor.name``."""
    isvc_labels: Mapping[str, str] | None = None
    """Predictor: the InferenceService labels after the runtime defaults (``modelClass``,
    ``serviceEnvelope``). Upstream writes them into the InferenceService object the later
    components read, so pass them to the transformer and explainer builders."""


class ComponentPending(Exception):
    """The component cannot be built yet (ModelMesh transformer without a predictor URL);
    requeue after ``requeue_after`` seconds."""

    def __init__(self, message: str, requeue_after: float) -> None:
        super().__init__(message)
        self.requeue_after = requeue_after


# ---------------------------------------------------------------------------------------------
# labels and annotations
# ---------------------------------------------------------------------------------------------


def filter_disallowed(
    annotations: Mapping[str, str] | None, disallowed: Iterable[str] | None
) -> dict[str, str]:
    """``utils.Filter(..., !Includes(disallowed, key))``: a copy without the disallowed keys."""
    banned = set(disallowed or ())
    return {k: v for k, v in (annotations or {}).items() if k not in banned}


def union(*maps: Mapping[str, str] | None) -> dict[str, str]:
    """``utils.Union``: later maps win."""
    out: dict[str, str] = {}
    for m in maps:
        out.update(m or {})
    return out


def isvc_labels(isvc: InferenceService) -> dict[str, str]:
    return dict((isvc.metadata.labels if isvc.metadata else None) or {})


def isvc_annotations(isvc: InferenceService) -> dict[str, str]:
    return dict((isvc.metadata.annotations if isvc.metadata else None) or {})


def component_labels(isvc_name: str, component: InferenceServiceComponent) -> dict[str, str]:
    """The labels every component object carries: ``serving.kserve.io/inferenceservice`` and
    ``component``."""
    return {INFERENCE_SERVICE_POD_LABEL: isvc_name, COMPONENT_LABEL: str(component)}


def disallowed_annotations(config: InferenceServiceConfig) -> list[str]:
    return list(config.inference_service.service_annotation_disallowed_list or [])


def add_logger_annotations(logger: LoggerSpec | None, annotations: dict[str, str]) -> None:
    """``addLoggerAnnotations`` (``logger-mode`` is written even when empty, as upstream)."""
    if logger is None:
        return
    annotations[LOGGER_ANNOTATION] = "true"
    if logger.url is not None:
        annotations[LOGGER_SINK_URL_ANNOTATION] = logger.url
    annotations[LOGGER_MODE_ANNOTATION] = logger.mode or ""
    if logger.metadata_headers is not None:
        annotations[LOGGER_METADATA_HEADERS_ANNOTATION] = ",".join(logger.metadata_headers)
    if logger.metadata_annotations is not None:
        annotations[LOGGER_METADATA_ANNOTATIONS_ANNOTATION] = ",".join(logger.metadata_annotations)


def add_batcher_annotations(batcher: Batcher | None, annotations: dict[str, str]) -> None:
    """``addBatcherAnnotations``."""
    if batcher is None:
        return
    annotations[BATCHER_ANNOTATION] = "true"
    if batcher.max_batch_size is not None:
        annotations[BATCHER_MAX_BATCH_SIZE_ANNOTATION] = str(batcher.max_batch_size)
    if batcher.max_latency is not None:
        annotations[BATCHER_MAX_LATENCY_ANNOTATION] = str(batcher.max_latency)


def add_storage_spec_annotations(
    storage: ModelStorageSpec | None, annotations: dict[str, str]
) -> bool:
    """``addStorageSpecAnnotations``: ``storage-spec: "true"``, the parameters as JSON, the
    key, and ``storage.path`` as ``<scheme-placeholder>://<path>`` source URI."""
    if storage is None:
        return False
    annotations[STORAGE_SPEC_ANNOTATION] = "true"
    if storage.parameters is not None:
        annotations[STORAGE_SPEC_PARAM_ANNOTATION] = go_json(dict(storage.parameters))
    if storage.storage_key is not None:
        annotations[STORAGE_SPEC_KEY_ANNOTATION] = storage.storage_key
    if storage.path is not None:
        annotations[STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION] = (
            f"{URI_SCHEME_PLACEHOLDER}://{storage.path.removeprefix('/')}"
        )
    return True


def add_agent_annotations(
    isvc_name: str, predictor: PredictorSpec, annotations: dict[str, str]
) -> bool:
    """``addAgentAnnotations``: for a multi-model predictor, inject the agent (puller) with the
    ``modelconfig-<isvc>-0`` ConfigMap (one shard, as upstream's memory strategy)."""
    if not is_mms_predictor(predictor):
        return False
    annotations[AGENT_SHOULD_INJECT_ANNOTATION] = "true"
    annotations[AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION] = model_config_name(isvc_name, 0)
    annotations[AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION] = MODEL_CONFIG_DIR
    annotations[AGENT_MODEL_DIR_ANNOTATION] = DEFAULT_MOUNT_PATH
    return True


def add_confidential_annotations(predictor: PredictorSpec, annotations: dict[str, str]) -> None:
    """``addConfidentialAnnotations``: for ``confidential.enabled``, the flag and the resource
    id the pod mutator turns into the storage initializer's env."""
    conf = get_confidential_spec(predictor)
    if conf is None or not conf.enabled:
        return
    annotations[CONFIDENTIAL_ENABLED_ANNOTATION] = "true"
    if conf.resource_id:
        annotations[CONFIDENTIAL_RESOURCE_ID_ANNOTATION] = conf.resource_id


def component_extension(component: ComponentExtensionSpec) -> ComponentExtensionSpec:
    """The ComponentExtensionSpec part of a component spec, as its own object."""
    return ComponentExtensionSpec.model_validate(
        {
            f.alias or n: getattr(component, n)
            for n, f in ComponentExtensionSpec.model_fields.items()
            if getattr(component, n) is not None
        }
    )


def predictor_storage_spec(predictor: PredictorSpec) -> StorageSpec | None:
    """The ``StorageSpec`` part of the predictor implementation's ``storage`` (upstream hands
    it to every component's storage initializer)."""
    impl = get_predictor_implementation(predictor)
    storage = impl.storage_spec() if impl is not None else None
    if storage is None:
        return None
    return StorageSpec.model_validate(storage.to_kube())


def runtime_pod_labels(spec: ServingRuntimeSpec | None) -> dict[str, str]:
    return dict((spec.labels if spec else None) or {})


def runtime_pod_annotations(spec: ServingRuntimeSpec | None) -> dict[str, str]:
    return dict((spec.annotations if spec else None) or {})


def object_meta(
    name: str, namespace: str | None, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> meta_v1.ObjectMeta:
    """A component ObjectMeta (empty maps as None, Go ``omitempty``)."""
    return meta_v1.ObjectMeta(
        name=name,
        namespace=namespace,
        labels=dict(labels) or None,
        annotations=dict(annotations) or None,
    )


_K = TypeVar("_K", core_v1.Container, core_v1.PodSpec, core_v1.Volume)


def load(cls: type[_K], obj: Mapping[str, Any]) -> _K:
    """A lightkube object from its JSON (camelCase) form."""
    return cast(_K, cls.from_dict(dict(obj)))


def to_container(obj: Mapping[str, Any]) -> core_v1.Container:
    return load(core_v1.Container, obj)


def to_pod_spec(obj: Mapping[str, Any]) -> core_v1.PodSpec:
    body = dict(obj)
    body.setdefault("containers", [])
    return load(core_v1.PodSpec, body)
