"""Small helpers the object builders share (upstream ``pkg/utils`` and
``pkg/controller/v1beta1/inferenceservice/utils``): the stop annotation, env vars on a pod
spec, copies of lightkube objects. Pure: inputs are never modified."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from lightkube.models import core_v1, meta_v1

from apis.serving.constants import INFERENCE_SERVICE_NAME_ENV, STOP_ANNOTATION

__all__ = [
    "INFERENCE_SERVICE_NAME_ENV",
    "ContainerNotFoundError",
    "add_env_var_to_pod_spec",
    "add_inference_service_name_env",
    "deep_copy",
    "get_env_var_value",
    "get_force_stop_runtime",
    "metadata_dict",
    "object_meta",
]

_T = TypeVar("_T")



class ContainerNotFoundError(ValueError):
    """``AddEnvVarToPodSpec``'s error: the pod spec has no container of that name."""

    def __init__(self, container_name: str) -> None:
        self.container_name = container_name
        super().__init__(f"target container({container_name}) does not exist")


def deep_copy(obj: _T) -> _T:
    """A deep copy of a lightkube object (or any value), so builders never alias their
    inputs: upstream mutates maps it shares between objects, we return fresh ones."""
    return copy.deepcopy(obj)


def get_force_stop_runtime(meta: meta_v1.ObjectMeta | Mapping[str, Any] | None) -> bool:
    """``utils.GetForceStopRuntime``: annotation ``serving.kserve.io/stop`` equals "true"
    case-insensitively. Accepts an ObjectMeta or a dict ``metadata`` (KEDA/OTel objects)."""
    if meta is None:
        return False
    if isinstance(meta, meta_v1.ObjectMeta):
        annotations = meta.annotations
    else:
        annotations = meta.get("annotations")
    value = (annotations or {}).get(STOP_ANNOTATION)
    return value is not None and value.lower() == "true"


def get_env_var_value(env: Sequence[core_v1.EnvVar] | None, name: str) -> tuple[str, bool]:
    """``utils.GetEnvVarValue``: the value of the first env var called ``name`` (``""`` for a
    ``valueFrom`` one) and whether it exists."""
    for var in env or ():
        if var.name == name:
            return var.value or "", True
    return "", False


def add_env_var_to_pod_spec(
    pod_spec: core_v1.PodSpec, container_name: str, name: str, value: str
) -> core_v1.PodSpec:
    """``utils.AddEnvVarToPodSpec``: a copy of ``pod_spec`` where every container called
    ``container_name`` has env ``name=value`` (overwriting the first existing ``name``, else
    appended). Raises :class:`ContainerNotFoundError` when no container has that name."""
    out = deep_copy(pod_spec)
    found = False
    for container in out.containers or ():
        if container.name != container_name:
            continue
        found = True
        env = list(container.env or [])
        for var in env:
            if var.name == name:
                var.value = value
                break
        else:
            env.append(core_v1.EnvVar(name=name, value=value))
        container.env = env
    if not found:
        raise ContainerNotFoundError(container_name)
    return out


def add_inference_service_name_env(
    pod_spec: core_v1.PodSpec, isvc_name: str, container_names: Sequence[str] | None = None
) -> core_v1.PodSpec:
    """A copy of ``pod_spec`` with ``INFERENCE_SERVICE_NAME=<isvc_name>`` on the named
    containers, or on every container when ``container_names`` is None (the predictor sets it
    on all its containers, the transformer on ``transformer-container`` only; the Deployment
    builder does not, so the InferenceGraph router stays without it, as upstream).
    Raises :class:`ContainerNotFoundError` for a name with no container."""
    names = (
        [c.name for c in pod_spec.containers or []] if container_names is None else container_names
    )
    out = pod_spec
    for name in names:
        out = add_env_var_to_pod_spec(out, name, INFERENCE_SERVICE_NAME_ENV, isvc_name)
    return deep_copy(out) if out is pod_spec else out


def object_meta(
    meta: meta_v1.ObjectMeta,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> meta_v1.ObjectMeta:
    """The fields of a component's ObjectMeta that upstream copies into the objects it builds
    (name, namespace, labels, annotations), as a fresh object; ``labels``/``annotations``
    replace the originals when given. Empty maps become None (Go ``omitempty``)."""
    lbls = dict(meta.labels or {}) if labels is None else dict(labels)
    anns = dict(meta.annotations or {}) if annotations is None else dict(annotations)
    return meta_v1.ObjectMeta(
        name=meta.name if name is None else name,
        namespace=meta.namespace,
        labels=lbls or None,
        annotations=anns or None,
    )


def metadata_dict(meta: meta_v1.ObjectMeta, *, labels: bool = True) -> dict[str, Any]:
    """:func:`object_meta`'s fields as the ``metadata`` of a dict-built object (KEDA's
    ScaledObject, the OpenTelemetryCollector), empty ones left out; ``labels=False`` leaves
    the labels out too (upstream's OpenTelemetryCollector carries none)."""
    out: dict[str, Any] = {}
    if meta.name:
        out["name"] = meta.name
    if meta.namespace:
        out["namespace"] = meta.namespace
    if labels and meta.labels:
        out["labels"] = dict(meta.labels)
    if meta.annotations:
        out["annotations"] = dict(meta.annotations)
    return out
