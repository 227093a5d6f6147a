"""Edits of a JSON pod spec (camelCase dicts) shared by the storage initializer and the OCI
model sources (upstream ``pkg/utils/storage.go``/``utils.go``: ``AddModelMount``,
``AddVolumeMountIfNotPresent``, ``AddOrReplaceEnv``, ``CreateInitContainerWithConfig``,
``GetVolumeNameFromPath``, ``GetParentDirectory``). They modify the dict they are given: the
callers work on their own copy."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from apis.serving.constants import (
    DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP,
    DEFAULT_MOUNT_PATH,
    STORAGE_INITIALIZER_CONTAINER,
)
from apis.serving.v1beta1 import StorageUri
from apis.serving.v1beta1.configmap import StorageInitializerConfig
from apis.serving.validation import canonical_quantity

from .component import ComponentError

__all__ = [
    "CA_BUNDLE_CONFIGMAP_NAME_ENV",
    "CA_BUNDLE_VOLUME_MOUNT_PATH_ENV",
    "CA_BUNDLE_VOLUME_NAME",
    "DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH",
    "DEFAULT_STORAGE_INITIALIZER_IMAGE",
    "add_env_if_missing",
    "add_model_mount",
    "add_mount_if_absent",
    "add_or_replace_env",
    "ca_bundle",
    "container",
    "create_init_container",
    "go_dir",
    "init_container",
    "mount_path",
    "parent_directory",
    "quantity",
    "volume_exists",
    "volume_name_from_path",
]

JsonDict = dict[str, Any]

DEFAULT_STORAGE_INITIALIZER_IMAGE = "kserve/storage-initializer:latest"
"""``StorageInitializerContainerImage:StorageInitializerContainerImageVersion``."""
DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH = "/etc/ssl/custom-certs"
CA_BUNDLE_VOLUME_NAME = "cabundle-cert"
CA_BUNDLE_CONFIGMAP_NAME_ENV = "CA_BUNDLE_CONFIGMAP_NAME"
CA_BUNDLE_VOLUME_MOUNT_PATH_ENV = "CA_BUNDLE_VOLUME_MOUNT_POINT"


def volume_name_from_path(path: str) -> str:
    """``GetVolumeNameFromPath``: ``/mnt/models`` -> ``mnt-models``."""
    return path.strip("/").replace("/", "-")


def go_dir(path: str) -> str:
    """Go's ``filepath.Dir``: everything up to the last ``/``, cleaned; ``.`` without one."""
    cut = path.rfind("/")
    if cut < 0:
        return "."
    cleaned = posixpath.normpath(path[: cut + 1])
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def parent_directory(path: str) -> str:
    """``utils.GetParentDirectory``: ``filepath.Dir``, ``/`` for a top-level path."""
    parent = go_dir(path)
    return "/" if parent in (".", "/") else parent


def container(pod: JsonDict, name: str) -> JsonDict | None:
    for c in pod.get("containers") or []:
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    return None


def init_container(pod: JsonDict, name: str) -> JsonDict | None:
    for c in pod.get("initContainers") or []:
        if c.get("name") == name:
            return c  # type: ignore[no-any-return]
    return None


def volume_exists(pod: JsonDict, name: str) -> bool:
    return any(v.get("name") == name for v in pod.get("volumes") or [])


def add_or_replace_env(container: JsonDict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for e in env:
        if e.get("name") == name:
            e["value"] = value
            return
    env.append({"name": name, "value": value})


def add_env_if_missing(container: JsonDict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    if not any(e.get("name") == name for e in env):
        env.append({"name": name, "value": value})


def add_mount_if_absent(
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


def add_model_mount(
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
    target = container(pod, container_name)
    if target is not None:
        added = add_mount_if_absent(target, volume_name, mount_path, read_only)
    if not added:
        init = init_container(pod, container_name)
        if init is not None:
            added = add_mount_if_absent(init, volume_name, mount_path, False)
    if added and not volume_exists(pod, volume_name):
        source: JsonDict = (
            {"persistentVolumeClaim": {"claimName": pvc_name}} if pvc_name else {"emptyDir": {}}
        )
        pod.setdefault("volumes", []).append({"name": volume_name, **source})


def quantity(value: str, field: str) -> str:
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
                "cpu": quantity(config.cpu_limit, "cpuLimit"),
                "memory": quantity(config.memory_limit, "memoryLimit"),
            },
            "requests": {
                "cpu": quantity(config.cpu_request, "cpuRequest"),
                "memory": quantity(config.memory_request, "memoryRequest"),
            },
        },
    }


def ca_bundle(
    config: StorageInitializerConfig, namespace: str, kserve_namespace: str
) -> tuple[str, str]:
    name = config.ca_bundle_config_map_name
    if namespace != kserve_namespace:
        name = DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP
    return name, config.ca_bundle_volume_mount_path or DEFAULT_CA_BUNDLE_VOLUME_MOUNT_PATH


def mount_path(uri: StorageUri) -> str:
    return uri.mount_path or DEFAULT_MOUNT_PATH
