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
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightkube.models import core_v1

from apis.serving.constants import (
    AGENT_SHOULD_INJECT_ANNOTATION,
    CONFIDENTIAL_ENABLED_ANNOTATION,
    CONFIDENTIAL_RESOURCE_ID_ANNOTATION,
    DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP,
    DEFAULT_MOUNT_PATH,
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
from apis.serving.validation import canonical_quantity, find_common_parent_path

from .component import ComponentError, load
from .runtime_merge import merge_container_with_patch

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
DEFAULT_STORAGE_INITIALIZER_IMAGE = "kserve/storage-initializer:latest"
"""``StorageInitializerContainerImage:StorageInitializerContainerImageVersion``."""
DEFAULT_KSERVE_NAMESPACE = "kserve"
"""``constants.KServeNamespace`` when ``POD_NAMESPACE`` is unset."""
DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH = "/etc/ssl/custom-certs"
CA_BUNDLE_VOLUME_NAME = "cabundle-cert"
CA_BUNDLE_CONFIGMAP_NAME_ENV = "CA_BUNDLE_CONFIGMAP_NAME"
CA_BUNDLE_VOLUME_MOUNT_PATH_ENV = "CA_BUNDLE_VOLUME_MOUNT_POINT"
AWS_CA_BUNDLE_CONFIGMAP_ENV = "AWS_CA_BUNDLE_CONFIGMAP"
AWS_CA_BUNDLE_ENV = "AWS_CA_BUNDLE"
MAX_OCI_SOURCES_PER_POD = 10
"""``utils.MaxOCISourcesPerPod``."""
MODEL_INIT_MODE_ENV = "MODEL_INIT_MODE"
MODELCAR_CONTAINER = "modelcar"
MODELCAR_INIT_CONTAINER = "modelcar-init"
STORAGE_INITIALIZER_VOLUME = "kserve-provision-location"
"""``constants.StorageInitializerVolumeName``."""
CPU_MODELCAR_DEFAULT = "10m"
MEMORY_MODELCAR_DEFAULT = "15Mi"
OCI_MODE_MODELCAR = "modelcar"
OCI_MODE_NATIVE = "native"
OCI_MODE_FETCH = "fetch"
_OCI_FETCH_DOCKER_CONFIG_VOLUME = "kserve-oci-fetch-docker-config"
_OCI_FETCH_DOCKER_CONFIG_DIR = "/mnt/oci-fetch-auth"
_OCI_FETCH_DOCKER_CONFIG_ENV = "KSERVE_OCI_DOCKER_CONFIG"
_OCI_FETCH_DEFAULT_VOLUME = "oci-fetch-model"
_OCI_FETCH_INSECURE_ENV = "KSERVE_OCI_INSECURE_REGISTRY"
_HF_ENV_DEFAULTS = (
    ("HF_HUB_ENABLE_HF_TRANSFER", "1"),
    ("HF_XET_HIGH_PERFORMANCE", "1"),
    ("HF_XET_NUM_CONCURRENT_RANGE_GETS", "8"),
)
_CONFIDENTIAL_ENABLED_ENV = "CONFIDENTIAL_ENABLED"
_CONFIDENTIAL_RESOURCE_ID_ENV = "CONFIDENTIAL_RESOURCE_ID"

JsonDict = dict[str, Any]


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


def parse_oci_scheme(uri: str) -> tuple[str, str, bool]:
    """``ParseOciScheme``: ``(mode, normalized oci:// URI, is OCI)``; ``oci+<mode>://`` gives
    the mode, plain ``oci://`` an empty mode (resolved from the config)."""
    if uri.startswith("oci+"):
        rest = uri[4:]
        sep = rest.find("://")
        if sep > 0:
            return rest[:sep], "oci://" + rest[sep + 3 :], True
    if uri.startswith("oci://"):
        return "", uri, True
    return "", uri, False


def resolve_oci_model_mode(config: StorageInitializerConfig) -> str:
    """``types.ResolveOciModelMode``: ``ociModelMode``, else modelcar when ``enableModelcar`` or
    ``enableOciModelSupport``, else ``""`` (OCI disabled)."""
    if config.oci_model_mode:
        return config.oci_model_mode
    if config.enable_oci_image_source or config.enable_oci_model_support:
        return OCI_MODE_MODELCAR
    return ""


def volume_name_from_path(path: str) -> str:
    """``GetVolumeNameFromPath``: ``/mnt/models`` -> ``mnt-models``."""
    return path.strip("/").replace("/", "-")


def _go_dir(path: str) -> str:
    """Go's ``filepath.Dir``: everything up to the last ``/``, cleaned; ``.`` without one."""
    cut = path.rfind("/")
    if cut < 0:
        return "."
    cleaned = posixpath.normpath(path[: cut + 1])
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _parent_directory(path: str) -> str:
    """``utils.GetParentDirectory``: ``filepath.Dir``, ``/`` for a top-level path."""
    parent = _go_dir(path)
    return "/" if parent in (".", "/") else parent


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
# pod spec helpers (JSON)
# ---------------------------------------------------------------------------------------------


def _container(pod: JsonDict, name: str) -> JsonDict | None:
    for c in pod.get("containers") or []:
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    return None


def _init_container(pod: JsonDict, name: str) -> JsonDict | None:
    for c in pod.get("initContainers") or []:
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    return None


def _volume_exists(pod: JsonDict, name: str) -> bool:
    return any(v.get("name") == name for v in pod.get("volumes") or [])


def _add_or_replace_env(container: JsonDict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for e in env:
        if e.get("name") == name:
            e["value"] = value
            return
    env.append({"name": name, "value": value})


def _add_env_if_missing(container: JsonDict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    if not any(e.get("name") == name for e in env):
        env.append({"name": name, "value": value})


def _add_mount_if_absent(
    container: JsonDict, name: str, mount_path: str, read_only: bool, sub_path: str = ""
) -> bool:
    mounts = container.setdefault("volumeMounts", [])
    if any(m.get("name") == name for m in mounts):
        return False
    mount: JsonDict = {"name": name, "mountPath": mount_path}
    if sub_path:
        mount["subPath"] = sub_path
    if read_only:
        mount["readOnly"] = True
    mounts.append(mount)
    return True


def _add_model_mount(
    pod: JsonDict,
    container_name: str,
    *,
    mount_path: str,
    volume_name: str,
    pvc_name: str = "",
    read_only: bool,
) -> None:
    """``utils.AddModelMount``: mount ``volume_name`` (a PVC or an emptyDir) into the
    container (init containers always writable) and add the volume once."""
    added = False
    target = _container(pod, container_name)
    if target is not None:
        added = _add_mount_if_absent(target, volume_name, mount_path, read_only)
    if not added:
        init = _init_container(pod, container_name)
        if init is not None:
            added = _add_mount_if_absent(init, volume_name, mount_path, False)
    if added and not _volume_exists(pod, volume_name):
        source: JsonDict = (
            {"persistentVolumeClaim": {"claimName": pvc_name}} if pvc_name else {"emptyDir": {}}
        )
        pod.setdefault("volumes", []).append({"name": volume_name, **source})


def _quantity(value: str, field: str) -> str:
    try:
        return canonical_quantity(value)
    except ValueError:
        raise ComponentError(
            f"invalid storageInitializer config: {field} {value!r} is not a quantity"
        ) from None


def create_init_container(config: StorageInitializerConfig, args: Sequence[str]) -> JsonDict:
    """``CreateInitContainerWithConfig``: the ``storage-initializer`` container with the
    config's image (default ``kserve/storage-initializer:latest``) and cpu/memory
    requests/limits (a missing or malformed quantity is a :class:`ComponentError`; upstream
    panics)."""
    return {
        "name": STORAGE_INITIALIZER_CONTAINER,
        "image": config.image or DEFAULT_STORAGE_INITIALIZER_IMAGE,
        "args": list(args),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {
            "limits": {
                "cpu": _quantity(config.cpu_limit, "cpuLimit"),
                "memory": _quantity(config.memory_limit, "memoryLimit"),
            },
            "requests": {
                "cpu": _quantity(config.cpu_request, "cpuRequest"),
                "memory": _quantity(config.memory_request, "memoryRequest"),
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# OCI: modelcar, native image volume, fetch
# ---------------------------------------------------------------------------------------------


def _shell_quote(s: str) -> str:
    """``utils.ShellQuote``."""
    if not s:
        return "''"
    if re.fullmatch(r"[A-Za-z0-9/._-]+", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def _modelcar_command(model_path: str) -> str:
    if model_path != DEFAULT_MOUNT_PATH:
        return (
            f"mkdir -p {_shell_quote(_go_dir(model_path))} && "
            f"ln -sf /proc/$$$$/root/models {_shell_quote(model_path)} && sleep infinity"
        )
    return f"ln -sf /proc/$$$$/root/models {_shell_quote(model_path)} && sleep infinity"


def _modelcar_names(index: int) -> tuple[str, str, str]:
    if index == 0:
        return MODELCAR_CONTAINER, MODELCAR_INIT_CONTAINER, STORAGE_INITIALIZER_VOLUME
    return (
        f"{MODELCAR_CONTAINER}-{index}",
        f"{MODELCAR_INIT_CONTAINER}-{index}",
        f"{STORAGE_INITIALIZER_VOLUME}-{index}",
    )


def _modelcar_resources(config: StorageInitializerConfig) -> JsonDict:
    cpu = _quantity(config.cpu_modelcar or CPU_MODELCAR_DEFAULT, "cpuModelcar")
    memory = _quantity(config.memory_modelcar or MEMORY_MODELCAR_DEFAULT, "memoryModelcar")
    return {"limits": {"cpu": cpu, "memory": memory}, "requests": {"cpu": cpu, "memory": memory}}


def _configure_modelcar(
    pod: JsonDict,
    uri: str,
    target_name: str,
    model_path: str,
    config: StorageInitializerConfig,
    index: int,
) -> None:
    """``ConfigureModelcarToContainer``."""
    target = _container(pod, target_name)
    if target is None:
        raise ComponentError(f"no container found with name {target_name}")
    sidecar, init, volume = _modelcar_names(index)
    _add_or_replace_env(target, MODEL_INIT_MODE_ENV, "async")
    parent = _parent_directory(model_path)
    if not _volume_exists(pod, volume):
        pod.setdefault("volumes", []).append({"name": volume, "emptyDir": {}})
    _add_mount_if_absent(target, volume, parent, False)
    if config.uid_modelcar is not None:
        target.setdefault("securityContext", {})["runAsUser"] = config.uid_modelcar
    if _container(pod, sidecar) is None:
        image = uri.removeprefix("oci://")
        modelcar: JsonDict = {
            "name": sidecar,
            "image": image,
            "volumeMounts": [{"name": volume, "mountPath": parent}],
            "args": ["sh", "-c", _modelcar_command(model_path)],
            "resources": _modelcar_resources(config),
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        if config.uid_modelcar is not None:
            modelcar["securityContext"] = {"runAsUser": config.uid_modelcar}
        pod.setdefault("containers", []).append(modelcar)
        pod.setdefault("initContainers", []).append(
            {
                "name": init,
                "image": image,
                "args": [
                    "sh",
                    "-c",
                    "echo 'Pre-fetching modelcar "
                    + image
                    + ": ' && [ -d /models ] && [ \"$$(ls -A /models)\" ] && echo 'OK ... "
                    "Prefetched and valid (/models exists)' || (echo 'NOK ... Prefetched but "
                    "modelcar is invalid (/models does not exist or is empty)' && exit 1)",
                ],
                "resources": _modelcar_resources(config),
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        )
    pod["shareProcessNamespace"] = True


def _configure_oci_native(pod: JsonDict, uri: str, target_name: str, model_path: str) -> None:
    """``ConfigureOciNativeToContainer``: an ImageVolume mounted at ``model_path``
    (subPath ``models``, read-only)."""
    target = _container(pod, target_name)
    if target is None:
        raise ComponentError(f"no container found with name {target_name}")
    image = uri.removeprefix("oci://")
    volume = volume_name_from_path(model_path) or "oci-model"
    for m in target.get("volumeMounts") or []:
        if m.get("mountPath") == model_path and m.get("name") != volume:
            raise ComponentError(
                f'mountPath "{model_path}" already used by volume "{m.get("name")}"'
            )
    if not _volume_exists(pod, volume):
        pod.setdefault("volumes", []).append(
            {"name": volume, "image": {"reference": image, "pullPolicy": "IfNotPresent"}}
        )
    _add_mount_if_absent(target, volume, model_path, True, sub_path="models")


def _ca_bundle(
    config: StorageInitializerConfig, namespace: str, kserve_namespace: str
) -> tuple[str, str]:
    name = config.ca_bundle_config_map_name
    if namespace != kserve_namespace:
        name = DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP
    return name, config.ca_bundle_volume_mount_path or DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH


def _configure_oci_fetch(
    pod: JsonDict,
    uri: str,
    target_name: str,
    model_path: str,
    config: StorageInitializerConfig,
    namespace: str,
    kserve_namespace: str,
) -> None:
    """``ConfigureOciFetchToContainer``: the storage initializer pulls the image's model
    layers (registry credentials from the first imagePullSecret, CA bundle, insecure flag)."""
    if _container(pod, target_name) is None:
        raise ComponentError(f"no container found with name {target_name}")
    init = _init_container(pod, STORAGE_INITIALIZER_CONTAINER)
    if init is None:
        init = create_init_container(config, [uri, model_path])
        pod.setdefault("initContainers", []).append(init)
        secrets = pod.get("imagePullSecrets") or []
        if secrets and not _volume_exists(pod, _OCI_FETCH_DOCKER_CONFIG_VOLUME):
            pod.setdefault("volumes", []).append(
                {
                    "name": _OCI_FETCH_DOCKER_CONFIG_VOLUME,
                    "secret": {
                        "secretName": secrets[0].get("name"),
                        "defaultMode": 0o400,
                        "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
                    },
                }
            )
            init.setdefault("volumeMounts", []).append(
                {
                    "name": _OCI_FETCH_DOCKER_CONFIG_VOLUME,
                    "mountPath": _OCI_FETCH_DOCKER_CONFIG_DIR,
                    "readOnly": True,
                }
            )
            init.setdefault("env", []).append(
                {
                    "name": _OCI_FETCH_DOCKER_CONFIG_ENV,
                    "value": _OCI_FETCH_DOCKER_CONFIG_DIR + "/config.json",
                }
            )
        if config.ca_bundle_config_map_name and not _volume_exists(pod, CA_BUNDLE_VOLUME_NAME):
            cm, path = _ca_bundle(config, namespace, kserve_namespace)
            init.setdefault("env", []).extend(
                [
                    {"name": CA_BUNDLE_CONFIGMAP_NAME_ENV, "value": cm},
                    {"name": CA_BUNDLE_VOLUME_MOUNT_PATH_ENV, "value": path},
                ]
            )
            pod.setdefault("volumes", []).append(
                {"name": CA_BUNDLE_VOLUME_NAME, "configMap": {"name": cm}}
            )
            init.setdefault("volumeMounts", []).append(
                {"name": CA_BUNDLE_VOLUME_NAME, "mountPath": path, "readOnly": True}
            )
        if config.oci_insecure_registry:
            init.setdefault("env", []).append({"name": _OCI_FETCH_INSECURE_ENV, "value": "true"})
    else:
        args = init.get("args") or []
        if not any(
            args[i] == uri and args[i + 1] == model_path for i in range(0, len(args) - 1, 2)
        ):
            init["args"] = [*args, uri, model_path]
    volume = volume_name_from_path(model_path) or _OCI_FETCH_DEFAULT_VOLUME
    for name in (STORAGE_INITIALIZER_CONTAINER, target_name):
        _add_model_mount(pod, name, mount_path=model_path, volume_name=volume, read_only=False)


def _validate_oci_mount_paths(paths: Sequence[str], mode: str) -> None:
    """``utils.ValidateOCIMountPaths``."""
    if len(paths) <= 1:
        return
    if mode == OCI_MODE_NATIVE:
        seen: set[str] = set()
        for p in paths:
            if p in seen:
                raise ComponentError(
                    f'OCI mount path "{p}" is specified more than once; each native ImageVolume '
                    "must have a unique mount path"
                )
            seen.add(p)
        return
    parents: dict[str, str] = {}
    for p in paths:
        parent = _parent_directory(p)
        if parent in parents:
            raise ComponentError(
                f'OCI mount paths "{parents[parent]}" and "{p}" share parent directory '
                f'"{parent}", which would cause volume mount shadowing; use mount paths with '
                "distinct parent directories"
            )
        parents[parent] = p


def _inject_oci(
    pod: JsonDict,
    uris: Sequence[StorageUri],
    config: StorageInitializerConfig,
    namespace: str,
    kserve_namespace: str,
) -> None:
    config_mode = resolve_oci_model_mode(config)
    if not any(
        parse_oci_scheme(u.uri)[2] and (parse_oci_scheme(u.uri)[0] or config_mode) for u in uris
    ):
        return
    user = _container(pod, INFERENCE_SERVICE_CONTAINER)
    if user is None and _container(pod, WORKER_CONTAINER) is None:
        raise ComponentError("Invalid configuration: cannot find container")
    paths = [_mount_path(u) for u in uris if parse_oci_scheme(u.uri)[2]]
    if len(paths) > MAX_OCI_SOURCES_PER_POD:
        raise ComponentError(
            f"too many OCI sources ({len(paths)}); maximum is {MAX_OCI_SOURCES_PER_POD} per pod"
        )
    _validate_oci_mount_paths(paths, config_mode)
    target = INFERENCE_SERVICE_CONTAINER if user is not None else WORKER_CONTAINER
    index = 0
    for u in uris:
        mode, normalized, is_oci = parse_oci_scheme(u.uri)
        if not is_oci:
            continue
        mode = mode or config_mode
        if not mode:
            continue
        path = _mount_path(u)
        targets = [target]
        if _container(pod, TRANSFORMER_CONTAINER) is not None:
            targets.append(TRANSFORMER_CONTAINER)
        for name in targets:
            if mode == OCI_MODE_NATIVE:
                _configure_oci_native(pod, normalized, name, path)
            elif mode == OCI_MODE_FETCH:
                _configure_oci_fetch(
                    pod, normalized, name, path, config, namespace, kserve_namespace
                )
            else:
                _configure_modelcar(pod, normalized, name, path, config, index)
        index += 1


def _mount_path(uri: StorageUri) -> str:
    return uri.mount_path or DEFAULT_MOUNT_PATH


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
    _inject_oci(pod, storage_uris, config, namespace, kserve_namespace)
    if _init_container(pod, STORAGE_INITIALIZER_CONTAINER) is not None or not storage_uris:
        return pod
    user = _container(pod, INFERENCE_SERVICE_CONTAINER) or _container(pod, WORKER_CONTAINER)
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
    if _container(pod, TRANSFORMER_CONTAINER) is not None:
        targets.append(TRANSFORMER_CONTAINER)
    for u in pvc_uris:
        claim, _ = parse_pvc_uri(u.uri)
        path = _mount_path(u)
        for name in targets:
            _add_model_mount(
                pod,
                name,
                mount_path=path,
                volume_name=volume_name_from_path(path),
                pvc_name=claim,
                read_only=read_only,
            )
    if not download:
        return pod
    common = find_common_parent_path([_mount_path(u) for u in download])
    args = [arg for u in download for arg in (u.uri, _mount_path(u))]
    init = create_init_container(config, args)
    pod.setdefault("initContainers", []).append(init)
    for name in (*targets, STORAGE_INITIALIZER_CONTAINER):
        _add_model_mount(
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
        ca_name, ca_path = _ca_bundle(config, namespace, kserve_namespace)
        for e in env:
            if e.get("name") == AWS_CA_BUNDLE_CONFIGMAP_ENV:
                ca_name = str(e.get("value") or "")
            if e.get("name") == AWS_CA_BUNDLE_ENV:
                ca_path = _go_dir(str(e.get("value") or ""))
    if storage_container is not None:
        init = merge_container_with_patch(init, storage_container.container.to_dict())
    if needs_ca:
        _add_env_if_missing(init, CA_BUNDLE_CONFIGMAP_NAME_ENV, ca_name)
        _add_env_if_missing(init, CA_BUNDLE_VOLUME_MOUNT_PATH_ENV, ca_path)
        pod.setdefault("volumes", []).append(
            {"name": CA_BUNDLE_VOLUME_NAME, "configMap": {"name": ca_name}}
        )
        init.setdefault("volumeMounts", []).append(
            {"name": CA_BUNDLE_VOLUME_NAME, "mountPath": ca_path, "readOnly": True}
        )
    for name, value in _HF_ENV_DEFAULTS:
        _add_env_if_missing(init, name, value)
    if annotations.get(CONFIDENTIAL_ENABLED_ANNOTATION) == "true":
        _add_or_replace_env(init, _CONFIDENTIAL_ENABLED_ENV, "true")
        resource_id = annotations.get(CONFIDENTIAL_RESOURCE_ID_ANNOTATION, "")
        if resource_id:
            _add_or_replace_env(init, _CONFIDENTIAL_RESOURCE_ID_ENV, resource_id)
    inits[at] = init
