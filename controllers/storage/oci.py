"""OCI model storage (upstream ``pkg/utils/storage.go`` modelcar/native helpers and
``pod/oci_fetch.go``), for the pod mutator's ``InjectModelcar`` and for ``storageUris``.

Three ways to serve a model packaged as an OCI image, chosen by the URI scheme
(``oci+native://``, ``oci+fetch://``, ``oci+modelcar://``) or, for a bare ``oci://``, by
``storageInitializer.ociModelMode`` (``enableModelcar`` / ``enableOciModelSupport`` mean
modelcar):

* **modelcar**: the image runs as a sidecar; the model server reaches its ``/models`` through
  ``/proc/<pid>/root`` (``shareProcessNamespace``), a ``modelcar-init`` init container
  pre-fetches the image;
* **native**: a Kubernetes ImageVolume mounted read-only with ``subPath: models``;
* **fetch**: the storage-initializer init container pulls the image's layers into an emptyDir.

All of them are idempotent (the apiserver reinvokes the webhook).
"""

from __future__ import annotations

from typing import Any

from apis.serving.constants import (
    DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP,
    DEFAULT_MOUNT_PATH,
    STORAGE_INITIALIZER_CONTAINER,
    STORAGE_INITIALIZER_VOLUME,
)
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    StorageMountParams,
    add_empty_dir_volume_if_not_present,
    add_model_mount,
    add_or_replace_env,
    add_volume_mount_if_not_present,
    container_list,
    create_init_container_with_config,
    ensure_list,
    env_list,
    env_var,
    get_container,
    get_init_container,
    get_parent_directory,
    get_volume_name_from_path,
    go_dir,
    quantity,
    volume_mount,
    volume_mounts,
    volumes,
)

__all__ = [
    "CA_BUNDLE_VOLUME_NAME",
    "MAX_OCI_SOURCES_PER_POD",
    "MODELCAR_CONTAINER",
    "MODELCAR_INIT_CONTAINER",
    "OCI_FETCH_DOCKER_CONFIG_DIR",
    "OCI_FETCH_DOCKER_CONFIG_VOLUME",
    "OCI_MODEL_MODES",
    "configure_modelcar_to_container",
    "configure_oci_fetch_to_container",
    "configure_oci_native_to_container",
    "modelcar_names",
    "parse_oci_scheme",
    "resolve_oci_model_mode",
    "shell_quote",
    "validate_oci_mount_paths",
]

OCI_URI_PREFIX = "oci://"
OCI_MODEL_MODES: tuple[str, ...] = ("modelcar", "native", "fetch")
MODELCAR_CONTAINER = "modelcar"
MODELCAR_INIT_CONTAINER = "modelcar-init"
MODEL_INIT_MODE_ENV = "MODEL_INIT_MODE"
CPU_MODELCAR_DEFAULT = "10m"
MEMORY_MODELCAR_DEFAULT = "15Mi"
MAX_OCI_SOURCES_PER_POD = 10
CA_BUNDLE_VOLUME_NAME = "cabundle-cert"
DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH = "/etc/ssl/custom-certs"
CA_BUNDLE_CONFIGMAP_NAME_ENV = "CA_BUNDLE_CONFIGMAP_NAME"
CA_BUNDLE_VOLUME_MOUNT_PATH_ENV = "CA_BUNDLE_VOLUME_MOUNT_POINT"
OCI_FETCH_DOCKER_CONFIG_VOLUME = "kserve-oci-fetch-docker-config"
OCI_FETCH_DOCKER_CONFIG_DIR = "/mnt/oci-fetch-auth"
OCI_FETCH_DOCKER_CONFIG_PATH_ENV = "KSERVE_OCI_DOCKER_CONFIG"
OCI_FETCH_DEFAULT_VOLUME = "oci-fetch-model"
OCI_FETCH_INSECURE_REGISTRY_ENV = "KSERVE_OCI_INSECURE_REGISTRY"


def resolve_oci_model_mode(config: Any) -> str:
    """``types.ResolveOciModelMode``: the explicit mode, else ``modelcar`` when an enable flag
    is set, else ``""`` (OCI disabled)."""
    if config.oci_model_mode:
        return str(config.oci_model_mode)
    if config.enable_oci_image_source or config.enable_oci_model_support:
        return "modelcar"
    return ""


def parse_oci_scheme(uri: str) -> tuple[str, str, bool]:
    """``utils.ParseOciScheme``: (mode, ``oci://`` URI, is OCI). ``oci+native://r/i`` ->
    (``native``, ``oci://r/i``, True); ``oci://r/i`` -> ("", same, True)."""
    if uri.startswith("oci+"):
        rest = uri[4:]
        sep = rest.find("://")
        if sep > 0:
            return rest[:sep], OCI_URI_PREFIX + rest[sep + 3 :], True
    if uri.startswith(OCI_URI_PREFIX):
        return "", uri, True
    return "", uri, False


def effective_oci_mode(uri: str, config: Any) -> tuple[str, str, bool]:
    """(mode, normalised URI, is OCI) with a bare ``oci://`` resolved from the config."""
    mode, normalized, is_oci = parse_oci_scheme(uri)
    if is_oci and mode == "":
        mode = resolve_oci_model_mode(config)
    return mode, normalized, is_oci


def shell_quote(s: str) -> str:
    """``utils.ShellQuote``: unchanged when only ``[A-Za-z0-9/._-]``, else single-quoted."""
    if s == "":
        return "''"
    safe = all(c.isascii() and (c.isalnum() or c in "/._-") for c in s)
    return s if safe else "'" + s.replace("'", "'\\''") + "'"


def _modelcar_command(model_path: str) -> str:
    # "$$$$" in a pod spec is "$$" after Kubernetes' variable expansion: the shell's PID
    if model_path != DEFAULT_MOUNT_PATH:
        return (
            f"mkdir -p {shell_quote(go_dir(model_path))} && ln -sf /proc/$$$$/root/models "
            f"{shell_quote(model_path)} && sleep infinity"
        )
    return f"ln -sf /proc/$$$$/root/models {shell_quote(model_path)} && sleep infinity"


def _modelcar_resources(config: Any) -> JsonDict:
    cpu = quantity(config.cpu_modelcar or CPU_MODELCAR_DEFAULT, "storageInitializer.cpuModelcar")
    memory = quantity(
        config.memory_modelcar or MEMORY_MODELCAR_DEFAULT, "storageInitializer.memoryModelcar"
    )
    return {"limits": {"cpu": cpu, "memory": memory}, "requests": {"cpu": cpu, "memory": memory}}


def create_modelcar_container(
    name: str, image: str, model_path: str, volume_name: str, config: Any
) -> JsonDict:
    """``utils.CreateModelcarContainer``: the sidecar holding the model image."""
    container: JsonDict = {
        "name": name,
        "image": image,
        "args": ["sh", "-c", _modelcar_command(model_path)],
        "resources": _modelcar_resources(config),
        "volumeMounts": [volume_mount(volume_name, get_parent_directory(model_path))],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if config.uid_modelcar is not None:
        container["securityContext"] = {"runAsUser": config.uid_modelcar}
    return container


def create_modelcar_init_container(name: str, image: str, config: Any) -> JsonDict:
    """``utils.CreateModelcarInitContainer``: pre-fetches the image and checks ``/models``."""
    check = (
        "echo 'Pre-fetching modelcar " + image + ": ' && [ -d /models ] && "
        "[ \"$$(ls -A /models)\" ] && echo 'OK ... Prefetched and valid (/models exists)' || "
        "(echo 'NOK ... Prefetched but modelcar is invalid (/models does not exist or is "
        "empty)' && exit 1)"
    )
    return {
        "name": name,
        "image": image,
        "args": ["sh", "-c", check],
        "resources": _modelcar_resources(config),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def modelcar_names(oci_index: int) -> tuple[str, str, str]:
    """``utils.ModelcarNames``: (sidecar, init container, volume); index 0 keeps the plain
    names."""
    if oci_index == 0:
        return MODELCAR_CONTAINER, MODELCAR_INIT_CONTAINER, STORAGE_INITIALIZER_VOLUME
    suffix = f"-{oci_index}"
    return (
        MODELCAR_CONTAINER + suffix,
        MODELCAR_INIT_CONTAINER + suffix,
        STORAGE_INITIALIZER_VOLUME + suffix,
    )


def validate_oci_mount_paths(mount_paths: list[str], mode: str) -> None:
    """``utils.ValidateOCIMountPaths``: native mounts need distinct paths, modelcar mounts
    distinct parent directories (each mounts an emptyDir at the parent)."""
    if len(mount_paths) <= 1:
        return
    if mode == "native":
        seen: set[str] = set()
        for mp in mount_paths:
            if mp in seen:
                raise PodMutationError(
                    f'OCI mount path "{mp}" is specified more than once; each native '
                    "ImageVolume must have a unique mount path"
                )
            seen.add(mp)
        return
    parents: dict[str, str] = {}
    for mp in mount_paths:
        parent = get_parent_directory(mp)
        if parent in parents:
            raise PodMutationError(
                f'OCI mount paths "{parents[parent]}" and "{mp}" share parent directory '
                f'"{parent}", which would cause volume mount shadowing; use mount paths with '
                "distinct parent directories"
            )
        parents[parent] = mp


def _target(spec: JsonDict, name: str) -> JsonDict:
    container = get_container(spec, name)
    if container is None:
        raise PodMutationError(f"no container found with name {name}")
    return container


def configure_modelcar_to_container(
    model_uri: str, spec: JsonDict, target_name: str, model_path: str, config: Any, oci_index: int
) -> None:
    """``utils.ConfigureModelcarToContainer``: ``MODEL_INIT_MODE=async`` and the shared volume
    on the target, the modelcar sidecar and its init container (once), process namespace
    sharing, and ``uidModelcar`` as the target's user when configured."""
    target = _target(spec, target_name)
    sidecar, init, volume = modelcar_names(oci_index)
    add_or_replace_env(target, MODEL_INIT_MODE_ENV, "async")
    add_empty_dir_volume_if_not_present(spec, volume)
    add_volume_mount_if_not_present(target, volume, get_parent_directory(model_path), False)
    if config.uid_modelcar is not None:
        sc = target.get("securityContext")
        if not isinstance(sc, dict):
            sc = {}
            target["securityContext"] = sc
        sc["runAsUser"] = config.uid_modelcar
    if get_container(spec, sidecar) is None:
        image = model_uri.removeprefix(OCI_URI_PREFIX)
        ensure_list(spec, "containers").append(
            create_modelcar_container(sidecar, image, model_path, volume, config)
        )
        ensure_list(spec, "initContainers").append(
            create_modelcar_init_container(init, image, config)
        )
    spec["shareProcessNamespace"] = True


def configure_oci_native_to_container(
    model_uri: str, spec: JsonDict, target_name: str, model_path: str, config: Any
) -> None:
    """``utils.ConfigureOciNativeToContainer``: an ImageVolume (``IfNotPresent``) named after
    the mount path, mounted read-only at ``model_path`` with ``subPath: models``."""
    target = _target(spec, target_name)
    image = model_uri.removeprefix(OCI_URI_PREFIX)
    name = get_volume_name_from_path(model_path) or "oci-model"
    for m in volume_mounts(target):
        if m.get("mountPath") == model_path and m.get("name") != name:
            raise PodMutationError(
                f'mountPath "{model_path}" already used by volume "{m.get("name")}"'
            )
    vols = volumes(spec)
    if not any(v.get("name") == name for v in vols):
        vols.append({"name": name, "image": {"reference": image, "pullPolicy": "IfNotPresent"}})
    add_volume_mount_if_not_present(target, name, model_path, True, "models")


def _args_contain_pair(args: list[Any], uri: str, path: str) -> bool:
    return any(args[i] == uri and args[i + 1] == path for i in range(0, len(args) - 1, 2))


def _mount_image_pull_secret(spec: JsonDict, container: JsonDict) -> None:
    """``mountImagePullSecretsAsDockerConfig``: the first imagePullSecret as
    ``<dir>/config.json`` (mode 0400) for the fetch init container. Entries without a name
    (valid in a pod, ignored by the kubelet) are skipped: upstream mounts the first entry
    whatever it is, and a Secret volume without a name makes the pod invalid."""
    secrets = [s for s in container_list(spec, "imagePullSecrets")
               if isinstance(s, dict) and s.get("name")]
    if not secrets:
        return
    vols = volumes(spec)
    if any(v.get("name") == OCI_FETCH_DOCKER_CONFIG_VOLUME for v in vols):
        return
    vols.append(
        {
            "name": OCI_FETCH_DOCKER_CONFIG_VOLUME,
            "secret": {
                "secretName": secrets[0].get("name", ""),
                "defaultMode": 0o400,
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        }
    )
    volume_mounts(container).append(
        volume_mount(OCI_FETCH_DOCKER_CONFIG_VOLUME, OCI_FETCH_DOCKER_CONFIG_DIR, True)
    )
    env_list(container).append(
        env_var(OCI_FETCH_DOCKER_CONFIG_PATH_ENV, OCI_FETCH_DOCKER_CONFIG_DIR + "/config.json")
    )


def _mount_ca_bundle_for_fetch(
    config: Any, namespace: str, kserve_namespace: str, container: JsonDict, spec: JsonDict
) -> None:
    """``mountCaBundleForFetch``: the configured CA bundle ConfigMap (``global-ca-bundle``
    outside the KServe namespace)."""
    if not config.ca_bundle_config_map_name:
        return
    vols = volumes(spec)
    if any(v.get("name") == CA_BUNDLE_VOLUME_NAME for v in vols):
        return
    name = config.ca_bundle_config_map_name
    if namespace != kserve_namespace:
        name = DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP
    path = config.ca_bundle_volume_mount_path or DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH
    env = env_list(container)
    env.append(env_var(CA_BUNDLE_CONFIGMAP_NAME_ENV, name))
    env.append(env_var(CA_BUNDLE_VOLUME_MOUNT_PATH_ENV, path))
    vols.append({"name": CA_BUNDLE_VOLUME_NAME, "configMap": {"name": name}})
    volume_mounts(container).append(volume_mount(CA_BUNDLE_VOLUME_NAME, path, True))


def configure_oci_fetch_to_container(
    model_uri: str,
    spec: JsonDict,
    target_name: str,
    model_path: str,
    config: Any,
    namespace: str,
    kserve_namespace: str,
) -> None:
    """``ConfigureOciFetchToContainer``: the storage-initializer init container pulls
    ``model_uri`` (``oci://``) into an emptyDir at ``model_path`` shared with the target;
    registry credentials from the first imagePullSecret, the CA bundle when configured."""
    _target(spec, target_name)
    init = get_init_container(spec, STORAGE_INITIALIZER_CONTAINER)
    if init is None:
        init = create_init_container_with_config(config, [model_uri, model_path])
        ensure_list(spec, "initContainers").append(init)
        _mount_image_pull_secret(spec, init)
        _mount_ca_bundle_for_fetch(config, namespace, kserve_namespace, init, spec)
        if config.oci_insecure_registry:
            env_list(init).append(env_var(OCI_FETCH_INSECURE_REGISTRY_ENV, "true"))
    else:
        args = ensure_list(init, "args")
        if not _args_contain_pair(args, model_uri, model_path):
            args.extend([model_uri, model_path])
    params = StorageMountParams(
        mount_path=model_path,
        volume_name=get_volume_name_from_path(model_path) or OCI_FETCH_DEFAULT_VOLUME,
    )
    add_model_mount(params, STORAGE_INITIALIZER_CONTAINER, spec)
    add_model_mount(params, target_name, spec)


def configure_oci(
    mode: str,
    uri: str,
    spec: JsonDict,
    target_name: str,
    model_path: str,
    config: Any,
    namespace: str,
    kserve_namespace: str,
    oci_index: int = 0,
) -> None:
    """Dispatch one OCI source to its materialiser (anything but native/fetch is modelcar).
    A URI without an image reference (``oci://``) is refused: upstream builds a container or
    volume without an image, which the apiserver refuses without naming the URI."""
    if uri.removeprefix(OCI_URI_PREFIX).strip() == "":
        raise PodMutationError(f'storage URI "{uri}" has no image reference')
    if mode == "native":
        configure_oci_native_to_container(uri, spec, target_name, model_path, config)
    elif mode == "fetch":
        configure_oci_fetch_to_container(
            uri, spec, target_name, model_path, config, namespace, kserve_namespace
        )
    else:
        configure_modelcar_to_container(uri, spec, target_name, model_path, config, oci_index)
