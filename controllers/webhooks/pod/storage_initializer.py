"""The pod mutator's storage steps (upstream ``storage_initializer_injector.go``
``InjectStorageInitializer`` and ``InjectModelcar``).

:func:`inject_storage_initializer`: a pod whose InferenceService has one ``storageUri``
carries it in the ``internal.serving.kserve.io/storage-initializer-sourceuri`` annotation,
and gets an init container that downloads it into an emptyDir mounted at ``/mnt/models``
(or, for ``pvc://``, the PVC mounted there directly), by the shared
:func:`~controllers.storage.storage_initializer.common_storage_initialization`.
:func:`inject_modelcar`: the same annotation with an OCI URI, materialised as a modelcar,
an ImageVolume or a fetch (:mod:`controllers.storage.oci`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.constants import (
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_CONTAINER,
    LOCAL_MODEL_LABEL,
    LOCAL_MODEL_PVC_NAME_ANNOTATION,
    LOCAL_MODEL_SOURCE_URI_ANNOTATION,
    STORAGE_CONTAINER_NAME_ANNOTATION,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    STORAGE_SPEC_ANNOTATION,
    STORAGE_SPEC_KEY_ANNOTATION,
    STORAGE_SPEC_PARAM_ANNOTATION,
    TRANSFORMER_CONTAINER,
    WORKER_CONTAINER,
)
from apis.serving.v1alpha1 import get_storage_key
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer
from controllers.storage.credentials import CredentialBuilder
from controllers.storage.oci import configure_oci, effective_oci_mode
from controllers.storage.storage_container import get_storage_container_spec
from controllers.storage.storage_initializer import (
    StorageInitializerParams,
    StorageSpecParams,
    StorageUri,
    common_storage_initialization,
    get_storage_initializer_read_only_flag,
)
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    get_container,
    pod_spec,
    string_map,
)

__all__ = ["inject_modelcar", "inject_storage_initializer"]


def _local_model_uri(src: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    """A LocalModel pod reads the model from the node's cache PVC:
    ``pvc://<pvc>/models/<sha256(sourceUri)[:16]><subpath>``."""
    if LOCAL_MODEL_LABEL not in labels:
        return src
    source = annotations.get(LOCAL_MODEL_SOURCE_URI_ANNOTATION, "")
    sub = src.removeprefix(source)
    if not sub.startswith("/"):
        sub = "/" + sub
    pvc = annotations.get(LOCAL_MODEL_PVC_NAME_ANNOTATION)
    if pvc is None:
        raise PodMutationError(
            f"Annotation {LOCAL_MODEL_PVC_NAME_ANNOTATION} not found",
            f"metadata.annotations[{LOCAL_MODEL_PVC_NAME_ANNOTATION}]",
        )
    return f"pvc://{pvc}/models/{get_storage_key(source)}{sub}"


def _storage_spec(annotations: Mapping[str, str]) -> StorageSpecParams | None:
    if annotations.get(STORAGE_SPEC_ANNOTATION) != "true":
        return None
    params: dict[str, str] | None = None
    raw = annotations.get(STORAGE_SPEC_PARAM_ANNOTATION)
    if raw is not None:
        field_name = f"metadata.annotations[{STORAGE_SPEC_PARAM_ANNOTATION}]"
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise PodMutationError(f"{field_name}: {exc}", field_name) from None
        if doc is not None and (
            not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values())
        ):
            raise PodMutationError(
                f"{field_name}: json: cannot unmarshal into Go value of type map[string]string",
                field_name,
            )
        params = doc
    return StorageSpecParams(annotations.get(STORAGE_SPEC_KEY_ANNOTATION, ""), params)


def inject_storage_initializer(
    pod: JsonDict,
    config: Any,
    credentials: CredentialBuilder,
    storage_containers: Sequence[ClusterStorageContainer],
    kserve_namespace: str,
) -> None:
    """``InjectStorageInitializer``: the storage step of the webhook, for a pod carrying the
    source-URI annotation (LocalModel rewrite, storage spec, ClusterStorageContainer, then
    :func:`common_storage_initialization` on the single URI)."""
    meta = pod.get("metadata") or {}
    annotations = string_map(meta.get("annotations"))
    src = annotations.get(STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION)
    if src is None:
        return
    src = _local_model_uri(src, string_map(meta.get("labels")), annotations)
    storage_spec = _storage_spec(annotations)
    csc = get_storage_container_spec(
        src, annotations.get(STORAGE_CONTAINER_NAME_ANNOTATION), storage_containers
    )
    common_storage_initialization(
        StorageInitializerParams(
            namespace=str(meta.get("namespace") or ""),
            storage_uris=[StorageUri(src, DEFAULT_MOUNT_PATH)],
            pod_spec=pod_spec(pod),
            config=config,
            credentials=credentials,
            is_read_only=get_storage_initializer_read_only_flag(annotations),
            annotations=annotations,
            storage_spec=storage_spec,
            storage_container_spec=csc,
            is_legacy_uri=True,
            kserve_namespace=kserve_namespace,
        )
    )


def inject_modelcar(pod: JsonDict, config: Any, kserve_namespace: str) -> None:
    """``InjectModelcar`` (the webhook's OCI step, registered only when the config resolves
    an OCI mode): materialise an ``oci://`` / ``oci+<mode>://`` source URI annotation into
    ``kserve-container`` (else ``worker-container``) and ``transformer-container``."""
    meta = pod.get("metadata") or {}
    src = string_map(meta.get("annotations")).get(STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION)
    if src is None:
        return
    mode, uri, is_oci = effective_oci_mode(src, config)
    if not is_oci:
        return
    spec = pod_spec(pod)
    namespace = str(meta.get("namespace") or "")
    if get_container(spec, INFERENCE_SERVICE_CONTAINER) is not None:
        target = INFERENCE_SERVICE_CONTAINER
    elif get_container(spec, WORKER_CONTAINER) is not None:
        target = WORKER_CONTAINER
    else:
        raise PodMutationError(
            f"Invalid configuration: cannot find container: {INFERENCE_SERVICE_CONTAINER}",
            "spec.containers",
        )
    configure_oci(mode, uri, spec, target, DEFAULT_MOUNT_PATH, config, namespace, kserve_namespace)
    if get_container(spec, TRANSFORMER_CONTAINER) is not None:
        configure_oci(
            mode,
            uri,
            spec,
            TRANSFORMER_CONTAINER,
            DEFAULT_MOUNT_PATH,
            config,
            namespace,
            kserve_namespace,
        )
