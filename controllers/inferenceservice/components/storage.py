"""Model storage for a component (kserve-behaviour.md §2.7), the controller's side of
:mod:`controllers.storage` (shared with the pod mutator):

- :func:`validate_storage_uri` (``utils.ValidateStorageURI``): a single ``storageUri`` must
  be served by a ClusterStorageContainer or the default storage initializer.
- :func:`get_storage_container_spec` (``pod.GetStorageContainerSpec``): the
  ClusterStorageContainer for a URI (or the named one).
- :func:`inject_storage_uris`: ``pod.CommonStorageInitialization`` as the controller calls it
  for ``storageUris`` (``IsLegacyURI: false``), on a copy of the component's pod spec;
  :func:`inject_component_storage_uris` picks the ClusterStorageContainer first, as every
  component builder does.
- :func:`credential_injector`: the :data:`CredentialInjector` the reconcile builds from the
  pod mutator's :class:`~controllers.storage.credentials.CredentialBuilder` over the
  ServiceAccounts and Secrets it read from the cache.

Pure. Errors are :class:`ComponentError` (the shared code's ``PodMutationError`` text kept).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lightkube.models import core_v1

from apis.serving.constants import DEFAULT_KSERVE_NAMESPACE, DEFAULT_MOUNT_PATH
from apis.serving.v1alpha1.storage_container import ClusterStorageContainer, StorageContainerSpec
from apis.serving.v1beta1 import StorageSpec
from apis.serving.v1beta1 import StorageUri as StorageUriSpec
from apis.serving.v1beta1.configmap import StorageInitializerConfig
from controllers.storage import storage_container as csc
from controllers.storage.storage_initializer import (
    StorageCredentials,
    StorageInitializerParams,
    StorageSpecParams,
    StorageUri,
    common_storage_initialization,
    get_storage_initializer_read_only_flag,
)
from controllers.storage.utils import JsonDict, PodMutationError

from .component import ComponentError, load

__all__ = [
    "AZURE_BLOB_URI_RE",
    "DEFAULT_KSERVE_NAMESPACE",
    "SUPPORTED_STORAGE_URI_PREFIXES",
    "CredentialContext",
    "CredentialInjector",
    "credential_injector",
    "get_storage_container_spec",
    "inject_component_storage_uris",
    "inject_storage_uris",
    "storage_spec_params",
    "validate_storage_uri",
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


@contextmanager
def _component_errors() -> Iterator[None]:
    """The shared storage code's refusals as :class:`ComponentError` (same text)."""
    try:
        yield
    except PodMutationError as err:
        raise ComponentError(str(err)) from None


# ---------------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------------


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
    (``CreateSecretVolumeAndEnv``); see :func:`storage_spec_params`."""


CredentialInjector = Callable[
    [core_v1.Container, list[core_v1.Volume], CredentialContext],
    tuple[core_v1.Container, list[core_v1.Volume]],
]
"""Adds storage credentials to the ``storage-initializer`` container (env, volume mounts,
rewritten args) and the pod's volumes; returns both. Built by the caller from the
ServiceAccount and Secrets it read (:func:`credential_injector`); raise
:class:`~.component.ComponentError` to fail."""


def storage_spec_params(spec: StorageSpec | None) -> StorageSpecParams | None:
    """The storage spec that selects storage-spec Secret credentials: upstream's
    ``StorageSpec != nil && StorageKey != nil && Parameters != nil``; otherwise the
    ServiceAccount's Secrets are used."""
    if spec is None or spec.storage_key is None or spec.parameters is None:
        return None
    return StorageSpecParams(spec.storage_key, dict(spec.parameters))


def credential_injector(builder: StorageCredentials) -> CredentialInjector:
    """A :data:`CredentialInjector` doing what upstream's ``CredentialBuilder`` does in
    ``CommonStorageInitialization``: ``CreateStorageSpecSecretEnvs`` for a storage spec with
    key and parameters, else ``CreateSecretVolumeAndEnv`` for the pod's ServiceAccount.
    ``builder`` holds the ServiceAccounts and Secrets already read (a missing ServiceAccount
    is skipped, a missing Secret it lists is a :class:`ComponentError`, as upstream)."""

    def inject(
        container: core_v1.Container, volumes: list[core_v1.Volume], ctx: CredentialContext
    ) -> tuple[core_v1.Container, list[core_v1.Volume]]:
        init: JsonDict = container.to_dict()
        pod: JsonDict = {"volumes": [v.to_dict() for v in volumes]}
        params = storage_spec_params(ctx.storage_spec)
        with _component_errors():
            if params is not None:
                builder.create_storage_spec_secret_envs(
                    ctx.annotations, params.storage_key, params.parameters, init
                )
            else:
                builder.create_secret_volume_and_env(
                    ctx.annotations, ctx.service_account_name, init, pod
                )
        return (
            load(core_v1.Container, init),
            [load(core_v1.Volume, v) for v in pod.get("volumes") or []],
        )

    return inject


@dataclass(frozen=True)
class _InjectorCredentials:
    """A :data:`CredentialInjector` where the shared code wants a
    :class:`~controllers.storage.storage_initializer.StorageCredentials`: whichever way the
    shared code asks, the injector is called once with the whole context (it decides)."""

    inject: CredentialInjector
    namespace: str
    storage_spec: StorageSpec | None
    pod: JsonDict

    def _call(self, annotations: Mapping[str, str], container: JsonDict) -> None:
        context = CredentialContext(
            namespace=self.namespace,
            annotations=dict(annotations),
            service_account_name=str(self.pod.get("serviceAccountName") or "default"),
            storage_spec=self.storage_spec,
        )
        updated, volumes = self.inject(
            load(core_v1.Container, container),
            [load(core_v1.Volume, v) for v in self.pod.get("volumes") or []],
            context,
        )
        container.clear()
        container.update(updated.to_dict())
        if volumes:
            self.pod["volumes"] = [v.to_dict() for v in volumes]

    def create_storage_spec_secret_envs(
        self,
        annotations: Mapping[str, str],
        storage_key: str,
        override_params: Mapping[str, str] | None,
        container: JsonDict,
    ) -> None:
        self._call(annotations, container)

    def create_secret_volume_and_env(
        self,
        annotations: Mapping[str, str],
        service_account_name: str,
        container: JsonDict,
        spec: JsonDict,
    ) -> None:
        self._call(annotations, container)


# ---------------------------------------------------------------------------------------------
# URIs
# ---------------------------------------------------------------------------------------------


def get_storage_container_spec(
    uri: str,
    storage_container_name: str | None,
    storage_containers: Sequence[ClusterStorageContainer],
) -> StorageContainerSpec | None:
    """``pod.GetStorageContainerSpec``
    (:func:`controllers.storage.storage_container.get_storage_container_spec`), refusals as
    :class:`ComponentError`."""
    with _component_errors():
        return csc.get_storage_container_spec(
            uri, storage_container_name, storage_containers
        )


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


# ---------------------------------------------------------------------------------------------
# CommonStorageInitialization for storageUris
# ---------------------------------------------------------------------------------------------


def inject_storage_uris(
    pod_spec: Mapping[str, Any],
    storage_uris: Sequence[StorageUriSpec],
    *,
    config: StorageInitializerConfig,
    annotations: Mapping[str, str] | None,
    namespace: str,
    storage_spec: StorageSpec | None = None,
    storage_container: StorageContainerSpec | None = None,
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> JsonDict:
    """``pod.CommonStorageInitialization`` for ``storageUris`` (the controller's path;
    :func:`controllers.storage.storage_initializer.common_storage_initialization`): a copy of
    ``pod_spec`` (JSON) that downloads or mounts every URI.

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
    creds = (
        None
        if credentials is None
        else _InjectorCredentials(credentials, namespace, storage_spec, pod)
    )
    params = StorageInitializerParams(
        namespace=namespace,
        storage_uris=[StorageUri(u.uri, u.mount_path or DEFAULT_MOUNT_PATH) for u in storage_uris],
        pod_spec=pod,
        config=config,
        credentials=creds,
        is_read_only=get_storage_initializer_read_only_flag(anns),
        annotations=anns,
        storage_spec=storage_spec_params(storage_spec),
        storage_container_spec=storage_container,
        is_legacy_uri=False,
        kserve_namespace=kserve_namespace,
    )
    with _component_errors():
        common_storage_initialization(params)
    return pod


def inject_component_storage_uris(
    pod_spec: Mapping[str, Any],
    storage_uris: Sequence[StorageUriSpec],
    storage_container_name: str | None,
    *,
    storage_containers: Sequence[ClusterStorageContainer],
    config: StorageInitializerConfig,
    annotations: Mapping[str, str] | None,
    namespace: str,
    storage_spec: StorageSpec | None = None,
    credentials: CredentialInjector | None = None,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> JsonDict:
    """A component builder's ``storageUris`` step: ``pod_spec`` itself without URIs, else
    :func:`inject_storage_uris` with the ClusterStorageContainer of the first URI (or the
    named one)."""
    if not storage_uris:
        return dict(pod_spec)
    try:
        storage_container = get_storage_container_spec(
            storage_uris[0].uri, storage_container_name, storage_containers
        )
    except ComponentError as err:
        raise ComponentError(f"failed to get storage container spec: {err}") from None
    return inject_storage_uris(
        pod_spec,
        storage_uris,
        config=config,
        annotations=annotations,
        namespace=namespace,
        storage_spec=storage_spec,
        storage_container=storage_container,
        credentials=credentials,
        kserve_namespace=kserve_namespace,
    )
