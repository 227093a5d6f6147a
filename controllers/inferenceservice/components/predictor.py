"""The predictor's workload (upstream ``components/predictor.go``: ``buildPredictorResources``,
``buildPodSpec``, ``buildObjectMeta``, ``reconcileWorker``/``multiNodeProcess``, the canary
loop; plus the ``storageUris`` injection ``reconcileRawDeployment`` hands to the raw
reconciler). kserve-behaviour.md §2.3, §2.6-§2.8.

Pure: the reconcile selects the runtime first
(:func:`apis.serving.v1beta1.predictor_runtime_selection.select_runtime`), passes what it
cached (ClusterStorageContainers, credentials) and applies the result. The spec changes
upstream makes while reconciling (runtime name, runtime defaults, protocol) shape the
workload and are never written back (Appendix quirk 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.constants import (
    INFERENCE_SERVICE_CONTAINER,
    INFERENCE_SERVICE_GENERATION_POD_LABEL,
    MESSAGE_INVALID_PLACEHOLDER,
    MESSAGE_NO_CONTAINER_FOUND,
    STORAGE_CONTAINER_NAME_ANNOTATION,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    TRANSFORMER_CONTAINER,
    DeploymentModeType,
    InferenceServiceComponent,
    predictor_service_name,
)
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer
from apis.serving.v1beta1 import (
    CanarySpec,
    ComponentExtensionSpec,
    ContainerFields,
    InferenceService,
    PredictorSpec,
)
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.inference_service_defaults import set_runtime_defaults
from apis.serving.v1beta1.predictor_implementation import get_predictor_implementation
from apis.serving.v1beta1.predictor_runtime_selection import (
    SelectedRuntime,
    server_type_for_image,
)
from runtime.strategic_merge import StrategicMergeError

from .canary import adjust_stable_min_replicas, canary_inference_service, canary_replica_count
from .component import (
    INFERENCE_SERVICE_NAME_ENV,
    ComponentError,
    ComponentWorkload,
    add_agent_annotations,
    add_batcher_annotations,
    add_confidential_annotations,
    add_logger_annotations,
    add_storage_spec_annotations,
    component_extension,
    component_labels,
    disallowed_annotations,
    filter_disallowed,
    isvc_annotations,
    object_meta,
    predictor_storage_spec,
    to_pod_spec,
    union,
)
from .multinode import multi_node_pod_specs, worker_object_meta
from .runtime_merge import (
    INVALID_PREDICTOR_SPEC,
    PlaceholderError,
    add_env_var,
    container_index,
    invalid_predictor_spec,
    merge_runtime_containers,
    merge_serving_runtime_and_isvc_specs,
    replace_placeholders,
    update_image_tag,
)
from .storage import (
    DEFAULT_KSERVE_NAMESPACE,
    CredentialInjector,
    inject_component_storage_uris,
    validate_storage_uri,
)

__all__ = [
    "build_canary_predictor",
    "build_predictor",
    "build_predictor_pod_spec",
]

JsonDict = dict[str, Any]

_CONTAINER_KEYS = tuple(f.alias or n for n, f in ContainerFields.model_fields.items())


def _render(container: JsonDict, meta: Mapping[str, Any], runtime_name: str) -> JsonDict:
    try:
        return replace_placeholders(container, meta)
    except PlaceholderError as err:
        message = MESSAGE_INVALID_PLACEHOLDER.format(runtime_name, container.get("name") or "")
        raise ComponentError(
            f"{message}: {err}",
            failure_reason=INVALID_PREDICTOR_SPEC,
            failure_message=message,
        ) from None


def build_predictor_pod_spec(
    runtime: SelectedRuntime,
    model: Mapping[str, Any],
    predictor_pod: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> JsonDict:
    """``buildPodSpec``: the predictor pod (JSON) of a ``model`` predictor on ``runtime``.

    ``model`` is the JSON of ``predictor.model`` after runtime defaults, ``predictor_pod`` the
    JSON of the predictor's pod fields, ``meta`` the InferenceService's metadata (JSON) for the
    placeholders. The runtime's ``kserve-container`` is strategic-merged with the model's
    container (args: runtime's then the model's) and its pod fields with the predictor's;
    placeholders are rendered; ``runtimeVersion``/GPU/vLLM-CPU image tags applied. Containers:
    ``kserve-container``, then ``transformer-container`` (runtime's merged with the
    predictor's, placeholders rendered), then the runtime's other containers, then the
    predictor's other containers. Raises :class:`ComponentError` (InvalidPredictorSpec)."""
    spec = runtime.spec
    if not spec.containers:
        raise invalid_predictor_spec(MESSAGE_NO_CONTAINER_FOUND)
    runtime_containers = [c.to_dict() for c in spec.containers]
    model_container = {k: model[k] for k in _CONTAINER_KEYS if k in model}
    container, pod = merge_serving_runtime_and_isvc_specs(
        runtime_containers, model_container, INFERENCE_SERVICE_CONTAINER, spec, dict(predictor_pod)
    )
    container = _render(container, meta, runtime.name)
    container = update_image_tag(
        container,
        model.get("runtimeVersion"),
        server_type_for_image(model.get("runtime") or runtime.name, runtime.annotations),
    )
    containers = [container]
    isvc_containers: list[JsonDict] = list(predictor_pod.get("containers") or [])
    in_runtime = container_index(runtime_containers, TRANSFORMER_CONTAINER)
    in_isvc = container_index(isvc_containers, TRANSFORMER_CONTAINER)
    transformer: JsonDict | None = None
    if in_runtime >= 0 and in_isvc >= 0:
        try:
            transformer = merge_runtime_containers(
                runtime_containers[in_runtime], isvc_containers[in_isvc]
            )
        except StrategicMergeError as err:
            raise ComponentError(f"failed to merge transformer container: {err}") from None
    elif in_runtime >= 0:
        transformer = runtime_containers[in_runtime]
    elif in_isvc >= 0:
        transformer = isvc_containers[in_isvc]
    if transformer is not None:
        containers.append(_render(transformer, meta, runtime.name))
    containers += [
        c
        for c in runtime_containers
        if c.get("name") not in (INFERENCE_SERVICE_CONTAINER, TRANSFORMER_CONTAINER)
    ]
    containers += [c for c in isvc_containers if c.get("name") != TRANSFORMER_CONTAINER]
    pod["containers"] = containers
    return pod


def _custom_pod_spec(predictor: PredictorSpec) -> JsonDict:
    """The predictor pod of a custom (or not yet converted framework) predictor: its pod
    fields with the implementation's container first (upstream overwrites ``containers[0]``
    with the ``kserve-container``)."""
    impl = get_predictor_implementation(predictor)
    if impl is None:
        raise ComponentError("the predictor has no implementation")
    container = impl.container()
    if container is None:
        raise ComponentError(f"the predictor has no container named {INFERENCE_SERVICE_CONTAINER}")
    pod = predictor.pod_spec().to_dict()
    containers = list(pod.get("containers") or [])
    if containers:
        containers[0] = container.to_dict()
    else:
        containers = [container.to_dict()]
    pod["containers"] = containers
    return pod


def build_predictor(
    isvc: InferenceService,
    config: InferenceServiceConfig,
    runtime: SelectedRuntime | None,
    deployment_mode: DeploymentModeType | str = DeploymentModeType.STANDARD,
    *,
    storage_containers: Sequence[ClusterStorageContainer] = (),
    credentials: CredentialInjector | None = None,
    ready_canaries: Mapping[str, bool] | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
    multi_node: bool | None = None,
    inject_storage: bool = True,
) -> ComponentWorkload:
    """The stable predictor's workload (``<isvc>-predictor`` or ``<isvc>-<name>-predictor``).

    ``runtime`` is required for a ``predictor.model`` (from ``select_runtime``; the runtime
    defaults of its server type are applied, its protocol resolved), ignored otherwise.
    ``storage_containers`` are the ClusterStorageContainers (storage URI validation and the
    ``storageUris`` init container); ``credentials`` adds storage credentials to that init
    container. ``ready_canaries`` (canary ``predictor.name`` -> ready; default: from
    ``status.canaryStatuses``) reduces ``minReplicas`` in Standard mode. ``multi_node``
    defaults to "``workerSpec`` is set". ``inject_storage=False`` leaves ``storageUris`` out
    (canaries, as upstream).

    Metadata: labels = runtime ``spec.labels`` < InferenceService labels (plus runtime
    defaults' ``modelClass``/``serviceEnvelope``) < predictor labels < component labels;
    annotations = runtime ``spec.annotations`` < InferenceService annotations < predictor
    annotations (all filtered by ``serviceAnnotationDisallowedList``) plus the internal ones:
    logger, batcher, storage spec, agent (multi-model), storage-initializer source URI (a
    single ``storageUri``), storage container name, confidential.

    Raises :class:`ComponentError`."""
    meta_in = isvc.metadata
    spec = isvc.spec
    if meta_in is None or spec is None:
        raise ComponentError("the InferenceService has no metadata or spec")
    name = meta_in.name or ""
    namespace = meta_in.namespace
    predictor = spec.predictor
    disallowed = disallowed_annotations(config)

    annotations = filter_disallowed(isvc_annotations(isvc), disallowed)
    add_logger_annotations(predictor.logger, annotations)
    add_batcher_annotations(predictor.batcher, annotations)
    impl = get_predictor_implementation(predictor)
    if impl is None:
        raise ComponentError("the predictor has no implementation (model, framework or containers)")
    add_storage_spec_annotations(impl.storage_spec(), annotations)
    multi_model = add_agent_annotations(name, predictor, annotations)
    source_uri = impl.storage_uri()
    if source_uri is not None:
        if STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION in annotations:
            raise ComponentError("must provide only one of storageUri and storage.path")
        annotations[STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION] = source_uri
        validate_storage_uri(source_uri, storage_containers)
        if predictor.storage_container_name:
            annotations[STORAGE_CONTAINER_NAME_ANNOTATION] = predictor.storage_container_name
    add_confidential_annotations(predictor, annotations)

    isvc_obj = isvc.to_kube()
    runtime_spec = None
    protocol: str | None
    if predictor.model is not None:
        if runtime is None:
            raise ComponentError("predictor.model needs a runtime: select_runtime() first")
        runtime_spec = runtime.spec
        isvc_obj["spec"]["predictor"]["model"]["runtime"] = runtime.name
        isvc_obj = set_runtime_defaults(isvc_obj, dict(runtime.annotations))
        model = isvc_obj["spec"]["predictor"]["model"]
        model.setdefault("protocolVersion", runtime.protocol_version)
        protocol = model["protocolVersion"]
        pod = build_predictor_pod_spec(
            runtime, model, predictor.pod_spec().to_dict(), isvc_obj.get("metadata") or {}
        )
    else:
        runtime = None
        protocol = impl.protocol()
        pod = _custom_pod_spec(predictor)
    for container in list(pod["containers"]):
        add_env_var(pod, container.get("name") or "", INFERENCE_SERVICE_NAME_ENV, name)

    labels_after_defaults = dict((isvc_obj.get("metadata") or {}).get("labels") or {})
    component = InferenceServiceComponent.PREDICTOR
    labels = union(
        runtime_spec.labels if runtime_spec else None,
        labels_after_defaults,
        predictor.labels,
        component_labels(name, component),
    )
    all_annotations = union(
        filter_disallowed(runtime_spec.annotations if runtime_spec else None, disallowed),
        annotations,
        filter_disallowed(predictor.annotations, disallowed),
    )
    component_name = predictor_service_name(name, predictor.name)

    worker_meta = None
    worker_pod: JsonDict | None = None
    enabled = predictor.worker_spec is not None if multi_node is None else multi_node
    if enabled and predictor.worker_spec is not None:
        generation = str(meta_in.generation or 0)
        pod, worker_pod = multi_node_pod_specs(
            name,
            predictor.worker_spec,
            config,
            runtime,
            pod,
            all_annotations,
            component_name,
            generation,
        )
        worker_meta = worker_object_meta(
            name,
            namespace,
            runtime,
            labels_after_defaults,
            predictor.labels,
            annotations,
            filter_disallowed(predictor.annotations, disallowed),
            generation,
        )
        labels[INFERENCE_SERVICE_GENERATION_POD_LABEL] = generation

    storage_spec = predictor_storage_spec(predictor)
    uris = tuple(predictor.storage_uris or ()) if inject_storage else ()
    pod = inject_component_storage_uris(
        pod,
        uris,
        predictor.storage_container_name,
        storage_containers=storage_containers,
        config=config.storage_initializer,
        annotations=all_annotations,
        namespace=namespace or "",
        storage_spec=storage_spec,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
    if worker_pod is not None and worker_meta is not None:
        worker_pod = inject_component_storage_uris(
            worker_pod,
            uris,
            predictor.storage_container_name,
            storage_containers=storage_containers,
            config=config.storage_initializer,
            annotations=worker_meta.annotations,
            namespace=namespace or "",
            storage_spec=storage_spec,
            credentials=credentials,
            kserve_namespace=kserve_namespace,
        )

    extension = component_extension(predictor)
    if str(deployment_mode) == DeploymentModeType.STANDARD and spec.canary:
        extension.min_replicas = adjust_stable_min_replicas(isvc, ready_canaries)
    return ComponentWorkload(
        component=component,
        meta=object_meta(component_name, namespace, labels, all_annotations),
        extension=extension,
        pod_spec=to_pod_spec(pod),
        worker_meta=worker_meta,
        worker_pod_spec=to_pod_spec(worker_pod) if worker_pod is not None else None,
        storage_uris=uris,
        storage_spec=storage_spec,
        runtime=runtime,
        protocol_version=protocol,
        multi_model=multi_model,
        isvc_labels=labels_after_defaults,
    )


def build_canary_predictor(
    isvc: InferenceService,
    canary: CanarySpec,
    config: InferenceServiceConfig,
    runtime: SelectedRuntime | None,
    deployment_mode: DeploymentModeType | str = DeploymentModeType.STANDARD,
    *,
    storage_containers: Sequence[ClusterStorageContainer] = (),
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> ComponentWorkload:
    """One ``spec.canary[]`` predictor (``<isvc>-<canary.predictor.name>-predictor``): the
    stable predictor with the canary merged over it (:func:`~.canary.canary_predictor_spec`),
    built like the stable one but single-node, without ``storageUris`` injection, and with an
    extension holding only ``minReplicas`` (:func:`~.canary.canary_replica_count`), as
    upstream. ``runtime``: ``select_runtime`` on :func:`~.canary.canary_inference_service`'s
    predictor with ``multi_node=False``."""
    canary_isvc = canary_inference_service(isvc, canary)
    built = build_predictor(
        canary_isvc,
        config,
        runtime,
        deployment_mode,
        storage_containers=storage_containers,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
        multi_node=False,
        inject_storage=False,
    )
    return ComponentWorkload(
        component=built.component,
        meta=built.meta,
        extension=ComponentExtensionSpec.model_validate(
            {"minReplicas": canary_replica_count(isvc, canary)}
        ),
        pod_spec=built.pod_spec,
        storage_spec=built.storage_spec,
        runtime=built.runtime,
        protocol_version=built.protocol_version,
        multi_model=built.multi_model,
        canary_name=canary.predictor.name,
        isvc_labels=built.isvc_labels,
    )
