"""InferenceService validation: upstream ``inference_service_validation.go``, ``component.go``
and the ``Validate()`` methods of the predictor/explainer/transformer implementations.

Pure functions over the object's JSON shape (or any typed model, see
``apis.serving.validation.as_dict``). The first refusal raises
:class:`~apis.serving.validation.FieldError` with the field path and upstream's message, in
upstream's order; the return value is the list of admission warnings. Rule numbers refer to
``kserve-behaviour.md`` §4.1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.constants import (
    ALLOWED_AUTOSCALER_CLASSES,
    AUTOSCALER_CLASS_ANNOTATION,
    DEFAULT_GPU_RESOURCE_TYPES,
    DEPLOYMENT_MODE_ANNOTATION,
    INFERENCE_SERVICE_CONTAINER,
    TRANSFORMER_CONTAINER,
)
from apis.serving.constants import (
    KNATIVE_AUTOSCALER_CLASS_ANNOTATION as KNATIVE_CLASS_ANNOTATION,
)
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_implementation import PROTOCOL_ENV, STORAGE_URI_ENV
from apis.serving.validation import (
    NAME_FMT,
    FieldError,
    as_dict,
    as_obj,
    check_gpu_resource_types,
    find_common_parent_path,
    get_env,
    go_quote,
    is_gpu_enabled,
    malformed_guard,
    parse_quantity,
    validate_blocked_env_vars,
    validate_name,
)

__all__ = [
    "ALLOWED_AUTOSCALER_CLASSES",
    "EXPLAINER_IMPLEMENTATION_FIELDS",
    "ISVC_NAME_FMT",
    "PREDICTOR_FRAMEWORKS",
    "PREDICTOR_IMPLEMENTATION_FIELDS",
    "TRANSFORMER_IMPLEMENTATION_FIELDS",
    "predictor_implementations",
    "validate_inference_service",
    "validate_inference_service_create",
    "validate_inference_service_update",
]

ISVC_NAME_FMT = NAME_FMT

KNATIVE_HPA_CLASS = "hpa.autoscaling.knative.dev"
_HPA_METRICS = ("cpu", "memory")
_KPA_METRICS = ("concurrency", "rps")


#: Framework keys in upstream ``GetImplementations`` order (``model`` last).
PREDICTOR_FRAMEWORKS = (
    "xgboost", "pytorch", "triton", "sklearn", "tensorflow", "onnx", "pmml", "lightgbm",
    "paddle", "huggingface", "model",
)  # fmt: skip
#: Go field names listed by ``ExactlyOneErrorFor`` (every struct field but the last).
PREDICTOR_IMPLEMENTATION_FIELDS = (
    "Name", "SKLearn", "XGBoost", "Tensorflow", "PyTorch", "Triton", "ONNX", "HuggingFace",
    "PMML", "LightGBM", "Paddle", "Model", "StorageUris", "StorageContainerName", "WorkerSpec",
    "PodSpec",
)  # fmt: skip
TRANSFORMER_IMPLEMENTATION_FIELDS = ("PodSpec", "ComponentExtensionSpec")
EXPLAINER_IMPLEMENTATION_FIELDS = ("ART", "PodSpec", "ComponentExtensionSpec")

_STORAGE_SPEC_PREFIXES = ("s3://", "hdfs://", "webhdfs://")
_KBS_RESOURCE_ID_RE = re.compile(r"^kbs:///[a-zA-Z0-9_.-]+/[a-zA-Z0-9_.-]+/[a-zA-Z0-9_.-]+$")

# upstream error texts (component.go, inference_service_validation.go, predictor_*.go)
MIN_REPLICAS_SHOULD_BE_LESS_THAN_MAX = "'MinReplicas' cannot be greater than MaxReplicas"
MIN_REPLICAS_LOWER_BOUND = "'MinReplicas' cannot be less than 0"
MAX_REPLICAS_LOWER_BOUND = "'MaxReplicas' cannot be less than 0"
PARALLELISM_LOWER_BOUND = "parallelism cannot be less than 0"
INVALID_LOGGER_TYPE = "invalid logger type"
INVALID_LOGGER_STORAGE = "invalid logger storage configuration"
STORAGE_URI_IN_TRANSFORMER = "storage uri should not be specified in transformer container"
INVALID_STORAGE_URI_CONFIG = "Setting both StorageURI and StorageURIs is not supported."
NAME_NOT_ALLOWED = "the 'name' field is not allowed in standard predictor"
TF_INCLUDES_GPU = "Tensorflow RuntimeVersion is not GPU enabled but GPU resources are requested"
TF_EXCLUDES_GPU = "Tensorflow RuntimeVersion is GPU enabled but GPU resources are not requested"
TORCH_INCLUDES_GPU = "PyTorch RuntimeVersion is not GPU enabled but GPU resources are requested. "
TORCH_EXCLUDES_GPU = "PyTorch RuntimeVersion is GPU enabled but GPU resources are not requested. "

_Obj = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# implementations (GetImplementations / GetStorageUri)
# ---------------------------------------------------------------------------------------------


def predictor_implementations(predictor: Mapping[str, Any]) -> list[tuple[str, _Obj]]:
    """Upstream ``PredictorSpec.GetImplementations``: ``(key, spec)`` pairs; a custom
    predictor is ``("custom", predictor)``."""
    impls = [
        (k, as_obj(predictor[k])) for k in PREDICTOR_FRAMEWORKS if predictor.get(k) is not None
    ]
    containers = predictor.get("containers") or []
    if containers:
        for c in containers:
            if as_obj(c).get("name") == INFERENCE_SERVICE_CONTAINER:
                impls.append(("custom", dict(predictor)))
        if not impls:
            impls.append(("custom", dict(predictor)))
    return impls


def _transformer_implementations(t: Mapping[str, Any]) -> list[tuple[str, _Obj]]:
    return [("custom", dict(t))] if t.get("containers") else []


def _explainer_implementations(e: Mapping[str, Any]) -> list[tuple[str, _Obj]]:
    impls = [("art", as_obj(e["art"]))] if e.get("art") is not None else []
    if e.get("containers"):
        impls.append(("custom", dict(e)))
    return impls


def _impl_storage_uri(component: str, key: str, impl: Mapping[str, Any]) -> str | None:
    if key == "custom":
        containers = [as_obj(c) for c in impl.get("containers") or []]
        if component == "predictor":
            for c in containers:
                if c.get("name") == INFERENCE_SERVICE_CONTAINER:
                    value, ok = get_env(c.get("env"), STORAGE_URI_ENV)
                    return (value or "") if ok else None
            return None
        if containers:
            value, ok = get_env(containers[0].get("env"), STORAGE_URI_ENV)
            return (value or "") if ok else None
        return None
    if key == "art":
        uri = impl.get("storageUri")
        return uri if uri else None
    return impl.get("storageUri")


def _implementations(component: str, spec: Mapping[str, Any]) -> list[tuple[str, _Obj]]:
    if component == "predictor":
        return predictor_implementations(spec)
    if component == "transformer":
        return _transformer_implementations(spec)
    return _explainer_implementations(spec)


def _exactly_one_error(component: str, path: str) -> FieldError:
    fields, typ = {
        "predictor": (PREDICTOR_IMPLEMENTATION_FIELDS, "PredictorSpec"),
        "transformer": (TRANSFORMER_IMPLEMENTATION_FIELDS, "TransformerSpec"),
        "explainer": (EXPLAINER_IMPLEMENTATION_FIELDS, "ExplainerSpec"),
    }[component]
    return FieldError(path, f"exactly one of [{', '.join(fields)}] must be specified in {typ}")


# ---------------------------------------------------------------------------------------------
# per-implementation Validate()
# ---------------------------------------------------------------------------------------------


def _validate_storage_spec(impl: Mapping[str, Any], storage_uri: str | None, path: str) -> None:
    storage = impl.get("storage")
    if storage is None:
        return
    if storage_uri is not None:
        if storage_uri.startswith(_STORAGE_SPEC_PREFIXES):
            return
        raise FieldError(
            f"{path}.storageUri",
            f"storageUri, must be one of: [{', '.join(_STORAGE_SPEC_PREFIXES)}] or match "
            "https://{}.blob.core.windows.net/{}/{} or be an absolute or relative local path. "
            f"StorageUri [{storage_uri}] is not supported",
        )
    params = as_obj(storage).get("parameters")
    if isinstance(params, dict) and "type" in params:
        v = params["type"]
        if not f"{v}://".startswith(_STORAGE_SPEC_PREFIXES):
            raise FieldError(
                f"{path}.storage.parameters.type",
                f"storage.spec.type, must be one of: [{', '.join(_STORAGE_SPEC_PREFIXES)}]. "
                f"storage.spec.type [{v}] is not supported",
            )


def _validate_gpu(impl: Mapping[str, Any], path: str, includes: str, excludes: str) -> None:
    rv = impl.get("runtimeVersion")
    if rv is None:
        return
    gpu = is_gpu_enabled(impl.get("resources"))
    if gpu and "-gpu" not in rv:
        raise FieldError(f"{path}.runtimeVersion", includes)
    if not gpu and "-gpu" in rv:
        raise FieldError(f"{path}.runtimeVersion", excludes)


def _go_path_ext(uri: str) -> str:
    last = uri.rsplit("/", 1)[-1]
    i = last.rfind(".")
    return last[i:] if i >= 0 else ""


def _validate_implementation(component: str, key: str, impl: Mapping[str, Any], path: str) -> None:
    ipath = path if key == "custom" else f"{path}.{key}"
    uri = _impl_storage_uri(component, key, impl)
    if key == "tensorflow":
        _validate_gpu(impl, ipath, TF_INCLUDES_GPU, TF_EXCLUDES_GPU)
        _validate_storage_spec(impl, uri, ipath)
    elif key == "pytorch":
        _validate_gpu(impl, ipath, TORCH_INCLUDES_GPU, TORCH_EXCLUDES_GPU)
        _validate_storage_spec(impl, uri, ipath)
    elif key == "onnx":
        if uri is not None:
            ext = _go_path_ext(uri)
            if ext not in (".onnx", ""):
                raise FieldError(
                    f"{ipath}.storageUri",
                    f"expected storageUri file extension: '.onnx' but got '{ext}'",
                )
        _validate_storage_spec(impl, uri, ipath)
    elif key in ("huggingface", "pmml", "art"):
        _validate_storage_spec(impl, uri, ipath)
    elif key == "custom" and component == "predictor":
        containers = impl.get("containers") or []
        env = as_obj(containers[0]).get("env") if containers else None
        for j, e in enumerate(env or []):
            if as_obj(e).get("name") == PROTOCOL_ENV:
                value = as_obj(e).get("value") or ""
                if value not in ("v1", "v2"):
                    raise FieldError(
                        f"{path}.containers[0].env[{j}].value",
                        # upstream's fmt.Errorf(InvalidProtocol, ...) swaps its arguments
                        f"invalid protocol v1, v2. Must be one of [{value}]",
                    )
                break
    # sklearn, xgboost, triton, lightgbm, paddle, model: PredictorExtensionSpec.Validate is empty


def _validate_extensions(ext: Mapping[str, Any], path: str) -> None:
    cc = ext.get("containerConcurrency")
    if cc is not None and cc < 0:
        raise FieldError(f"{path}.containerConcurrency", PARALLELISM_LOWER_BOUND)
    min_r = ext.get("minReplicas")
    min_r = 1 if min_r is None else min_r
    max_r = ext.get("maxReplicas") or 0
    if min_r < 0:
        raise FieldError(f"{path}.minReplicas", MIN_REPLICAS_LOWER_BOUND)
    if max_r < 0:
        raise FieldError(f"{path}.maxReplicas", MAX_REPLICAS_LOWER_BOUND)
    if min_r > max_r and max_r != 0:
        raise FieldError(f"{path}.minReplicas", MIN_REPLICAS_SHOULD_BE_LESS_THAN_MAX)
    logger = ext.get("logger")
    if logger is not None:
        logger = as_obj(logger)
        if logger.get("mode") not in ("all", "request", "response"):
            raise FieldError(f"{path}.logger.mode", INVALID_LOGGER_TYPE)
        storage = logger.get("storage")
        if storage is not None:
            storage = as_obj(storage)
            if any(storage.get(k) is None for k in ("path", "parameters", "key")):
                raise FieldError(f"{path}.logger.storage", INVALID_LOGGER_STORAGE)


# ---------------------------------------------------------------------------------------------
# rule 10: autoscaling by annotations
# ---------------------------------------------------------------------------------------------


def _validate_scale_target(target: Mapping[str, Any], path: str) -> None:
    t = target.get("type")
    if t == "Utilization":
        au = target.get("averageUtilization")
        if au is None:
            raise FieldError(
                f"{path}.averageUtilization", "the AverageUtilization type should be set"
            )
        if au < 1 or au > 100:
            raise FieldError(
                f"{path}.averageUtilization",
                "the target utilization percentage should be a [1-100] integer",
            )
    elif t == "AverageValue":
        if target.get("averageValue") is None:
            raise FieldError(f"{path}.averageValue", "the AverageValue type should be set")
    elif t == "Value" and target.get("value") is None:
        raise FieldError(f"{path}.value", "the Value type should be set")


def _validate_hpa(ext: Mapping[str, Any], path: str) -> None:
    metric = ext["scaleMetric"] if ext.get("scaleMetric") is not None else "cpu"
    if metric not in _HPA_METRICS:
        raise FieldError(f"{path}.scaleMetric", f"[{metric}] is not a supported metric")
    target = ext.get("scaleTarget")
    if target is not None:
        # upstream: metric == cpu && target < 1 || target > 100
        if (metric == "cpu" and target < 1) or target > 100:
            raise FieldError(
                f"{path}.scaleTarget",
                "the target utilization percentage should be a [1-100] integer",
            )
        if metric == "memory" and target < 1:
            raise FieldError(
                f"{path}.scaleTarget", "the target memory should be greater than 1 MiB"
            )
    autoscaling = ext.get("autoScaling")
    if autoscaling is not None:
        for i, m in enumerate(as_obj(autoscaling).get("metrics") or []):
            m = as_obj(m)
            mpath = f"{path}.autoScaling.metrics[{i}]"
            if m.get("type") == "Resource":
                if m.get("resource") is None:
                    raise FieldError(
                        f"{mpath}.resource",
                        "metricSpec.Resource is not set for resource metric source type",
                    )
            else:
                raise FieldError(
                    f"{mpath}.type",
                    f"invalid HPA metric source type with value [{m.get('type') or ''}],"
                    "valid metric source types are Resource",
                )


def _quantity_lt(value: Any, limit: str) -> bool:
    try:
        return parse_quantity(value) < parse_quantity(limit)
    except ValueError:
        return False


def _validate_keda(ext: Mapping[str, Any], path: str) -> None:
    if ext.get("scaleMetric") is not None:
        raise FieldError(f"{path}.scaleMetric", "ScaleMetric is not supported for KEDA")
    autoscaling = ext.get("autoScaling")
    if autoscaling is None:
        return
    for i, m in enumerate(as_obj(autoscaling).get("metrics") or []):
        m = as_obj(m)
        mpath = f"{path}.autoScaling.metrics[{i}]"
        mtype = m.get("type")
        if mtype == "Resource":
            res = m.get("resource")
            if res is None:
                raise FieldError(
                    f"{mpath}.resource",
                    "metricSpec.Resource is not set for resource metric source type",
                )
            res = as_obj(res)
            target = as_obj(res.get("target"))
            tpath = f"{mpath}.resource.target"
            name = res.get("name")
            if name == "cpu":
                if target.get("type") != "Utilization":
                    raise FieldError(
                        f"{tpath}.type", "the cpu target value type should be Utilization"
                    )
            elif name == "memory":
                if target.get("type") not in ("AverageValue", "Utilization"):
                    raise FieldError(
                        f"{tpath}.type",
                        "the memory target value type should be AverageValue or Utilization",
                    )
                if target.get("type") == "AverageValue":
                    # upstream: a nil AverageValue reads as the zero quantity (GetQuantity)
                    av = target.get("averageValue")
                    if _quantity_lt(0 if av is None else av, "1Mi"):
                        raise FieldError(
                            f"{tpath}.averageValue",
                            "the memory target value should be greater than 1 MiB",
                        )
            else:
                raise FieldError(
                    f"{mpath}.resource.name", f"resource type {name or ''} is not supported"
                )
            _validate_scale_target(target, tpath)
        elif mtype in ("External", "PodMetric"):
            key = "external" if mtype == "External" else "podmetric"
            src = m.get(key)
            if src is None:
                label = "External" if mtype == "External" else "PodMetric"
                what = "external" if mtype == "External" else "pod"
                raise FieldError(
                    f"{mpath}.{key}",
                    f"metricSpec.{label} is not set for {what} metric source type",
                )
            src = as_obj(src)
            if not as_obj(src.get("metric")).get("query"):
                raise FieldError(f"{mpath}.{key}.metric.query", "the query should not be empty")
            target = as_obj(src.get("target"))
            if target.get("value") is None:
                raise FieldError(
                    f"{mpath}.{key}.target.value", "the target threshold value should not be empty"
                )
            _validate_scale_target(target, f"{mpath}.{key}.target")
        else:
            raise FieldError(
                f"{mpath}.type",
                f"unknown KEDA metric type with value [{mtype or ''}]."
                "Valid types are Resource,External,PodMetric",
            )


def _validate_kpa(ext: Mapping[str, Any], path: str) -> None:
    if ext.get("deploymentStrategy") is not None:
        raise FieldError(
            f"{path}.deploymentStrategy",
            "customizing deploymentStrategy is only supported for raw deployment mode",
        )
    metric = ext["scaleMetric"] if ext.get("scaleMetric") is not None else "concurrency"
    if metric not in _KPA_METRICS:
        raise FieldError(f"{path}.scaleMetric", f"[{metric}] is not a supported metric")
    target = ext.get("scaleTarget")
    if target is not None and metric == "rps" and target < 1:
        raise FieldError(f"{path}.scaleTarget", "the target for rps should be greater than 1")


def _validate_autoscaling(
    annotations: Mapping[str, str], ext: Mapping[str, Any], path: str
) -> None:
    mode = annotations.get(DEPLOYMENT_MODE_ANNOTATION, "")
    if mode == "Standard":
        cls = annotations.get(AUTOSCALER_CLASS_ANNOTATION, "")
        if cls == "hpa":
            _validate_hpa(ext, path)
        elif cls == "keda":
            _validate_keda(ext, path)
        return
    if annotations.get(KNATIVE_CLASS_ANNOTATION, "") == KNATIVE_HPA_CLASS:
        _validate_hpa(ext, path)
    else:
        _validate_kpa(ext, path)


# ---------------------------------------------------------------------------------------------
# whole-object rules
# ---------------------------------------------------------------------------------------------


def _framework_container(predictor: Mapping[str, Any]) -> tuple[str, _Obj] | None:
    for key in ("model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx",
                "huggingface", "pmml", "lightgbm", "paddle"):  # fmt: skip
        if predictor.get(key) is not None:
            return key, as_obj(predictor[key])
    return None


def _validate_blocked_env(spec: Mapping[str, Any]) -> None:
    pred = as_obj(spec.get("predictor"))
    validate_blocked_env_vars(pred.get("containers"), "spec.predictor.containers")
    validate_blocked_env_vars(pred.get("initContainers"), "spec.predictor.initContainers")
    fw = _framework_container(pred)
    if fw is not None:
        key, c = fw
        try:
            validate_blocked_env_vars([c], "spec.predictor")
        except FieldError as err:
            raise FieldError(
                err.field.replace("spec.predictor[0]", f"spec.predictor.{key}"), err.reason
            ) from None
    if pred.get("workerSpec") is not None:
        ws = as_obj(pred["workerSpec"])
        validate_blocked_env_vars(ws.get("containers"), "spec.predictor.workerSpec.containers")
        validate_blocked_env_vars(
            ws.get("initContainers"), "spec.predictor.workerSpec.initContainers"
        )
    for comp in ("transformer", "explainer"):
        if spec.get(comp) is None:
            continue
        c = as_obj(spec.get(comp))
        validate_blocked_env_vars(c.get("containers"), f"spec.{comp}.containers")
        validate_blocked_env_vars(c.get("initContainers"), f"spec.{comp}.initContainers")
        if comp == "explainer" and c.get("art") is not None:
            try:
                validate_blocked_env_vars([as_obj(c["art"])], "spec.explainer.art")
            except FieldError as err:
                raise FieldError(
                    err.field.replace("spec.explainer.art[0]", "spec.explainer.art"), err.reason
                ) from None


def _validate_multi_node(
    name: str, annotations: Mapping[str, str], pred: Mapping[str, Any], gpu_types: Sequence[str]
) -> None:
    ws = pred.get("workerSpec")
    if ws is None:
        return
    ws = as_obj(ws)
    prefix = f'the InferenceService "{name}" is invalid: '
    unknown_gpu = (
        prefix + "Unknown GPU resource type. Set 'serving.kserve.io/gpu-resource-types' "
        "annotation to use custom gpu resource type"
    )
    path = "spec.predictor.workerSpec"
    if len(ws.get("containers") or []) > 1:
        raise FieldError(
            f"{path}.containers",
            prefix + "setting multiple containers in workerSpec is not allowed",
        )
    model = pred.get("model")
    if model is not None:
        model = as_obj(model)
        mpath = "spec.predictor.model"
        for env, what in (
            ("PIPELINE_PARALLEL_SIZE", "PIPELINE_PARALLEL_SIZE"),
            ("TENSOR_PARALLEL_SIZE", "TENSOR_PARALLEL_SIZE"),
        ):
            if get_env(model.get("env"), env)[1]:
                raise FieldError(
                    f"{mpath}.env",
                    prefix + f"setting {what} in environment variables is not allowed",
                )
        check_gpu_resource_types(
            model.get("resources"),
            annotations,
            gpu_types,
            field=f"{mpath}.resources",
            reason=unknown_gpu,
        )
        uri = model.get("storageUri")
        if uri is None:
            raise FieldError(
                f"{mpath}.storageUri", prefix + "StorageURI must be set for multinode enabled"
            )
        scheme = uri.split("://")[0]
        if scheme not in ("pvc", "oci"):
            raise FieldError(
                f"{mpath}.storageUri",
                prefix + f"Multinode only supports 'pvc' and 'oci' Storage Protocol({scheme})",
            )
        cls = annotations.get(AUTOSCALER_CLASS_ANNOTATION, "")
        if cls != "none":
            raise FieldError(
                f"metadata.annotations[{AUTOSCALER_CLASS_ANNOTATION}]",
                prefix + f"Multinode only supports 'none' autoscaler({cls})",
            )
    pps = ws.get("pipelineParallelSize")
    if pps is not None and pps < 1:
        raise FieldError(
            f"{path}.pipelineParallelSize",
            prefix + f"WorkerSpec.PipelineParallelSize cannot be less than 1({pps})",
        )
    tps = ws.get("tensorParallelSize")
    if tps is not None and tps < 1:
        raise FieldError(
            f"{path}.tensorParallelSize",
            prefix + f"WorkerSpec.TensorParallelSize cannot be less than 1({tps})",
        )
    for i, c in enumerate(ws.get("containers") or []):
        check_gpu_resource_types(
            as_obj(c).get("resources"),
            annotations,
            gpu_types,
            field=f"{path}.containers[{i}].resources",
            reason=unknown_gpu,
        )


def _validate_collocation_storage_uri(pred: Mapping[str, Any]) -> None:
    for i, c in enumerate(pred.get("containers") or []):
        c = as_obj(c)
        if c.get("name") == TRANSFORMER_CONTAINER:
            for j, e in enumerate(c.get("env") or []):
                if as_obj(e).get("name") == STORAGE_URI_ENV:
                    raise FieldError(
                        f"spec.predictor.containers[{i}].env[{j}]", STORAGE_URI_IN_TRANSFORMER
                    )
            break


def _validate_predictor_names(pred: Mapping[str, Any]) -> None:
    for key in ("sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface",
                "pmml", "lightgbm", "paddle", "model"):  # fmt: skip
        impl = pred.get(key)
        if impl is not None and as_obj(impl).get("name"):
            raise FieldError(f"spec.predictor.{key}.name", NAME_NOT_ALLOWED)


def _validate_storage_uris_spec(uris: Sequence[Any], path: str) -> None:
    if not uris:
        return
    paths: list[str] = []
    pvc_paths: list[str] = []
    for i, u in enumerate(uris):
        u = as_obj(u)
        uri, mount = u.get("uri") or "", u.get("mountPath") or ""
        ipath = f"{path}[{i}]"
        if uri == "":
            raise FieldError(f"{ipath}.uri", "storage URI cannot be empty")
        if mount == "/":
            raise FieldError(f"{ipath}.mountPath", "storage path cannot be empty")
        if not mount.startswith("/"):
            raise FieldError(f"{ipath}.mountPath", f"storage path must be absolute: {mount}")
        if ".." in mount:
            raise FieldError(
                f"{ipath}.mountPath",
                f"storage path cannot contain '..' for security reasons: {mount}",
            )
        (pvc_paths if uri.startswith("pvc://") else paths).append(mount)
    if len(paths) <= 1:
        return
    if len(pvc_paths) != len(set(pvc_paths)):
        raise FieldError(path, "PVC storage paths must be unique")
    if find_common_parent_path(paths) == "/":
        raise FieldError(
            path,
            "storage paths must have a common parent directory. Current paths: "
            f"[{' '.join(paths)}] have no common parent beyond root",
        )


def _validate_multiple_storage_uris(spec: Mapping[str, Any]) -> None:
    for comp in ("transformer", "explainer", "predictor"):
        c = spec.get(comp)
        if c is None:
            continue
        c = as_obj(c)
        impls = _implementations(comp, c)
        uri = _impl_storage_uri(comp, *impls[0]) if impls else None
        uris = c.get("storageUris")
        if uri is not None and uris is not None:
            raise FieldError(f"spec.{comp}.storageUris", INVALID_STORAGE_URI_CONFIG)
        _validate_storage_uris_spec(uris or [], f"spec.{comp}.storageUris")


def _validate_confidential(pred: Mapping[str, Any]) -> list[str]:
    fw = _framework_container_conf(pred)
    if fw is None:
        return []
    key, conf = fw
    if not conf.get("enabled"):
        return []
    impls = predictor_implementations(pred)
    uri = _impl_storage_uri("predictor", *impls[0]) if impls else None
    if not uri:
        raise FieldError(
            f"spec.predictor.{key}.storageUri",
            "confidential model serving requires storageUri to be set",
        )
    warnings: list[str] = []
    if uri.startswith("oci://"):
        warnings.append(
            "confidential has no effect with OCI URIs; OCI image decryption is handled "
            "by the container runtime via runtimeClassName"
        )
    if uri.startswith("pvc://"):
        warnings.append(
            "confidential has no effect with PVC URIs; the storage-initializer is not "
            "injected for PVC volumes"
        )
    rid = conf.get("resourceId")
    if rid and not _KBS_RESOURCE_ID_RE.fullmatch(rid):  # Go's $ is end of text
        raise FieldError(
            f"spec.predictor.{key}.confidential.resourceId",
            f"Invalid value: {go_quote(rid)}: must be in the format kbs:///<repo>/<type>/<tag>",
            warnings,
        )
    return warnings


def _framework_container_conf(pred: Mapping[str, Any]) -> tuple[str, _Obj] | None:
    for key in ("sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface",
                "pmml", "lightgbm", "paddle", "model"):  # fmt: skip
        if pred.get(key) is not None:
            conf = as_obj(pred[key]).get("confidential")
            return (key, as_obj(conf)) if conf is not None else None
    return None


def _validate_component(
    comp: str, spec: Mapping[str, Any], path: str, annotations: Mapping[str, str] | None
) -> None:
    impls = _implementations(comp, spec)
    if len(impls) != 1:
        raise _exactly_one_error(comp, path)
    _validate_implementation(comp, *impls[0], path)
    _validate_extensions(spec, path)
    if annotations is not None:
        _validate_autoscaling(annotations, spec, path)


def _validate_canaries(annotations: Mapping[str, str], spec: Mapping[str, Any]) -> None:
    canaries = spec.get("canary") or []
    if not canaries:
        return
    if annotations.get(DEPLOYMENT_MODE_ANNOTATION, "") != "Standard":
        raise FieldError("spec.canary", "canary is only supported in Standard deployment mode")
    pred = as_obj(spec.get("predictor"))
    impls = predictor_implementations(pred)
    stable_uri = _impl_storage_uri("predictor", *impls[0]) if impls else None
    if stable_uri is None and pred.get("model") is None:
        raise FieldError(
            "spec.predictor",
            "canary requires a stable predictor with a model "
            "(multi-model serving is not supported with canary)",
        )
    names: set[str] = set()
    total = 0
    for i, canary in enumerate(canaries):
        canary = as_obj(canary)
        cp = as_obj(canary.get("predictor"))
        cpath = f"spec.canary[{i}]"
        name = cp.get("name") or ""
        if name == "":
            raise FieldError(f"{cpath}.predictor.name", f"canary[{i}] predictor.name is required")
        if name in names:
            raise FieldError(
                f"{cpath}.predictor.name", f"canary predictor.name {go_quote(name)} is duplicated"
            )
        names.add(name)
        if name == (pred.get("name") or ""):
            raise FieldError(
                f"{cpath}.predictor.name",
                f"canary predictor.name {go_quote(name)} conflicts with stable predictor name",
            )
        pct = canary.get("trafficPercent") or 0
        if pct < 0 or pct > 100:
            raise FieldError(
                f"{cpath}.trafficPercent",
                f"canary {go_quote(name)} trafficPercent must be between 0 and 100, got {pct}",
            )
        total += pct
        try:
            _validate_component("predictor", cp, f"{cpath}.predictor", None)
        except FieldError as err:
            raise FieldError(
                err.field, f"canary {go_quote(name)} predictor: {err.reason}"
            ) from None
        if cp.get("workerSpec") is not None:
            raise FieldError(
                f"{cpath}.predictor.workerSpec",
                f"canary {go_quote(name)} must not "
                "set workerSpec (multi-node is not yet supported for canary)",
            )
        for key in ("maxReplicas", "scaleTarget", "scaleMetric", "autoScaling"):
            value = cp.get(key)
            if (key == "maxReplicas" and (value or 0) > 0) or (
                key != "maxReplicas" and value is not None
            ):
                raise FieldError(
                    f"{cpath}.predictor.{key}",
                    f"canary {go_quote(name)} must not set {key} (canary uses fixed replicas)",
                )
        cmin = cp.get("minReplicas")
        if cmin is not None:
            smin = pred.get("minReplicas")
            smin = 1 if smin is None else smin
            if cmin > smin:
                raise FieldError(
                    f"{cpath}.predictor.minReplicas",
                    f"canary {go_quote(name)} "
                    f"minReplicas ({cmin}) must not exceed stable predictor "
                    f"minReplicas ({smin})",
                )
    if total > 100:
        raise FieldError(
            "spec.canary", f"sum of canary trafficPercent values ({total}) must be <= 100"
        )


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------


def _gpu_types(config: InferenceServiceConfig | None) -> list[str]:
    if config is None:
        return list(DEFAULT_GPU_RESOURCE_TYPES)
    custom = [
        t
        for t in config.multi_node.custom_gpu_resource_type_list
        if t not in DEFAULT_GPU_RESOURCE_TYPES
    ]
    return [*DEFAULT_GPU_RESOURCE_TYPES, *dict.fromkeys(custom)]


@malformed_guard("apis.serving.v1beta1:InferenceService", decode_first=True)
def validate_inference_service(
    isvc: Any, *, config: InferenceServiceConfig | None = None
) -> list[str]:
    """Rules 1-11 of §4.1 (upstream ``validateInferenceService``), in upstream order.

    Returns admission warnings; raises :class:`FieldError` for the first refusal. ``config``
    supplies the ``multiNode`` custom GPU types (upstream adds them to its global list).
    """
    obj = as_dict(isvc)
    meta = as_obj(obj.get("metadata"))
    name = meta.get("name") or ""
    annotations: dict[str, str] = as_obj(meta.get("annotations"))
    spec = as_obj(obj.get("spec"))
    pred = as_obj(spec.get("predictor"))
    # 1. name
    validate_name(name, "InferenceService")
    # 2. autoscaler class
    if AUTOSCALER_CLASS_ANNOTATION in annotations:
        cls = annotations[AUTOSCALER_CLASS_ANNOTATION]
        if cls not in ALLOWED_AUTOSCALER_CLASSES:
            raise FieldError(
                f"metadata.annotations[{AUTOSCALER_CLASS_ANNOTATION}]",
                f"[{cls}] is not a supported autoscaler class type",
            )
    # 3. blocked env vars
    try:
        _validate_blocked_env(spec)
    except FieldError as err:
        raise FieldError(
            err.field, f"the InferenceService {go_quote(name)} is invalid: {err.reason}"
        ) from None
    # 4. multi-node
    _validate_multi_node(name, annotations, pred, _gpu_types(config))
    # 5. transformer container in predictor must not set STORAGE_URI
    _validate_collocation_storage_uri(pred)
    # 6. framework/model predictors must not set the container name
    _validate_predictor_names(pred)
    # 7. storageUri vs storageUris
    _validate_multiple_storage_uris(spec)
    # 8. confidential
    warnings = _validate_confidential(pred)
    # 9 + 10. per component
    for comp in ("predictor", "transformer", "explainer"):
        c = spec.get(comp) if comp != "predictor" else pred
        if c is None:
            continue
        try:
            _validate_component(comp, as_obj(c), f"spec.{comp}", annotations)
        except FieldError as err:
            raise FieldError(err.field, err.reason, warnings) from None
    # 11. canaries
    try:
        _validate_canaries(annotations, spec)
    except FieldError as err:
        raise FieldError(err.field, err.reason, warnings) from None
    return warnings


def validate_inference_service_create(
    isvc: Any, *, config: InferenceServiceConfig | None = None
) -> list[str]:
    """Admission CREATE (upstream ``ValidateCreate``)."""
    return validate_inference_service(isvc, config=config)


def _predictor_storage_uri(pred: Mapping[str, Any]) -> str:
    model = pred.get("model")
    if model is not None and as_obj(model).get("storageUri") is not None:
        return str(as_obj(model)["storageUri"])
    impls = predictor_implementations(pred)
    if impls:
        uri = _impl_storage_uri("predictor", *impls[0])
        if uri is not None:
            return uri
    return ""


def _normalize_mode(mode: str) -> str:
    if mode == "":
        return "Standard"
    return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(mode, mode)


@malformed_guard("apis.serving.v1beta1:InferenceService", 2, decode_first=True)
def validate_inference_service_update(
    new: Any, old: Any, *, config: InferenceServiceConfig | None = None
) -> list[str]:
    """Admission UPDATE (upstream ``ValidateUpdate``): nothing is checked for an object being
    deleted; then rule 12 (deploymentMode is sticky once in status), rule 13 (renaming the
    predictor needs a new model), then rules 1-11."""
    new_obj, old_obj = as_dict(new), as_dict(old)
    if as_obj(new_obj.get("metadata")).get("deletionTimestamp") is not None:
        return []
    # 12.
    status_mode = as_obj(old_obj.get("status")).get("deploymentMode") or ""
    if status_mode:
        status_mode = _normalize_mode(status_mode)
        annotations = as_obj(as_obj(new_obj.get("metadata")).get("annotations"))
        if (
            DEPLOYMENT_MODE_ANNOTATION in annotations
            and annotations[DEPLOYMENT_MODE_ANNOTATION] != status_mode
        ):
            raise FieldError(
                f"metadata.annotations[{DEPLOYMENT_MODE_ANNOTATION}]",
                f"update rejected: deploymentMode cannot be changed from '{status_mode}' to "
                f"'{annotations[DEPLOYMENT_MODE_ANNOTATION]}'",
            )
    # 13.
    new_pred = as_obj(as_obj(new_obj.get("spec")).get("predictor"))
    old_pred = as_obj(as_obj(old_obj.get("spec")).get("predictor"))
    renamed = (new_pred.get("name") or "") != (old_pred.get("name") or "")
    if renamed and _predictor_storage_uri(new_pred) == _predictor_storage_uri(old_pred):
        raise FieldError(
            "spec.predictor.name",
            "predictor.name change requires a model change (e.g. storageUri)",
        )
    return validate_inference_service(new_obj, config=config)
