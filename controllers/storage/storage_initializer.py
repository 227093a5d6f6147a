"""``CommonStorageInitialization`` (upstream ``pkg/webhook/admission/pod/
storage_initializer_injector.go``): the one implementation of "make the model at these URIs
available to the serving containers of a pod spec", used by both callers upstream has:

- the pod mutator (:mod:`controllers.webhooks.pod.storage_initializer`), for the single
  ``storageUri`` of a pod (``is_legacy_uri``): ``pvc://`` mounted at ``/mnt/models`` with its
  path as subPath, anything else downloaded by the ``storage-initializer`` init container into
  an emptyDir there (OCI sources are the mutator's own later step);
- the InferenceService controller (:mod:`controllers.inferenceservice.components.storage`),
  for ``storageUris``: OCI sources as modelcar/ImageVolume/fetch, PVCs mounted at their paths,
  the rest downloaded by one init container into an emptyDir at their common parent.

The init container then gets storage credentials (:class:`StorageCredentials`, in practice
the pure :class:`~controllers.storage.credentials.CredentialBuilder` over cached objects), the
CA bundle, a ClusterStorageContainer's customisations, HuggingFace and confidential env.

One deliberate difference (``docs/compatibility.md``): after a ClusterStorageContainer's
container is merged over the webhook's init container, the init container keeps the name
``storage-initializer`` (upstream takes the ClusterStorageContainer's name). With another name,
upstream's "already injected" check misses it when the apiserver reinvokes the webhook and a
second init container is injected; the Istio UID step misses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apis.serving.constants import (
    AGENT_SHOULD_INJECT_ANNOTATION,
    CONFIDENTIAL_ENABLED_ANNOTATION,
    CONFIDENTIAL_RESOURCE_ID_ANNOTATION,
    DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP,
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_CONTAINER,
    STORAGE_INITIALIZER_CONTAINER,
    STORAGE_INITIALIZER_VOLUME,
    STORAGE_READONLY_ANNOTATION,
    TRANSFORMER_CONTAINER,
    WORKER_CONTAINER,
)
from apis.serving.v1alpha1.storage_container import StorageContainerSpec
from apis.serving.v1beta1.predictor_implementation import STORAGE_URI_ENV
from controllers.storage import oci
from controllers.storage.container_merge import StrategicMergeError, merge_container_with_patch
from controllers.storage.credentials.s3 import AWS_CA_BUNDLE, AWS_CA_BUNDLE_CONFIGMAP
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    StorageMountParams,
    add_default_hf_env_vars,
    add_model_mount,
    apply_confidential_container_config,
    container_list,
    create_init_container_with_config,
    ensure_list,
    env_list,
    env_var,
    find_common_parent_path,
    get_container,
    get_volume_name_from_path,
    go_dir,
    parse_pvc_uri,
    to_json,
    volume_mount,
    volume_mounts,
    volumes,
)

__all__ = [
    "PVC_SOURCE_VOLUME",
    "PVC_URI_PREFIX",
    "STORAGE_INITIALIZER_VOLUME",
    "StorageCredentials",
    "StorageInitializerParams",
    "StorageSpecParams",
    "StorageUri",
    "common_storage_initialization",
    "get_storage_initializer_read_only_flag",
]

PVC_URI_PREFIX = "pvc://"
PVC_SOURCE_VOLUME = "kserve-pvc-source"


@dataclass(frozen=True)
class StorageUri:
    """``v1beta1.StorageUri``: a source URI and where it is mounted."""

    uri: str
    mount_path: str


@dataclass(frozen=True)
class StorageSpecParams:
    """The storage spec of a pod (``StorageSpec.StorageKey`` / ``Parameters``): credentials
    come from the storage Secret's key instead of the ServiceAccount's Secrets."""

    storage_key: str
    parameters: Mapping[str, str] | None = None


class StorageCredentials(Protocol):
    """What :func:`common_storage_initialization` asks of upstream's ``CredentialBuilder``
    (:class:`~controllers.storage.credentials.CredentialBuilder` is one): add credentials to
    the init container (JSON, edited in place) and, for Secret volumes, to the pod spec.
    Refusals are :class:`~controllers.storage.utils.PodMutationError`."""

    def create_storage_spec_secret_envs(
        self,
        annotations: Mapping[str, str],
        storage_key: str,
        override_params: Mapping[str, str] | None,
        container: JsonDict,
    ) -> None: ...

    def create_secret_volume_and_env(
        self,
        annotations: Mapping[str, str],
        service_account_name: str,
        container: JsonDict,
        spec: JsonDict,
    ) -> None: ...


@dataclass
class StorageInitializerParams:
    """``StorageInitializerParams``. ``pod_spec`` is edited in place."""

    namespace: str
    storage_uris: Sequence[StorageUri]
    pod_spec: JsonDict
    config: Any
    """The ``storageInitializer`` config (``StorageInitializerConfig``)."""
    credentials: StorageCredentials | None = None
    is_read_only: bool = True
    annotations: Mapping[str, str] = field(default_factory=dict)
    storage_spec: StorageSpecParams | None = None
    storage_container_spec: StorageContainerSpec | None = None
    is_legacy_uri: bool = False
    kserve_namespace: str = "kserve"


def get_storage_initializer_read_only_flag(annotations: Mapping[str, str]) -> bool:
    """``GetStorageInitializerReadOnlyFlag``: read-only unless ``storage.kserve.io/readonly``
    is exactly ``"false"``."""
    return annotations.get(STORAGE_READONLY_ANNOTATION) != "false"


# ---------------------------------------------------------------------------------------------
# CommonStorageInitialization
# ---------------------------------------------------------------------------------------------


def _inject_oci_sources(params: StorageInitializerParams) -> None:
    """The ``storageUris`` OCI dispatch: every OCI source into kserve-container (else
    worker-container) and transformer-container."""
    spec = params.pod_spec
    user = get_container(spec, INFERENCE_SERVICE_CONTAINER)
    worker = get_container(spec, WORKER_CONTAINER)
    if user is None and worker is None:
        raise PodMutationError("Invalid configuration: cannot find container", "spec.containers")
    paths = [s.mount_path for s in params.storage_uris if oci.parse_oci_scheme(s.uri)[2]]
    if len(paths) > oci.MAX_OCI_SOURCES_PER_POD:
        raise PodMutationError(
            f"too many OCI sources ({len(paths)}); maximum is {oci.MAX_OCI_SOURCES_PER_POD} per pod"
        )
    oci.validate_oci_mount_paths(paths, oci.resolve_oci_model_mode(params.config))
    target = INFERENCE_SERVICE_CONTAINER if user is not None else WORKER_CONTAINER
    index = 0
    for s in params.storage_uris:
        mode, uri, is_oci = oci.effective_oci_mode(s.uri, params.config)
        if not is_oci or mode == "":
            continue
        for name in (target, TRANSFORMER_CONTAINER):
            if name == TRANSFORMER_CONTAINER and get_container(spec, name) is None:
                continue
            oci.configure_oci(
                mode,
                uri,
                spec,
                name,
                s.mount_path,
                params.config,
                params.namespace,
                params.kserve_namespace,
                index,
            )
        index += 1


def _multi_uri_mounts(
    params: StorageInitializerParams, user: JsonDict, transformer: JsonDict | None
) -> JsonDict | None:
    """The ``storageUris`` path: PVCs mounted per path, the rest downloaded by one init
    container into an emptyDir at their common parent. Returns the init container."""
    spec = params.pod_spec
    csc = params.storage_container_spec
    if csc is not None and not csc.supports_multi_model_download:
        name = to_json(csc.container).get("name", "")
        raise PodMutationError(
            f'storage container "{name}" does not support multi-model download; use the '
            "default kserve storage initializer or a compatible storage container"
        )
    pvcs = [
        s
        for s in params.storage_uris
        if not oci.parse_oci_scheme(s.uri)[2] and s.uri.startswith(PVC_URI_PREFIX)
    ]
    others = [
        s
        for s in params.storage_uris
        if not oci.parse_oci_scheme(s.uri)[2] and not s.uri.startswith(PVC_URI_PREFIX)
    ]
    names = [user["name"]] + ([transformer["name"]] if transformer is not None else [])
    for s in pvcs:
        for name in names:
            pvc, _ = parse_pvc_uri(s.uri)
            mount = StorageMountParams(
                mount_path=s.mount_path,
                volume_name=get_volume_name_from_path(s.mount_path),
                pvc_name=pvc,
                read_only=params.is_read_only,
            )
            add_model_mount(mount, name, spec)
    if not others:
        return None
    common = find_common_parent_path([s.mount_path for s in others])
    args: list[str] = []
    for s in others:
        args.extend([s.uri, s.mount_path])
    init = create_init_container_with_config(params.config, args)
    ensure_list(spec, "initContainers").append(init)
    mount = StorageMountParams(
        mount_path=common,
        volume_name=get_volume_name_from_path(common),
        read_only=params.is_read_only,
    )
    for name in [*names, init["name"]]:
        add_model_mount(mount, name, spec)
    return init


def _single_uri_mounts(
    params: StorageInitializerParams, user: JsonDict, transformer: JsonDict | None
) -> JsonDict | None:
    """The single-URI path: ``pvc://`` mounted at ``/mnt/models`` with its path as subPath,
    anything else downloaded by the init container into ``kserve-provision-location``."""
    spec = params.pod_spec
    source = params.storage_uris[0]
    mount = StorageMountParams(
        mount_path=DEFAULT_MOUNT_PATH,
        volume_name=STORAGE_INITIALIZER_VOLUME,
        read_only=params.is_read_only,
    )
    names = [user["name"]] + ([transformer["name"]] if transformer is not None else [])
    init: JsonDict | None = None
    if source.uri.startswith(PVC_URI_PREFIX):
        pvc, path = parse_pvc_uri(source.uri)
        mount = StorageMountParams(
            mount_path=DEFAULT_MOUNT_PATH,
            volume_name=PVC_SOURCE_VOLUME,
            sub_path=path,
            pvc_name=pvc,
            read_only=params.is_read_only,
        )
    else:
        init = create_init_container_with_config(params.config, [source.uri, source.mount_path])
        ensure_list(spec, "initContainers").append(init)
        names.append(init["name"])
    for name in names:
        add_model_mount(mount, name, spec)
    for e in user.get("env") or []:
        if isinstance(e, dict) and e.get("name") == STORAGE_URI_ENV and e.get("value"):
            e["value"] = DEFAULT_MOUNT_PATH
    return init


def _ca_bundle(params: StorageInitializerParams, init: JsonDict) -> tuple[str, str] | None:
    """``needCaBundleMount`` and the ConfigMap name / mount path to use (from the init
    container's ``AWS_CA_BUNDLE_CONFIGMAP`` / ``AWS_CA_BUNDLE`` env when set)."""
    env = [e for e in (init.get("env") or []) if isinstance(e, dict)]
    configured = params.config.ca_bundle_config_map_name
    if not configured and not any(e.get("name") == AWS_CA_BUNDLE_CONFIGMAP for e in env):
        return None
    name = configured
    if params.namespace != params.kserve_namespace:
        name = DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP
    path = params.config.ca_bundle_volume_mount_path or oci.DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH
    for e in env:
        if e.get("name") == AWS_CA_BUNDLE_CONFIGMAP:
            name = e.get("value") or ""
        if e.get("name") == AWS_CA_BUNDLE:
            path = go_dir(e.get("value") or "")
    return name, path


def _finish_init_container(params: StorageInitializerParams, init: JsonDict) -> None:
    """Credentials, CA bundle, the ClusterStorageContainer overlay, HF and confidential env."""
    spec = params.pod_spec
    creds = params.credentials
    if creds is not None:
        if params.storage_spec is not None:
            creds.create_storage_spec_secret_envs(
                params.annotations,
                params.storage_spec.storage_key,
                params.storage_spec.parameters,
                init,
            )
        else:
            creds.create_secret_volume_and_env(
                params.annotations, str(spec.get("serviceAccountName") or ""), init, spec
            )
    ca = _ca_bundle(params, init)
    if params.storage_container_spec is not None:
        overlay = to_json(params.storage_container_spec.container)
        try:
            merged = merge_container_with_patch(init, overlay)
        except StrategicMergeError as err:
            raise PodMutationError(f"could not apply strategic merge patch: {err}") from None
        if params.is_legacy_uri:
            merged["name"] = STORAGE_INITIALIZER_CONTAINER  # see the module docstring
        init.clear()
        init.update(merged)
    if ca is not None:
        name, path = ca
        env = env_list(init)
        names = {e.get("name") for e in env}
        if oci.CA_BUNDLE_CONFIGMAP_NAME_ENV not in names:
            env.append(env_var(oci.CA_BUNDLE_CONFIGMAP_NAME_ENV, name))
        if oci.CA_BUNDLE_VOLUME_MOUNT_PATH_ENV not in names:
            env.append(env_var(oci.CA_BUNDLE_VOLUME_MOUNT_PATH_ENV, path))
        volumes(spec).append({"name": oci.CA_BUNDLE_VOLUME_NAME, "configMap": {"name": name}})
        volume_mounts(init).append(volume_mount(oci.CA_BUNDLE_VOLUME_NAME, path, True))
    add_default_hf_env_vars(init)
    if params.annotations.get(CONFIDENTIAL_ENABLED_ANNOTATION) == "true":
        apply_confidential_container_config(
            init, params.annotations.get(CONFIDENTIAL_RESOURCE_ID_ANNOTATION, "")
        )


def common_storage_initialization(params: StorageInitializerParams) -> None:
    """``CommonStorageInitialization``: mount or download ``params.storage_uris`` for
    kserve-container (else worker-container) and transformer-container.

    Skipped when the model agent is injected (puller annotation), when a storage-initializer
    init container exists, and (single-URI webhook path) for OCI sources, which the OCI step
    handles. For ``storageUris`` OCI sources are materialised here, the others fall through.
    """
    if AGENT_SHOULD_INJECT_ANNOTATION in params.annotations:
        return
    spec = params.pod_spec
    if any(oci.effective_oci_mode(s.uri, params.config)[0] for s in params.storage_uris):
        if params.is_legacy_uri:
            return
        _inject_oci_sources(params)
    if any(
        c.get("name") == STORAGE_INITIALIZER_CONTAINER
        for c in container_list(spec, "initContainers")
    ):
        return
    if not params.storage_uris:
        return
    user = get_container(spec, INFERENCE_SERVICE_CONTAINER)
    transformer = get_container(spec, TRANSFORMER_CONTAINER)
    if user is None:
        user = get_container(spec, WORKER_CONTAINER)
        if user is None:
            raise PodMutationError(
                "Invalid configuration: cannot find container", "spec.containers"
            )
    if not params.is_legacy_uri:
        init = _multi_uri_mounts(params, user, transformer)
    elif len(params.storage_uris) == 1:
        init = _single_uri_mounts(params, user, transformer)
    else:
        init = None
    if init is not None:
        _finish_init_container(params, init)
