"""OCI model sources in ``storageUris`` (upstream ``pkg/utils/storage.go``
``ConfigureModelcarToContainer``/``ConfigureOciNativeToContainer``/``ValidateOCIMountPaths``,
``pod/oci_fetch.go`` ``ConfigureOciFetchToContainer`` and the OCI block of
``CommonStorageInitialization``): a modelcar sidecar sharing its filesystem, a Kubernetes
image volume (``native``), or the storage initializer pulling the layers (``fetch``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from apis.serving.constants import (
    DEFAULT_MOUNT_PATH,
    INFERENCE_SERVICE_CONTAINER,
    STORAGE_INITIALIZER_CONTAINER,
    TRANSFORMER_CONTAINER,
    WORKER_CONTAINER,
)
from apis.serving.v1beta1 import StorageUri
from apis.serving.v1beta1.configmap import StorageInitializerConfig

from .component import ComponentError
from .storage_pod import (
    CA_BUNDLE_CONFIGMAP_NAME_ENV,
    CA_BUNDLE_VOLUME_MOUNT_PATH_ENV,
    CA_BUNDLE_VOLUME_NAME,
    JsonDict,
    add_model_mount,
    add_mount_if_absent,
    add_or_replace_env,
    ca_bundle,
    container,
    create_init_container,
    go_dir,
    init_container,
    mount_path,
    parent_directory,
    quantity,
    volume_exists,
    volume_name_from_path,
)

__all__ = [
    "MAX_OCI_SOURCES_PER_POD",
    "OCI_MODE_FETCH",
    "OCI_MODE_MODELCAR",
    "OCI_MODE_NATIVE",
    "inject_oci",
    "parse_oci_scheme",
    "resolve_oci_model_mode",
]

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
            f"mkdir -p {_shell_quote(go_dir(model_path))} && "
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
    cpu = quantity(config.cpu_modelcar or CPU_MODELCAR_DEFAULT, "cpuModelcar")
    memory = quantity(config.memory_modelcar or MEMORY_MODELCAR_DEFAULT, "memoryModelcar")
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
    target = container(pod, target_name)
    if target is None:
        raise ComponentError(f"no container found with name {target_name}")
    sidecar, init, volume = _modelcar_names(index)
    add_or_replace_env(target, MODEL_INIT_MODE_ENV, "async")
    parent = parent_directory(model_path)
    if not volume_exists(pod, volume):
        pod.setdefault("volumes", []).append({"name": volume, "emptyDir": {}})
    add_mount_if_absent(target, volume, parent, False)
    if config.uid_modelcar is not None:
        target.setdefault("securityContext", {})["runAsUser"] = config.uid_modelcar
    if container(pod, sidecar) is None:
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
    target = container(pod, target_name)
    if target is None:
        raise ComponentError(f"no container found with name {target_name}")
    image = uri.removeprefix("oci://")
    volume = volume_name_from_path(model_path) or "oci-model"
    for m in target.get("volumeMounts") or []:
        if m.get("mountPath") == model_path and m.get("name") != volume:
            raise ComponentError(
                f'mountPath "{model_path}" already used by volume "{m.get("name")}"'
            )
    if not volume_exists(pod, volume):
        pod.setdefault("volumes", []).append(
            {"name": volume, "image": {"reference": image, "pullPolicy": "IfNotPresent"}}
        )
    add_mount_if_absent(target, volume, model_path, True, sub_path="models")


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
    if container(pod, target_name) is None:
        raise ComponentError(f"no container found with name {target_name}")
    init = init_container(pod, STORAGE_INITIALIZER_CONTAINER)
    if init is None:
        init = create_init_container(config, [uri, model_path])
        pod.setdefault("initContainers", []).append(init)
        secrets = pod.get("imagePullSecrets") or []
        if secrets and not volume_exists(pod, _OCI_FETCH_DOCKER_CONFIG_VOLUME):
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
        if config.ca_bundle_config_map_name and not volume_exists(pod, CA_BUNDLE_VOLUME_NAME):
            cm, path = ca_bundle(config, namespace, kserve_namespace)
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
        add_model_mount(pod, name, mount_path=model_path, volume_name=volume, read_only=False)


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
        parent = parent_directory(p)
        if parent in parents:
            raise ComponentError(
                f'OCI mount paths "{parents[parent]}" and "{p}" share parent directory '
                f'"{parent}", which would cause volume mount shadowing; use mount paths with '
                "distinct parent directories"
            )
        parents[parent] = p


def inject_oci(
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
    user = container(pod, INFERENCE_SERVICE_CONTAINER)
    if user is None and container(pod, WORKER_CONTAINER) is None:
        raise ComponentError("Invalid configuration: cannot find container")
    paths = [mount_path(u) for u in uris if parse_oci_scheme(u.uri)[2]]
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
        path = mount_path(u)
        targets = [target]
        if container(pod, TRANSFORMER_CONTAINER) is not None:
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
