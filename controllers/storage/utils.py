"""Pod-spec helpers (upstream ``pkg/utils/{utils,storage,confidential}.go``) of the pod
mutator and of the storage initialization it shares with the InferenceService controller.

Everything works on the pod's JSON (plain dicts, camelCase keys), mutated in place: the mutator
deep-copies the incoming pod once and every injector edits that copy (the controller edits its
own copy of the pod spec it builds). Fields are written the way Go's ``encoding/json`` writes
the upstream structs (``omitempty``: an empty ``subPath``, a ``false`` ``readOnly`` or an empty
env ``value`` are left out), so the mutated pod equals the one upstream would produce and the
JSON patch touches only what changed.

Refusals are :class:`PodMutationError` (a ``ValueError``) with upstream's message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from apis.serving.constants import STORAGE_INITIALIZER_CONTAINER
from apis.serving.validation import canonical_quantity, find_common_parent_path
from controllers.gojson import go_json

__all__ = [
    "DEFAULT_STORAGE_INITIALIZER_IMAGE",
    "HF_DEFAULT_ENV",
    "JsonDict",
    "PodMutationError",
    "StorageMountParams",
    "add_default_hf_env_vars",
    "add_empty_dir_volume_if_not_present",
    "add_env_vars",
    "add_model_mount",
    "add_or_replace_env",
    "add_volume_mount_if_not_present",
    "append_port_if_not_exists",
    "append_volume_if_not_exists",
    "apply_confidential_container_config",
    "container_list",
    "create_init_container_with_config",
    "ensure_list",
    "env_list",
    "env_var",
    "find_common_parent_path",
    "get_container",
    "get_init_container",
    "get_parent_directory",
    "get_volume_name_from_path",
    "go_clean",
    "go_dir",
    "go_json",
    "go_quantity_error",
    "merge_envs",
    "parse_pvc_uri",
    "pod_spec",
    "quantity",
    "secret_env",
    "set_env_value",
    "string_map",
    "to_json",
    "volume_mount",
    "volume_mounts",
    "volumes",
]

JsonDict = dict[str, Any]

DEFAULT_STORAGE_INITIALIZER_IMAGE = "kserve/storage-initializer:latest"
"""``constants.StorageInitializerContainerImage:StorageInitializerContainerImageVersion``."""

HF_DEFAULT_ENV: tuple[tuple[str, str], ...] = (
    ("HF_HUB_ENABLE_HF_TRANSFER", "1"),
    ("HF_XET_HIGH_PERFORMANCE", "1"),
    ("HF_XET_NUM_CONCURRENT_RANGE_GETS", "8"),
)
"""``utils.AddDefaultHuggingFaceEnvVars``: added to the storage initializer when absent."""

CONFIDENTIAL_ENABLED_ENV = "CONFIDENTIAL_ENABLED"
CONFIDENTIAL_RESOURCE_ID_ENV = "CONFIDENTIAL_RESOURCE_ID"


class PodMutationError(ValueError):
    """The pod (spec) cannot be mutated as asked: the mutator refuses the pod (the webhook
    answers with this message; upstream answers HTTP 500 with the same text), the controller
    turns it into a ``ComponentError``. ``field`` names the pod field or config key at fault
    when there is one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------------------------------------
# Go semantics: encoding/json, path.Clean, resource.ParseQuantity errors
# ---------------------------------------------------------------------------------------------


def go_clean(path: str) -> str:
    """``path.Clean``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def go_dir(path: str) -> str:
    """``filepath.Dir`` (Unix): everything before the last ``/``, cleaned."""
    i = path.rfind("/")
    return go_clean(path[: i + 1])


def get_parent_directory(path: str) -> str:
    """``utils.GetParentDirectory``: the parent of ``path``, ``/`` for a top-level path."""
    parent = go_dir(path)
    return "/" if parent in (".", "/") else parent


_GO_QUANTITY_SCAN = re.compile(r"[+-]?[0-9]*(?:\.[0-9]*)?[eEinumkKMGTP]*[+-]?[0-9]*\Z")
ERR_QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
ERR_QUANTITY_SUFFIX = "unable to parse quantity's suffix"


@functools.lru_cache(maxsize=512)
def _canonical(value: str) -> str | None:
    try:
        return canonical_quantity(value)
    except ValueError:
        return None


def go_quantity_error(value: object) -> str | None:
    """The error ``resource.ParseQuantity(value)`` returns, or None if it parses."""
    if not isinstance(value, str):
        return ERR_QUANTITY_FORMAT
    if _canonical(value) is None:
        if value and _GO_QUANTITY_SCAN.match(value):
            return ERR_QUANTITY_SUFFIX
        return ERR_QUANTITY_FORMAT
    return None


def quantity(value: str, where: str) -> str:
    """``resource.MustParse(value).String()`` (the canonical text); a value that does not
    parse is a refusal naming ``where`` instead of upstream's panic."""
    canonical = _canonical(value) if isinstance(value, str) else None
    if canonical is None:
        err = go_quantity_error(value) or ERR_QUANTITY_FORMAT
        raise PodMutationError(f"invalid quantity {value!r} for {where}: {err}", where)
    return canonical


# ---------------------------------------------------------------------------------------------
# pod / container access
# ---------------------------------------------------------------------------------------------


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def to_json(obj: Any) -> JsonDict:
    """A typed object as JSON with its unset (None) fields left out: a lightkube model, a
    msgspec struct from the cache or a Pydantic model (a dict is copied)."""
    if isinstance(obj, dict):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        out = dump(mode="json", by_alias=True, exclude_none=True)
    else:
        out = _without_none(msgspec.to_builtins(obj))
    assert isinstance(out, dict)
    return out


def pod_spec(pod: JsonDict) -> JsonDict:
    """``pod["spec"]``, created if absent."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        spec = {}
        pod["spec"] = spec
    return spec


def container_list(spec: JsonDict, key: str = "containers") -> list[JsonDict]:
    """``spec[key]`` as a list (``[]`` when absent, not stored)."""
    items = spec.get(key)
    return items if isinstance(items, list) else []


def get_container(spec: JsonDict, name: str) -> JsonDict | None:
    """``utils.GetContainerWithName``: the first container called ``name``."""
    for c in container_list(spec):
        if c.get("name") == name:
            return c
    return None


def get_init_container(spec: JsonDict, name: str) -> JsonDict | None:
    """``utils.GetInitContainerWithName``."""
    for c in container_list(spec, "initContainers"):
        if c.get("name") == name:
            return c
    return None


def ensure_list(obj: JsonDict, key: str) -> list[Any]:
    """``obj[key]`` as a stored list (created when absent or null)."""
    items = obj.get(key)
    if not isinstance(items, list):
        items = []
        obj[key] = items
    return items


def env_list(container: JsonDict) -> list[JsonDict]:
    """``container["env"]``, created if absent."""
    return ensure_list(container, "env")


def set_env_value(env: JsonDict, value: str) -> None:
    """``env.Value = value`` as Go serialises it (an empty value is omitted)."""
    if value:
        env["value"] = value
    else:
        env.pop("value", None)


def env_var(name: str, value: str = "") -> JsonDict:
    """``corev1.EnvVar{Name, Value}`` as JSON."""
    out: JsonDict = {"name": name}
    set_env_value(out, value)
    return out


def secret_env(name: str, secret: str, key: str) -> JsonDict:
    """An env var from a Secret key (``valueFrom.secretKeyRef``)."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def add_or_replace_env(container: JsonDict, key: str, value: str) -> None:
    """``utils.AddOrReplaceEnv``: set the value of ``key`` (only ``value``; a ``valueFrom``
    already there stays), appending the variable when absent."""
    env = env_list(container)
    for e in env:
        if e.get("name") == key:
            set_env_value(e, value)
            return
    env.append(env_var(key, value))


def add_env_vars(container: JsonDict, variables: Iterable[JsonDict]) -> None:
    """``utils.AddEnvVars``: append each variable whose name is not there yet."""
    env = env_list(container)
    for var in variables:
        if not any(e.get("name") == var["name"] for e in env):
            env.append(dict(var))


def merge_envs(base: list[JsonDict], overrides: Sequence[JsonDict]) -> list[JsonDict]:
    """``utils.MergeEnvs``: an override whose name is in ``base`` replaces only its ``value``
    (upstream leaves a ``valueFrom`` there untouched); the others are appended."""
    extra: list[JsonDict] = []
    for override in overrides:
        for b in base:
            if b.get("name") == override.get("name"):
                set_env_value(b, override.get("value") or "")
                break
        else:
            extra.append(dict(override))
    return base + extra


def add_default_hf_env_vars(container: JsonDict) -> None:
    """``utils.AddDefaultHuggingFaceEnvVars``."""
    add_env_vars(container, (env_var(n, v) for n, v in HF_DEFAULT_ENV))


def apply_confidential_container_config(container: JsonDict, resource_id: str) -> None:
    """``utils.ApplyConfidentialContainerConfig``."""
    add_or_replace_env(container, CONFIDENTIAL_ENABLED_ENV, "true")
    if resource_id:
        add_or_replace_env(container, CONFIDENTIAL_RESOURCE_ID_ENV, resource_id)


def volume_mount(
    name: str, mount_path: str, read_only: bool = False, sub_path: str = ""
) -> JsonDict:
    """``corev1.VolumeMount`` as JSON (``subPath``/``readOnly`` omitted when empty/false)."""
    out: JsonDict = {"name": name, "mountPath": mount_path}
    if sub_path:
        out["subPath"] = sub_path
    if read_only:
        out["readOnly"] = True
    return out


def volume_mounts(container: JsonDict) -> list[JsonDict]:
    """``container["volumeMounts"]``, created if absent."""
    return ensure_list(container, "volumeMounts")


def volumes(spec: JsonDict) -> list[JsonDict]:
    """``spec["volumes"]``, created if absent."""
    return ensure_list(spec, "volumes")


def add_volume_mount_if_not_present(
    container: JsonDict, name: str, mount_path: str, read_only: bool, sub_path: str = ""
) -> None:
    """``utils.AddVolumeMountIfNotPresent`` / ``...WithSubPath``: by mount name."""
    mounts = volume_mounts(container)
    if any(m.get("name") == name for m in mounts):
        return
    mounts.append(volume_mount(name, mount_path, read_only, sub_path))


def append_volume_if_not_exists(spec: JsonDict, volume: JsonDict) -> None:
    """``utils.AppendVolumeIfNotExists``: by volume name."""
    vols = volumes(spec)
    if not any(v.get("name") == volume["name"] for v in vols):
        vols.append(volume)


def add_empty_dir_volume_if_not_present(spec: JsonDict, name: str) -> None:
    """``utils.AddEmptyDirVolumeIfNotPresent``."""
    append_volume_if_not_exists(spec, {"name": name, "emptyDir": {}})


def append_port_if_not_exists(container: JsonDict, port: JsonDict) -> None:
    """``utils.AppendPortIfNotExists``: by port name."""
    ports = ensure_list(container, "ports")
    if not any(p.get("name") == port["name"] for p in ports):
        ports.append(port)


# ---------------------------------------------------------------------------------------------
# storage helpers (pkg/utils/storage.go)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageMountParams:
    """``utils.StorageMountParams``."""

    mount_path: str
    volume_name: str
    sub_path: str = ""
    pvc_name: str = ""
    read_only: bool = False


def parse_pvc_uri(uri: str) -> tuple[str, str]:
    """``utils.ParsePvcURI``: ``pvc://<name>[/path]`` -> (name, path); the prefix is not
    checked (upstream neither)."""
    rest = uri.removeprefix("pvc://")
    parts = rest.split("/")
    if len(parts) == 1:
        return parts[0], ""
    return parts[0], "/".join(parts[1:])


def get_volume_name_from_path(path: str) -> str:
    """``utils.GetVolumeNameFromPath``: ``/mnt/models/a`` -> ``mnt-models-a``."""
    return path.strip("/").replace("/", "-")


def _add_mount(container: JsonDict, params: StorageMountParams) -> bool:
    mounts = volume_mounts(container)
    if any(m.get("name") == params.volume_name for m in mounts):
        return False
    mounts.append(
        volume_mount(params.volume_name, params.mount_path, params.read_only, params.sub_path)
    )
    return True


def add_model_mount(params: StorageMountParams, container_name: str, spec: JsonDict) -> None:
    """``utils.AddModelMount``: mount ``params.volume_name`` into the (init) container called
    ``container_name`` (init containers always read-write) and add the volume (a PVC or an
    emptyDir) when the mount was added and the volume is new."""
    added = False
    for c in container_list(spec):
        if c.get("name") == container_name:
            added = _add_mount(c, params)
            break
    if not added:
        for c in container_list(spec, "initContainers"):
            if c.get("name") == container_name:
                added = _add_mount(c, replace(params, read_only=False))
                break
    if added:
        source: JsonDict = (
            {"persistentVolumeClaim": {"claimName": params.pvc_name}}
            if params.pvc_name
            else {"emptyDir": {}}
        )
        append_volume_if_not_exists(spec, {"name": params.volume_name, **source})


def create_init_container_with_config(config: Any, args: list[str]) -> JsonDict:
    """``utils.CreateInitContainerWithConfig``: the ``storage-initializer`` init container with
    the configured image and resources (``config`` is a ``StorageInitializerConfig``)."""
    image = config.image or DEFAULT_STORAGE_INITIALIZER_IMAGE
    key = "storageInitializer"
    return {
        "name": STORAGE_INITIALIZER_CONTAINER,
        "image": image,
        "args": list(args),
        "resources": {
            "limits": {
                "cpu": quantity(config.cpu_limit, f"{key}.cpuLimit"),
                "memory": quantity(config.memory_limit, f"{key}.memoryLimit"),
            },
            "requests": {
                "cpu": quantity(config.cpu_request, f"{key}.cpuRequest"),
                "memory": quantity(config.memory_request, f"{key}.memoryRequest"),
            },
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def string_map(value: object) -> Mapping[str, str]:
    """A ``map[string]string`` field (labels, annotations): ``{}`` when absent."""
    return value if isinstance(value, dict) else {}
