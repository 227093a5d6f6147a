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

from apis.serving.constants import (
    DEFAULT_GPU_RESOURCE_TYPES,
    INFERENCE_SERVICE_CONTAINER,
    WORKER_CONTAINER,
)
from apis.serving.validation import (
    FieldError,
    as_dict,
    as_obj,
    check_gpu_resource_types,
    get_env,
    go_quote,
    malformed_guard,
    validate_blocked_env_vars,
)

__all__ = [
    "validate_cluster_serving_runtime",
    "validate_serving_runtime",
    "validate_serving_runtime_spec",
]


_Obj = dict[str, Any]


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
        fmt = as_obj(fmt)
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
        ef = as_obj(ef)
        for nf in new.get("supportedModelFormats") or []:
            nf = as_obj(nf)
            if _auto_select(ef) and _auto_select(nf) and _formats_equal(ef, nf):
                ep, np_ = ef.get("priority"), nf.get("priority")
                if ep is not None and np_ is not None and ep == np_:
                    return f"same priority assigned for the model format {nf.get('name') or ''}"
    return None


def _validate_multi_node(
    new: Mapping[str, Any], existing: Mapping[str, Any], gpu_types: Sequence[str]
) -> None:
    """``validateMultiNodeSpec``; the caller prefixes the reason with the runtime."""
    if existing.get("workerSpec") is not None and new.get("workerSpec") is None:
        raise FieldError(
            "spec.workerSpec", "removing workerSpec where it already exists is not allowed"
        )
    ws = new.get("workerSpec")
    if ws is None:
        return
    ws = as_obj(ws)
    annotations = as_obj(new.get("annotations"))
    workers = ws.get("containers") or []
    if len(workers) > 1:
        raise FieldError(
            "spec.workerSpec.containers",
            "setting multiple containers in workerSpec is not allowed",
        )
    for i, c in enumerate(new.get("containers") or []):
        c = as_obj(c)
        if c.get("name") != INFERENCE_SERVICE_CONTAINER:
            continue
        for env in ("PIPELINE_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE"):
            if get_env(c.get("env"), env)[1]:
                raise FieldError(
                    f"spec.containers[{i}].env",
                    f"setting {env} in environment variables is not allowed",
                )
        check_gpu_resource_types(
            c.get("resources"),
            annotations,
            gpu_types,
            field=f"spec.containers[{i}].resources",
            reason=f"unknown GPU resource type in a container({INFERENCE_SERVICE_CONTAINER})",
            annotations_field="spec.annotations",
        )
    if workers:
        worker = as_obj(workers[0])
        if worker.get("name") == WORKER_CONTAINER:
            check_gpu_resource_types(
                worker.get("resources"),
                annotations,
                gpu_types,
                field="spec.workerSpec.containers[0].resources",
                reason=f"unknown GPU resource type in a container({WORKER_CONTAINER})",
                annotations_field="spec.annotations",
            )
    for key, go_name in (
        ("pipelineParallelSize", "PipelineParallelSize"),
        ("tensorParallelSize", "TensorParallelSize"),
    ):
        size = ws.get(key)
        size = 1 if size is None else size
        if size < 1:
            raise FieldError(
                f"spec.workerSpec.{key}",
                f"the WorkerSpec.{go_name} cannot be less than 1({size})",
            )


def validate_serving_runtime_spec(spec: Any) -> None:
    """``ServingRuntimeSpec.validatePodSpecAndWorkerSpec``: ``containers`` required, and
    ``workerSpec.containers`` required when a workerSpec is set."""
    s = as_dict(spec)
    if s.get("containers") is None:
        raise FieldError("spec.containers", "Required value")
    ws = s.get("workerSpec")
    if ws is not None and not as_obj(ws).get("containers"):
        raise FieldError("spec.workerSpec.containers", "Required value")


def _validate(
    kind: str,
    runtime: Any,
    others: Sequence[Any],
    namespace_scoped: bool,
    gpu_types: Sequence[str],
) -> None:
    obj = as_dict(runtime)
    meta = as_obj(obj.get("metadata"))
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    kind_name = obj.get("kind") or kind
    spec = as_obj(obj.get("spec"))
    # 1. a disabled runtime is always allowed
    if spec.get("disabled"):
        return
    validate_serving_runtime_spec(spec)
    existing_spec: _Obj = {}
    # 2 + 3: only evaluated while iterating the other runtimes (upstream quirk: with no other
    # runtime the intra-runtime priority check never runs)
    for other in others:
        o = as_dict(other)
        o_name = as_obj(o.get("metadata")).get("name") or ""
        o_spec = as_obj(o.get("spec"))
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
    try:
        _validate_multi_node(spec, existing_spec, gpu_types)
    except FieldError as err:
        raise FieldError(err.field, f"the {kind_name} {name} is invalid: {err.reason}") from None
    # 6. PYTHONPATH
    try:
        validate_blocked_env_vars(spec.get("containers"), "spec.containers")
        ws = spec.get("workerSpec")
        if ws is not None:
            validate_blocked_env_vars(as_obj(ws).get("containers"), "spec.workerSpec.containers")
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
