"""ServingRuntime / ClusterServingRuntime validation: upstream
``pkg/webhook/admission/servingruntime/servingruntime_webhook.go`` plus the spec checks of
``servingruntime_types.go`` (``validatePodSpecAndWorkerSpec``).

Pure functions over the JSON shape (or typed models). The webhook lists the other runtimes
(same namespace for ServingRuntime, all for ClusterServingRuntime) and passes them in.
Rule numbers refer to ``kserve-behaviour.md`` §4.4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.validation import (
    DEFAULT_GPU_RESOURCE_TYPES,
    FieldError,
    as_dict,
    get_env,
    go_quote,
    has_unknown_gpu_resource_type,
    malformed_guard,
    validate_blocked_env_vars,
)

__all__ = [
    "validate_cluster_serving_runtime",
    "validate_serving_runtime",
    "validate_serving_runtime_spec",
]

INFERENCE_SERVICE_CONTAINER = "kserve-container"
WORKER_CONTAINER = "worker-container"

_Obj = dict[str, Any]


def _obj(value: Any) -> _Obj:
    return value if isinstance(value, dict) else {}


def _auto_select(fmt: Mapping[str, Any]) -> bool:
    return bool(fmt.get("autoSelect"))


def _formats_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (a.get("name") or "").casefold() == (b.get("name") or "").casefold() and a.get(
        "version"
    ) == b.get("version")


def _priority_same_error(spec: Mapping[str, Any]) -> str | None:
    """``validateModelFormatPrioritySame``: one autoSelect format name, one priority."""
    seen: dict[str, Any] = {}
    for fmt in spec.get("supportedModelFormats") or []:
        fmt = _obj(fmt)
        if not _auto_select(fmt):
            continue
        name = fmt.get("name") or ""
        if name in seen:
            prev, cur = seen[name], fmt.get("priority")
            if prev is not None and cur is not None and prev != cur:
                return f"different priorities assigned for the model format {name}"
        else:
            seen[name] = fmt.get("priority")
    return None


def _priority_clash_error(
    new: Mapping[str, Any], existing: Mapping[str, Any], new_name: str, existing_name: str
) -> str | None:
    """``validateServingRuntimePriority``."""
    if (
        bool(new.get("multiModel")) != bool(existing.get("multiModel"))
        or bool(existing.get("disabled"))
        or new_name == existing_name
    ):
        return None
    new_protocols = list(new.get("protocolVersions") or [])
    if not any(p in new_protocols for p in existing.get("protocolVersions") or []):
        return None
    for ef in existing.get("supportedModelFormats") or []:
        ef = _obj(ef)
        for nf in new.get("supportedModelFormats") or []:
            nf = _obj(nf)
            if _auto_select(ef) and _auto_select(nf) and _formats_equal(ef, nf):
                ep, np_ = ef.get("priority"), nf.get("priority")
                if ep is not None and np_ is not None and ep == np_:
                    return f"same priority assigned for the model format {nf.get('name') or ''}"
    return None


def _multi_node_error(
    new: Mapping[str, Any], existing: Mapping[str, Any], gpu_types: Sequence[str]
) -> tuple[str, str] | None:
    """``validateMultiNodeSpec``: (field, message) or None."""
    if existing.get("workerSpec") is not None and new.get("workerSpec") is None:
        return "spec.workerSpec", "removing workerSpec where it already exists is not allowed"
    ws = new.get("workerSpec")
    if ws is None:
        return None
    ws = _obj(ws)
    annotations = _obj(new.get("annotations"))
    workers = ws.get("containers") or []
    if len(workers) > 1:
        return (
            "spec.workerSpec.containers",
            "setting multiple containers in workerSpec is not allowed",
        )
    for i, c in enumerate(new.get("containers") or []):
        c = _obj(c)
        if c.get("name") != INFERENCE_SERVICE_CONTAINER:
            continue
        for env in ("PIPELINE_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE"):
            if get_env(c.get("env"), env)[1]:
                return (
                    f"spec.containers[{i}].env",
                    f"setting {env} in environment variables is not allowed",
                )
        try:
            unknown = has_unknown_gpu_resource_type(c.get("resources"), annotations, gpu_types)
        except ValueError as err:
            return "spec.annotations", str(err)
        if unknown:
            return (
                f"spec.containers[{i}].resources",
                f"unknown GPU resource type in a container({INFERENCE_SERVICE_CONTAINER})",
            )
    if workers:
        worker = _obj(workers[0])
        if worker.get("name") == WORKER_CONTAINER:
            try:
                unknown = has_unknown_gpu_resource_type(
                    worker.get("resources"), annotations, gpu_types
                )
            except ValueError as err:
                return "spec.annotations", str(err)
            if unknown:
                return (
                    "spec.workerSpec.containers[0].resources",
                    f"unknown GPU resource type in a container({WORKER_CONTAINER})",
                )
    pps = ws.get("pipelineParallelSize")
    pps = 1 if pps is None else pps
    if pps < 1:
        return (
            "spec.workerSpec.pipelineParallelSize",
            f"the WorkerSpec.PipelineParallelSize cannot be less than 1({pps})",
        )
    tps = ws.get("tensorParallelSize")
    tps = 1 if tps is None else tps
    if tps < 1:
        return (
            "spec.workerSpec.tensorParallelSize",
            f"the WorkerSpec.TensorParallelSize cannot be less than 1({tps})",
        )
    return None


def validate_serving_runtime_spec(spec: Any) -> None:
    """``ServingRuntimeSpec.validatePodSpecAndWorkerSpec``: ``containers`` required, and
    ``workerSpec.containers`` required when a workerSpec is set."""
    s = as_dict(spec)
    if s.get("containers") is None:
        raise FieldError("spec.containers", "Required value")
    ws = s.get("workerSpec")
    if ws is not None and not _obj(ws).get("containers"):
        raise FieldError("spec.workerSpec.containers", "Required value")


def _validate(
    kind: str,
    runtime: Any,
    others: Sequence[Any],
    namespace_scoped: bool,
    gpu_types: Sequence[str],
) -> None:
    obj = as_dict(runtime)
    meta = _obj(obj.get("metadata"))
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    kind_name = obj.get("kind") or kind
    spec = _obj(obj.get("spec"))
    # 1. a disabled runtime is always allowed
    if spec.get("disabled"):
        return
    validate_serving_runtime_spec(spec)
    existing_spec: _Obj = {}
    # 2 + 3: only evaluated while iterating the other runtimes (upstream quirk: with no other
    # runtime the intra-runtime priority check never runs)
    for other in others:
        o = as_dict(other)
        o_name = _obj(o.get("metadata")).get("name") or ""
        o_spec = _obj(o.get("spec"))
        err = _priority_same_error(spec)
        if err is not None:
            where = "servingruntime" if namespace_scoped else "clusterservingruntime"
            raise FieldError("spec.supportedModelFormats", f"{err} under the {where} {name}")
        err = _priority_clash_error(spec, o_spec, name, o_name)
        if err is not None:
            if namespace_scoped:
                msg = f"{err} in the servingruntimes {o_name} and {name} in namespace {namespace}"
            else:
                msg = f"{err} in the clusterservingruntimes {o_name} and {name}"
            raise FieldError("spec.supportedModelFormats", msg)
        if o_name == name:
            existing_spec = o_spec
    # 4 + 5: workerSpec
    mn = _multi_node_error(spec, existing_spec, gpu_types)
    if mn is not None:
        raise FieldError(mn[0], f"the {kind_name} {name} is invalid: {mn[1]}")
    # 6. PYTHONPATH
    try:
        validate_blocked_env_vars(spec.get("containers"), "spec.containers")
        ws = spec.get("workerSpec")
        if ws is not None:
            validate_blocked_env_vars(_obj(ws).get("containers"), "spec.workerSpec.containers")
    except FieldError as err:
        raise FieldError(
            err.field, f"the {kind_name} {go_quote(name)} is invalid: {err.reason}"
        ) from None


@malformed_guard("apis.serving.v1alpha1:ServingRuntime", decode_first=True)
def validate_serving_runtime(
    runtime: Any,
    others: Sequence[Any] = (),
    *,
    gpu_resource_types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> list[str]:
    """Validate a ServingRuntime on CREATE/UPDATE. ``others`` are the ServingRuntimes in its
    namespace as the apiserver has them (on UPDATE this includes the old version of this one,
    which is how removing ``workerSpec`` is detected). Returns warnings (none); raises
    :class:`FieldError`."""
    _validate("ServingRuntime", runtime, others, True, gpu_resource_types)
    return []


@malformed_guard("apis.serving.v1alpha1:ClusterServingRuntime", decode_first=True)
def validate_cluster_serving_runtime(
    runtime: Any,
    others: Sequence[Any] = (),
    *,
    gpu_resource_types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> list[str]:
    """Validate a ClusterServingRuntime; ``others`` are all ClusterServingRuntimes."""
    _validate("ClusterServingRuntime", runtime, others, False, gpu_resource_types)
    return []
