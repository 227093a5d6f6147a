"""The transformer's workload (upstream ``components/transformer.go`` and
``v1beta1/transformer_custom.go`` ``GetContainer``/``GetStorageUri``): ``<isvc>-transformer``
running the custom container with ``--model_name <isvc> --predictor_host
<predictor service>.<namespace> --http_port 8080`` (and ``--workers`` from
``containerConcurrency``) appended when not given. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from apis.serving.constants import (
    DEPLOYMENT_MODE_ANNOTATION,
    INFERENCE_SERVICE_DEFAULT_HTTP_PORT,
    PREDICTOR_HOST_ANNOTATION,
    PREDICTOR_PROTOCOL_ANNOTATION,
    DeploymentModeType,
    InferenceServiceComponent,
    predictor_service_name,
)
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer
from apis.serving.v1beta1 import ComponentExtensionSpec, InferenceService, TransformerSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_implementation import (
    PROTOCOL_ENV,
    PROTOCOL_GRPC_V2,
    PROTOCOL_V1,
    PROTOCOL_V2,
    STORAGE_URI_ENV,
)

from .auxiliary import auxiliary_metadata, auxiliary_workload
from .component import (
    INFERENCE_SERVICE_NAME_ENV,
    ComponentError,
    ComponentPending,
    ComponentWorkload,
    isvc_annotations,
)
from .runtime_merge import add_env_var
from .storage import DEFAULT_KSERVE_NAMESPACE, CredentialInjector

__all__ = [
    "ARG_HTTP_PORT",
    "ARG_MODEL_NAME",
    "ARG_PREDICTOR_HOST",
    "ARG_WORKERS",
    "MODEL_MESH_PREDICTOR_REQUEUE_SECONDS",
    "build_transformer",
    "includes_arg",
    "transformer_container",
    "transformer_protocol",
    "transformer_storage_uri",
]

ARG_MODEL_NAME = "--model_name"
ARG_PREDICTOR_HOST = "--predictor_host"
ARG_HTTP_PORT = "--http_port"
ARG_WORKERS = "--workers"
MODEL_MESH_PREDICTOR_REQUEUE_SECONDS = 3.0

JsonDict = dict[str, Any]


def includes_arg(args: Sequence[str] | None, arg: str) -> bool:
    """``utils.IncludesArg``: an arg equal to or starting with ``arg``."""
    return any(a == arg or a.startswith(arg) for a in args or ())


def _env(container: Mapping[str, Any], name: str) -> str | None:
    for e in container.get("env") or []:
        if e.get("name") == name:
            return str(e.get("value") or "")
    return None


def transformer_storage_uri(transformer: TransformerSpec) -> str | None:
    """``CustomTransformer.GetStorageUri``: the ``STORAGE_URI`` env of the first container."""
    containers = transformer.containers or []
    if not containers:
        return None
    return _env(containers[0].to_dict(), STORAGE_URI_ENV)


def transformer_protocol(transformer: TransformerSpec) -> str:
    """``CustomTransformer.GetProtocol``: the ``PROTOCOL`` env of the first container, else
    v1."""
    containers = transformer.containers or []
    value = _env(containers[0].to_dict(), PROTOCOL_ENV) if containers else None
    return PROTOCOL_V1 if value is None else value


def transformer_container(
    container: Mapping[str, Any],
    *,
    isvc_name: str,
    namespace: str,
    predictor_name: str,
    extension: ComponentExtensionSpec,
    annotations: Mapping[str, str],
) -> JsonDict:
    """``CustomTransformer.GetContainer``: a copy of the first container with the args the
    KServe transformer expects appended when missing. ModelMesh (annotation
    ``serving.kserve.io/deploymentMode: ModelMesh``): the predictor host and ``--protocol``
    come from the ``predictor-host``/``predictor-protocol`` annotations."""
    out = dict(container)
    args = list(out.get("args") or [])
    host = f"{predictor_name}.{namespace}"
    if annotations.get(DEPLOYMENT_MODE_ANNOTATION) == DeploymentModeType.MODEL_MESH:
        host = annotations.get(PREDICTOR_HOST_ANNOTATION, "")
        if not includes_arg(args, "--protocol"):
            args += ["--protocol", annotations.get(PREDICTOR_PROTOCOL_ANNOTATION, "")]
    if not includes_arg(args, ARG_MODEL_NAME):
        args += [ARG_MODEL_NAME, isvc_name]
    if not includes_arg(args, ARG_PREDICTOR_HOST):
        args += [ARG_PREDICTOR_HOST, host]
    if not includes_arg(args, ARG_HTTP_PORT):
        args += [ARG_HTTP_PORT, INFERENCE_SERVICE_DEFAULT_HTTP_PORT]
    if not includes_arg(args, ARG_WORKERS) and extension.container_concurrency is not None:
        args += [ARG_WORKERS, str(extension.container_concurrency)]
    out["args"] = args
    return out


def _model_mesh_predictor(isvc: InferenceService) -> tuple[str, str]:
    """(host, protocol) of a ModelMesh predictor from ``status.components.predictor.url``;
    :class:`ComponentPending` until it is there."""
    status = isvc.status
    comp = (status.components or {}).get("predictor") if status is not None else None
    url = comp.url if comp is not None else None
    if not url:
        raise ComponentPending(
            "Transformer reconciliation is waiting for predictor URL to be populated",
            MODEL_MESH_PREDICTOR_REQUEUE_SECONDS,
        )
    parts = urlsplit(url)
    if parts.scheme == "grpc":
        protocol = PROTOCOL_GRPC_V2
    elif parts.scheme in ("http", "https"):
        protocol = PROTOCOL_V2
    else:
        raise ComponentError(f"Predictor URL Scheme not supported: {parts.scheme}")
    return parts.netloc, protocol


def build_transformer(
    isvc: InferenceService,
    config: InferenceServiceConfig,
    deployment_mode: DeploymentModeType | str = DeploymentModeType.STANDARD,
    *,
    isvc_labels_override: Mapping[str, str] | None = None,
    storage_containers: Sequence[ClusterStorageContainer] = (),
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> ComponentWorkload:
    """The transformer's workload (``<isvc>-transformer``).

    Labels = InferenceService labels (``isvc_labels_override``: the predictor's
    :attr:`~.component.ComponentWorkload.isvc_labels`, as upstream's predictor mutates the
    object first) < transformer labels < component labels; annotations = filtered
    InferenceService annotations + logger/batcher/storage-initializer source URI < filtered
    transformer annotations. The first container gets the transformer args and
    ``INFERENCE_SERVICE_NAME``; ``storageUris`` are injected. ModelMesh: the predictor host and
    protocol come from the predictor's status URL (:class:`ComponentPending` until set).
    Raises :class:`ComponentError`."""
    meta_in = isvc.metadata
    spec = isvc.spec
    if meta_in is None or spec is None or spec.transformer is None:
        raise ComponentError("the InferenceService has no transformer")
    transformer = spec.transformer
    name = meta_in.name or ""
    namespace = meta_in.namespace or ""
    component = InferenceServiceComponent.TRANSFORMER
    labels, annotations = auxiliary_metadata(
        isvc,
        config,
        component,
        transformer,
        source_uri=transformer_storage_uri(transformer),
        with_batcher=True,
        isvc_labels_override=isvc_labels_override,
        storage_containers=storage_containers,
    )

    meta_annotations = isvc_annotations(isvc)
    if str(deployment_mode) == DeploymentModeType.MODEL_MESH:
        host, protocol = _model_mesh_predictor(isvc)
        meta_annotations[PREDICTOR_HOST_ANNOTATION] = host
        meta_annotations[PREDICTOR_PROTOCOL_ANNOTATION] = protocol

    pod = transformer.pod_spec().to_dict()
    containers = list(pod.get("containers") or [])
    if not containers:
        raise ComponentError("the transformer has no container")
    containers[0] = transformer_container(
        containers[0],
        isvc_name=name,
        namespace=namespace,
        predictor_name=predictor_service_name(name, spec.predictor.name),
        extension=transformer,
        annotations=meta_annotations,
    )
    pod["containers"] = containers
    add_env_var(pod, containers[0].get("name") or "", INFERENCE_SERVICE_NAME_ENV, name)

    return auxiliary_workload(
        isvc,
        config,
        component,
        transformer,
        pod,
        labels=labels,
        annotations=annotations,
        protocol_version=transformer_protocol(transformer),
        storage_containers=storage_containers,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
