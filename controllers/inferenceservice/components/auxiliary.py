"""What the transformer and the explainer builders share (upstream repeats it in
``components/transformer.go`` and ``components/explainer.go``): the workload's labels and
annotations, and the ``storageUris`` injection and :class:`~.component.ComponentWorkload`
around the pod each builds. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.constants import (
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    InferenceServiceComponent,
)
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer
from apis.serving.v1beta1 import ExplainerSpec, InferenceService, TransformerSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig

from .component import (
    ComponentWorkload,
    add_batcher_annotations,
    add_logger_annotations,
    component_extension,
    component_labels,
    disallowed_annotations,
    filter_disallowed,
    isvc_annotations,
    isvc_labels,
    object_meta,
    predictor_storage_spec,
    to_pod_spec,
    union,
)
from .storage import (
    DEFAULT_KSERVE_NAMESPACE,
    CredentialInjector,
    inject_component_storage_uris,
    validate_storage_uri,
)

__all__ = ["auxiliary_metadata", "auxiliary_workload"]

AuxiliarySpec = ExplainerSpec | TransformerSpec


def auxiliary_metadata(
    isvc: InferenceService,
    config: InferenceServiceConfig,
    component: InferenceServiceComponent,
    spec: AuxiliarySpec,
    *,
    source_uri: str | None,
    with_batcher: bool,
    isvc_labels_override: Mapping[str, str] | None,
    storage_containers: Sequence[ClusterStorageContainer],
) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of the component's workload. Labels = InferenceService labels
    (``isvc_labels_override``: the predictor's
    :attr:`~.component.ComponentWorkload.isvc_labels`, as upstream's predictor mutates the
    object first) < component spec labels < component labels; annotations = filtered
    InferenceService annotations + storage-initializer source URI (validated against
    ``storage_containers``) + logger (+ batcher when ``with_batcher``: upstream's explainer
    does not add it) < filtered component spec annotations."""
    name = (isvc.metadata.name if isvc.metadata is not None else None) or ""
    disallowed = disallowed_annotations(config)
    annotations = filter_disallowed(isvc_annotations(isvc), disallowed)
    if source_uri is not None:
        annotations[STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION] = source_uri
        validate_storage_uri(source_uri, storage_containers)
    add_logger_annotations(spec.logger, annotations)
    if with_batcher:
        add_batcher_annotations(spec.batcher, annotations)
    labels = union(
        isvc_labels(isvc) if isvc_labels_override is None else isvc_labels_override,
        spec.labels,
        component_labels(name, component),
    )
    return labels, union(annotations, filter_disallowed(spec.annotations, disallowed))


def auxiliary_workload(
    isvc: InferenceService,
    config: InferenceServiceConfig,
    component: InferenceServiceComponent,
    spec: AuxiliarySpec,
    pod: Mapping[str, Any],
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    protocol_version: str,
    storage_containers: Sequence[ClusterStorageContainer],
    credentials: CredentialInjector | None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> ComponentWorkload:
    """The ``<isvc>-<component>`` workload running ``pod`` (JSON) with the spec's
    ``storageUris`` injected (storage spec from the predictor)."""
    meta_in = isvc.metadata
    name = (meta_in.name if meta_in is not None else None) or ""
    namespace = meta_in.namespace if meta_in is not None else None
    storage_spec = predictor_storage_spec(isvc.spec.predictor) if isvc.spec else None
    uris = tuple(spec.storage_uris or ())
    pod = inject_component_storage_uris(
        pod,
        uris,
        None,
        storage_containers=storage_containers,
        config=config.storage_initializer,
        annotations=annotations,
        namespace=namespace or "",
        storage_spec=storage_spec,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
    return ComponentWorkload(
        component=component,
        meta=object_meta(f"{name}-{component.value}", namespace, dict(labels), dict(annotations)),
        extension=component_extension(spec),
        pod_spec=to_pod_spec(pod),
        storage_uris=uris,
        storage_spec=storage_spec,
        protocol_version=protocol_version,
    )
