"""The explainer's workload (upstream ``components/explainer.go``,
``v1beta1/explainer_art.go`` and ``explainer_custom.go`` ``GetContainer``): ``<isvc>-explainer``
running the ART explainer (image and version from the ``explainers`` config) or a custom
container, pointed at the predictor. Pure.

Kept from upstream on purpose (drop-in): the ART container's own ``args`` appear twice
(``GetContainer`` appends them to the generated args, then prepends those again), a custom
explainer always gets ``--http_port 8080`` appended, and no ``INFERENCE_SERVICE_NAME`` env is
set (upstream's explainer does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.constants import (
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_CONTAINER,
    INFERENCE_SERVICE_DEFAULT_HTTP_PORT,
    DeploymentModeType,
    InferenceServiceComponent,
    predictor_service_name,
)
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer
from apis.serving.v1beta1 import (
    ARTExplainerSpec,
    ComponentExtensionSpec,
    ExplainerSpec,
    InferenceService,
)
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_implementation import PROTOCOL_V1, STORAGE_URI_ENV

from .auxiliary import auxiliary_metadata, auxiliary_workload
from .component import ComponentError, ComponentWorkload
from .storage import DEFAULT_KSERVE_NAMESPACE, CredentialInjector
from .transformer import (
    ARG_HTTP_PORT,
    ARG_MODEL_NAME,
    ARG_PREDICTOR_HOST,
    ARG_WORKERS,
    includes_arg,
)

__all__ = [
    "art_explainer_container",
    "build_explainer",
    "custom_explainer_container",
    "explainer_storage_uri",
]

JsonDict = dict[str, Any]


def explainer_storage_uri(explainer: ExplainerSpec) -> str | None:
    """``GetImplementation().GetStorageUri()``: ART's non-empty ``storageUri``; a custom
    explainer's first-container ``STORAGE_URI`` env."""
    if explainer.art is not None:
        return explainer.art.storage_uri or None
    for e in (explainer.containers[0].env if explainer.containers else None) or []:
        if e.name == STORAGE_URI_ENV:
            return e.value or ""
    return None


def art_explainer_container(
    art: ARTExplainerSpec,
    *,
    isvc_name: str,
    host: str,
    extension: ComponentExtensionSpec,
    config: InferenceServiceConfig,
) -> JsonDict:
    """``ARTExplainerSpec.GetContainer``: the ART container (``kserve-container``) with args
    ``--model_name <isvc> --http_port 8080 [--predictor_host <host>] [--workers n]
    [--storage_uri /mnt/models] --adversary_type <type> [--<k> <v> for config, sorted]
    <args> <args>`` and, without an image, ``<explainers.art.image>:<runtimeVersion>``."""
    own_args = list(art.args or [])
    args = [ARG_MODEL_NAME, isvc_name, ARG_HTTP_PORT, INFERENCE_SERVICE_DEFAULT_HTTP_PORT]
    if not includes_arg(own_args, ARG_PREDICTOR_HOST):
        args += [ARG_PREDICTOR_HOST, host]
    if not includes_arg(own_args, ARG_WORKERS) and extension.container_concurrency is not None:
        args += [ARG_WORKERS, str(extension.container_concurrency)]
    if art.storage_uri:
        args += ["--storage_uri", DEFAULT_MOUNT_PATH]
    args += ["--adversary_type", art.type or ""]
    for key in sorted(art.config or {}):
        args += ["--" + key, (art.config or {})[key]]
    args += own_args
    container = art.container().to_dict()
    if not container.get("image"):
        version = art.runtime_version
        if version is None:
            version = config.inference_service.explainers.art_explainer.default_image_version
        image = config.inference_service.explainers.art_explainer.container_image
        container["image"] = f"{image}:{version}"
    container["name"] = INFERENCE_SERVICE_CONTAINER
    container["args"] = [*args, *own_args]
    return container


def custom_explainer_container(
    container: Mapping[str, Any], *, isvc_name: str, host: str, extension: ComponentExtensionSpec
) -> JsonDict:
    """``CustomExplainer.GetContainer``: ``--model_name``/``--predictor_host`` when missing,
    ``--http_port 8080`` always, ``--workers`` from ``containerConcurrency`` when missing."""
    out = dict(container)
    args = list(out.get("args") or [])
    if not includes_arg(args, ARG_MODEL_NAME):
        args += [ARG_MODEL_NAME, isvc_name]
    if not includes_arg(args, ARG_PREDICTOR_HOST):
        args += [ARG_PREDICTOR_HOST, host]
    args += [ARG_HTTP_PORT, INFERENCE_SERVICE_DEFAULT_HTTP_PORT]
    if not includes_arg(args, ARG_WORKERS) and extension.container_concurrency is not None:
        args += [ARG_WORKERS, str(extension.container_concurrency)]
    out["args"] = args
    return out


def build_explainer(
    isvc: InferenceService,
    config: InferenceServiceConfig,
    deployment_mode: DeploymentModeType | str = DeploymentModeType.STANDARD,
    *,
    isvc_labels_override: Mapping[str, str] | None = None,
    storage_containers: Sequence[ClusterStorageContainer] = (),
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> ComponentWorkload:
    """The explainer's workload (``<isvc>-explainer``), pointed at
    ``<predictor service>.<namespace>``.

    Labels = InferenceService labels (``isvc_labels_override`` as for the transformer) <
    explainer labels < component labels; annotations = filtered InferenceService annotations +
    storage-initializer source URI + logger < filtered explainer annotations. The container
    (ART or the first custom one) replaces ``containers[0]``; ``storageUris`` are injected.
    ``deployment_mode`` does not change the workload (kept for a uniform signature). Raises
    :class:`ComponentError`."""
    del deployment_mode
    meta_in = isvc.metadata
    spec = isvc.spec
    if meta_in is None or spec is None or spec.explainer is None:
        raise ComponentError("the InferenceService has no explainer")
    explainer = spec.explainer
    name = meta_in.name or ""
    namespace = meta_in.namespace or ""
    component = InferenceServiceComponent.EXPLAINER
    labels, annotations = auxiliary_metadata(
        isvc,
        config,
        component,
        explainer,
        source_uri=explainer_storage_uri(explainer),
        with_batcher=False,
        isvc_labels_override=isvc_labels_override,
        storage_containers=storage_containers,
    )

    host = f"{predictor_service_name(name, spec.predictor.name)}.{namespace}"
    pod = explainer.pod_spec().to_dict()
    containers = list(pod.get("containers") or [])
    if explainer.art is not None:
        container = art_explainer_container(
            explainer.art, isvc_name=name, host=host, extension=explainer, config=config
        )
    elif containers:
        container = custom_explainer_container(
            containers[0], isvc_name=name, host=host, extension=explainer
        )
    else:
        raise ComponentError("the explainer has neither art nor containers")
    if containers:
        containers[0] = container
    else:
        containers = [container]
    pod["containers"] = containers
    return auxiliary_workload(
        isvc,
        config,
        component,
        explainer,
        pod,
        labels=labels,
        annotations=annotations,
        protocol_version=PROTOCOL_V1,
        storage_containers=storage_containers,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
