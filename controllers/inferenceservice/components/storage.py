"""Model storage for a component (kserve-behaviour.md §2.7).

- :func:`validate_storage_uri` (``utils.ValidateStorageURI``): a single ``storageUri`` must
  be served by a ClusterStorageContainer or the default storage initializer.
- :func:`get_storage_container_spec` (``pod.GetStorageContainerSpec``): the
  ClusterStorageContainer for a URI (or the named one).
- :func:`inject_storage_uris` (``pod.CommonStorageInitialization`` as the controller calls it
  for ``storageUris``): PVC volumes, one ``storage-initializer`` init container downloading
  ``uri1 path1 uri2 path2 ...`` into an emptyDir at their common parent, OCI sources as
  modelcar sidecars / native image volumes / fetch, the CA bundle, the storage container's
  customisations, HuggingFace download env, confidential env.

Pure. Credentials need the ServiceAccount and Secrets (I/O): the caller passes a
:data:`CredentialInjector` that already holds them (None: no credentials, as upstream when
the ServiceAccount is missing). Works on JSON pod specs (camelCase dicts).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightkube.models import core_v1

from apis.serving.constants import (
    AGENT_SHOULD_INJECT_ANNOTATION,
    CONFIDENTIAL_ENABLED_ANNOTATION,
    CONFIDENTIAL_RESOURCE_ID_ANNOTATION,
    INFERENCE_SERVICE_CONTAINER,
    STORAGE_INITIALIZER_CONTAINER,
    STORAGE_READONLY_ANNOTATION,
    TRANSFORMER_CONTAINER,
    WORKER_CONTAINER,
)
from apis.serving.v1alpha1.storage_container import (
    ClusterStorageContainer,
    StorageContainerSpec,
    WorkloadType,
)
from apis.serving.v1beta1 import StorageSpec, StorageUri
from apis.serving.v1beta1.configmap import StorageInitializerConfig
from apis.serving.validation import find_common_parent_path

from .component import ComponentError, load
from .oci import MAX_OCI_SOURCES_PER_POD, inject_oci, parse_oci_scheme, resolve_oci_model_mode
from .runtime_merge import merge_container_with_patch
from .storage_pod import (
    CA_BUNDLE_CONFIGMAP_NAME_ENV,
    CA_BUNDLE_VOLUME_MOUNT_PATH_ENV,
    CA_BUNDLE_VOLUME_NAME,
    DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH,
    DEFAULT_STORAGE_INITIALIZER_IMAGE,
    JsonDict,
    add_env_if_missing,
    add_model_mount,
    add_or_replace_env,
    ca_bundle,
    container,
    create_init_container,
    go_dir,
    init_container,
    mount_path,
    volume_name_from_path,
)

__all__ = [
    "AZURE_BLOB_URI_RE",
    "CA_BUNDLE_VOLUME_NAME",
    "DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH",
    "DEFAULT_KSERVE_NAMESPACE",
    "DEFAULT_STORAGE_INITIALIZER_IMAGE",
    "MAX_OCI_SOURCES_PER_POD",
    "SUPPORTED_STORAGE_URI_PREFIXES",
    "CredentialContext",
    "CredentialInjector",
    "create_init_container",
    "get_storage_container_spec",
    "inject_storage_uris",
    "parse_oci_scheme",
    "parse_pvc_uri",
    "resolve_oci_model_mode",
    "storage_read_only",
    "validate_storage_uri",
    "volume_name_from_path",
]

SUPPORTED_STORAGE_URI_PREFIXES: tuple[str, ...] = (
    "gs://",
    "s3://",
    "pvc://",
    "file://",
    "https://",
    "http://",
    "hdfs://",
    "webhdfs://",
    "oci://",
    "oci+native://",
    "oci+fetch://",
    "hf://",
)
"""``utils.SupportedStorageURIPrefixList``."""
AZURE_BLOB_URI_RE = re.compile(r"https://(.+?).blob.core.windows.net/(.+)")
"""``AzureBlobURIRegEx`` (unanchored, as Go's ``FindStringSubmatch``)."""
UNSUPPORTED_STORAGE_URI_FORMAT = (
    "storageUri, must be one of: [{}] or match https://{{}}.blob.core.windows.net/{{}}/{{}} or be "
    "an absolute or relative local path. StorageUri [{}] is not supported"
)
"""``v1beta1.UnsupportedStorageURIFormatError`` (Go ``%s`` verbs as ``{}``)."""
DEFAULT_KSERVE_NAMESPACE = "kserve"
"""``constants.KServeNamespace`` when ``POD_NAMESPACE`` is unset."""
AWS_CA_BUNDLE_CONFIGMAP_ENV = "AWS_CA_BUNDLE_CONFIGMAP"
AWS_CA_BUNDLE_ENV = "AWS_CA_BUNDLE"
_HF_ENV_DEFAULTS = (
    ("HF_HUB_ENABLE_HF_TRANSFER", "1"),
    ("HF_XET_HIGH_PERFORMANCE", "1"),
    ("HF_XET_NUM_CONCURRENT_RANGE_GETS", "8"),
)
_CONFIDENTIAL_ENABLED_ENV = "CONFIDENTIAL_ENABLED"
_CONFIDENTIAL_RESOURCE_ID_ENV = "CONFIDENTIAL_RESOURCE_ID"


@dataclass(frozen=True)
class CredentialContext:
    """What upstream's credential builder is given for the storage initializer."""

    namespace: str
    annotations: Mapping[str, str]
    """The component's annotations (``serving.kserve.io/storageSecretName``-style keys)."""
    service_account_name: str
    """The pod's ``serviceAccountName`` (``default`` when empty, as upstream)."""
    storage_spec: StorageSpec | None
    """The predictor's ``storage``: with ``key`` and ``parameters`` upstream reads the
    storage-config Secret (``CreateStorageSpecSecretEnvs``), else the ServiceAccount's secrets
    (``CreateSecretVolumeAndEnv``)."""


CredentialInjector = Callable[
    [core_v1.Container, list[core_v1.Volume], CredentialContext],
    tuple[core_v1.Container, list[core_v1.Volume]],
]
"""Adds storage credentials to the ``storage-initializer`` container (env, volume mounts,
rewritten args) and the pod's volumes; returns both. Built by the caller from the
ServiceAccount and Secrets it read; raise :class:`~.component.ComponentError` to fail."""


# ---------------------------------------------------------------------------------------------
# URIs
# ---------------------------------------------------------------------------------------------


def parse_pvc_uri(uri: str) -> tuple[str, str]:
    """``ParsePvcURI``: ``pvc://<name>[/<path>]`` -> ``(name, path)``."""
    parts = uri.removeprefix("pvc://").split("/")
    return parts[0], "/".join(parts[1:])


def _uri_supported(spec: StorageContainerSpec, uri: str, name: str) -> bool:
    try:
        return spec.is_storage_uri_supported(uri)
    except re.error as err:
        raise ComponentError(f"error checking storage container {name}: {err}") from None


def _init_container_workload(csc: ClusterStorageContainer) -> bool:
    spec = csc.spec
    return spec is not None and (spec.workload_type or WorkloadType.INIT_CONTAINER) == (
        WorkloadType.INIT_CONTAINER
    )


def get_storage_container_spec(
    uri: str,
    storage_container_name: str | None,
    storage_containers: Sequence[ClusterStorageContainer],
) -> StorageContainerSpec | None:
    """``pod.GetStorageContainerSpec``: with ``storage_container_name``, that
    ClusterStorageContainer, which must exist, be enabled, be an ``initContainer`` workload and
    support ``uri`` (else :class:`ComponentError` with upstream's message); without, the first
    enabled ``initContainer`` one supporting ``uri``, or None."""
    if storage_container_name:
        name = storage_container_name
        found = next(
            (c for c in storage_containers if c.metadata is not None and c.metadata.name == name),
            None,
        )
        if found is None or found.spec is None:
            raise ComponentError(f'ClusterStorageContainer "{name}" not found')
        if found.is_disabled():
            raise ComponentError(f'ClusterStorageContainer "{name}" is disabled')
        if not _init_container_workload(found):
            raise ComponentError(
                f'ClusterStorageContainer "{name}" has workloadType '
                f'"{found.spec.workload_type}"; explicit selection requires "initContainer"'
            )
        try:
            supported = found.spec.is_storage_uri_supported(uri)
        except re.error as err:
            raise ComponentError(
                f'ClusterStorageContainer "{name}" URI check failed for "{uri}": {err}'
            ) from None
        if not supported:
            raise ComponentError(
                f'ClusterStorageContainer "{name}" does not support storageUri "{uri}"'
            )
        return found.spec
    for csc in storage_containers:
        if csc.is_disabled() or not _init_container_workload(csc) or csc.spec is None:
            continue
        if _uri_supported(csc.spec, uri, (csc.metadata.name if csc.metadata else None) or ""):
            return csc.spec
    return None


def validate_storage_uri(
    uri: str | None, storage_containers: Sequence[ClusterStorageContainer]
) -> None:
    """``ValidateStorageURI``, raising :class:`ComponentError` ``StorageURI not supported:
    ...``: fine when a ClusterStorageContainer supports it, when it has no ``<scheme>://``
    (a local path), when it is an Azure blob URL, or when it has a supported prefix."""
    if uri is None:
        return
    try:
        if get_storage_container_spec(uri, None, storage_containers) is not None:
            return
    except ComponentError as err:
        raise ComponentError(f"StorageURI not supported: {err}") from None
    if not re.search(r"\w+?://", uri):
        return
    if "blob.core.windows.net" in uri:
        if AZURE_BLOB_URI_RE.search(uri):
            return
    elif uri.startswith(SUPPORTED_STORAGE_URI_PREFIXES):
        return
    raise ComponentError(
        "StorageURI not supported: "
        + UNSUPPORTED_STORAGE_URI_FORMAT.format(", ".join(SUPPORTED_STORAGE_URI_PREFIXES), uri)
    )


def storage_read_only(annotations: Mapping[str, str] | None) -> bool:
    """``GetStorageInitializerReadOnlyFlag``: read-only unless ``storage.kserve.io/readonly``
    is ``"false"``."""
    return (annotations or {}).get(STORAGE_READONLY_ANNOTATION) != "false"


# ---------------------------------------------------------------------------------------------
# CommonStorageInitialization
# ---------------------------------------------------------------------------------------------


def inject_storage_uris(
    pod_spec: Mapping[str, Any],
    storage_uris: Sequence[StorageUri],
    *,
    config: StorageInitializerConfig,
    annotations: Mapping[str, str] | None,
    namespace: str,
    storage_spec: StorageSpec | None = None,
    storage_container: StorageContainerSpec | None = None,
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> JsonDict:
    """``pod.CommonStorageInitialization`` for ``storageUris`` (the controller's path): a copy
    of ``pod_spec`` (JSON) that downloads or mounts every URI.

    Nothing happens when the agent is injected (annotation ``internal.serving.kserve.io/agent``)
    or when a ``storage-initializer`` init container exists already (after OCI handling). OCI
    URIs (``oci://`` with ``ociModelMode``/``enableModelcar``, ``oci+native://``,
    ``oci+fetch://``, ``oci+modelcar://``) are wired into ``kserve-container`` (else
    ``worker-container``) and ``transformer-container``. ``pvc://<claim>[/...]`` URIs become a
    PVC volume named after the mount path (the sub-path is ignored, as upstream), mounted on
    those containers. The rest are downloaded by one ``storage-initializer`` (args ``uri path``
    pairs) into an emptyDir at their common parent path. Mounts are read-only unless
    ``storage.kserve.io/readonly: "false"``. The init container then gets credentials
    (``credentials``), the CA bundle (``storageInitializer.caBundleConfigMapName``, or an
    ``AWS_CA_BUNDLE_CONFIGMAP`` env from the credentials; ``global-ca-bundle`` outside the
    KServe namespace), ``storage_container``'s customisations (which must support multi-model
    download), HuggingFace download env defaults, and the confidential env.

    Raises :class:`ComponentError` (missing container, OCI path conflicts, a storage container
    without multi-model download, malformed quantities in the config)."""
    pod: JsonDict = copy.deepcopy(dict(pod_spec))
    anns = dict(annotations or {})
    if AGENT_SHOULD_INJECT_ANNOTATION in anns:
        return pod
    inject_oci(pod, storage_uris, config, namespace, kserve_namespace)
    if init_container(pod, STORAGE_INITIALIZER_CONTAINER) is not None or not storage_uris:
        return pod
    user = container(pod, INFERENCE_SERVICE_CONTAINER) or container(pod, WORKER_CONTAINER)
    if user is None:
        raise ComponentError("Invalid configuration: cannot find container")
    if storage_container is not None and not storage_container.supports_multi_model_download:
        raise ComponentError(
            f'storage container "{storage_container.container.name}" does not support '
            "multi-model download; use the default kserve storage initializer or a compatible "
            "storage container"
        )
    read_only = storage_read_only(anns)
    pvc_uris: list[StorageUri] = []
    download: list[StorageUri] = []
    for u in storage_uris:
        if parse_oci_scheme(u.uri)[2]:
            continue
        (pvc_uris if u.uri.startswith("pvc://") else download).append(u)
    targets = [str(user.get("name") or "")]
    if container(pod, TRANSFORMER_CONTAINER) is not None:
        targets.append(TRANSFORMER_CONTAINER)
    for u in pvc_uris:
        claim, _ = parse_pvc_uri(u.uri)
        path = mount_path(u)
        for name in targets:
            add_model_mount(
                pod,
                name,
                mount_path=path,
                volume_name=volume_name_from_path(path),
                pvc_name=claim,
                read_only=read_only,
            )
    if not download:
        return pod
    common = find_common_parent_path([mount_path(u) for u in download])
    args = [arg for u in download for arg in (u.uri, mount_path(u))]
    init = create_init_container(config, args)
    pod.setdefault("initContainers", []).append(init)
    for name in (*targets, STORAGE_INITIALIZER_CONTAINER):
        add_model_mount(
            pod,
            name,
            mount_path=common,
            volume_name=volume_name_from_path(common),
            read_only=read_only,
        )
    _finish_init_container(
        pod,
        config=config,
        annotations=anns,
        namespace=namespace,
        storage_spec=storage_spec,
        storage_container=storage_container,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
    return pod


def _finish_init_container(
    pod: JsonDict,
    *,
    config: StorageInitializerConfig,
    annotations: Mapping[str, str],
    namespace: str,
    storage_spec: StorageSpec | None,
    storage_container: StorageContainerSpec | None,
    credentials: CredentialInjector | None,
    kserve_namespace: str,
) -> None:
    """Credentials, CA bundle, storage container merge, HF env, confidential env, on the
    ``storage-initializer`` init container (the last part of CommonStorageInitialization)."""
    inits: list[JsonDict] = pod["initContainers"]
    at = next(i for i, c in enumerate(inits) if c.get("name") == STORAGE_INITIALIZER_CONTAINER)
    init = inits[at]
    if credentials is not None:
        context = CredentialContext(
            namespace=namespace,
            annotations=dict(annotations),
            service_account_name=str(pod.get("serviceAccountName") or "default"),
            storage_spec=storage_spec,
        )
        container, volumes = credentials(
            load(core_v1.Container, init),
            [load(core_v1.Volume, v) for v in pod.get("volumes") or []],
            context,
        )
        init = container.to_dict()
        if volumes:
            pod["volumes"] = [v.to_dict() for v in volumes]
    env = init.get("env") or []
    needs_ca = bool(config.ca_bundle_config_map_name) or any(
        e.get("name") == AWS_CA_BUNDLE_CONFIGMAP_ENV for e in env
    )
    ca_name = ca_path = ""
    if needs_ca:
        ca_name, ca_path = ca_bundle(config, namespace, kserve_namespace)
        for e in env:
            if e.get("name") == AWS_CA_BUNDLE_CONFIGMAP_ENV:
                ca_name = str(e.get("value") or "")
            if e.get("name") == AWS_CA_BUNDLE_ENV:
                ca_path = go_dir(str(e.get("value") or ""))
    if storage_container is not None:
        init = merge_container_with_patch(init, storage_container.container.to_dict())
    if needs_ca:
        add_env_if_missing(init, CA_BUNDLE_CONFIGMAP_NAME_ENV, ca_name)
        add_env_if_missing(init, CA_BUNDLE_VOLUME_MOUNT_PATH_ENV, ca_path)
        pod.setdefault("volumes", []).append(
            {"name": CA_BUNDLE_VOLUME_NAME, "configMap": {"name": ca_name}}
        )
        init.setdefault("volumeMounts", []).append(
            {"name": CA_BUNDLE_VOLUME_NAME, "mountPath": ca_path, "readOnly": True}
        )
    for name, value in _HF_ENV_DEFAULTS:
        add_env_if_missing(init, name, value)
    if annotations.get(CONFIDENTIAL_ENABLED_ANNOTATION) == "true":
        add_or_replace_env(init, _CONFIDENTIAL_ENABLED_ENV, "true")
        resource_id = annotations.get(CONFIDENTIAL_RESOURCE_ID_ANNOTATION, "")
        if resource_id:
            add_or_replace_env(init, _CONFIDENTIAL_RESOURCE_ID_ENV, resource_id)
    inits[at] = init
