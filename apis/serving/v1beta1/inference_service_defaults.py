"""InferenceService defaulting: upstream ``inference_service_defaults.go`` (the mutating
webhook's ``DefaultInferenceService``) and the ``Default()`` methods of the implementations.

A pure function over the object's JSON shape: it returns a defaulted deep copy and never
touches its input; the webhook turns the difference into a JSON patch. Rule numbers refer to
``kserve-behaviour.md`` §4.2. Runtime-specific defaults applied at reconcile time
(``SetRuntimeDefaults``: mlserver/triton/torchserve) are not part of admission;
:func:`set_runtime_defaults` provides them for the controller.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from apis.serving.constants import (
    DEFAULT_MOUNT_PATH,
    DEPLOYMENT_MODE_ANNOTATION,
    DISABLE_LOCAL_MODEL_ANNOTATION,
    INFERENCE_SERVICE_CONTAINER,
    LOCAL_MODEL_LABEL,
    LOCAL_MODEL_NAMESPACE_LABEL,
    LOCAL_MODEL_PVC_NAME_ANNOTATION,
    LOCAL_MODEL_SOURCE_URI_ANNOTATION,
    MODEL_FORMAT_ANNOTATION,
    NODE_GROUP_ANNOTATION,
    SERVER_TYPE_ANNOTATION,
)
from apis.serving.v1alpha1.storage_uri_utils import match_storage_uri
from apis.serving.v1beta1.configmap import (
    InferenceServiceConfig,
    ResourceConfig,
    parse_inferenceservice_config,
)
from apis.serving.v1beta1.inference_service_validation import predictor_implementations
from apis.serving.validation import as_dict, as_obj, canonical_quantity, malformed_guard

__all__ = [
    "DEPLOYMENT_MODE_ANNOTATION",
    "DISABLE_LOCAL_MODEL_ANNOTATION",
    "LOCAL_MODEL_LABEL",
    "LOCAL_MODEL_NAMESPACE_LABEL",
    "LOCAL_MODEL_PVC_NAME_ANNOTATION",
    "LOCAL_MODEL_SOURCE_URI_ANNOTATION",
    "MODEL_FORMAT_ANNOTATION",
    "NODE_GROUP_ANNOTATION",
    "default_inference_service",
    "set_runtime_defaults",
]

#: ``setPredictorModelDefaults`` switch order: (spec key, modelFormat name, protocol v2 default)
_FRAMEWORKS: tuple[tuple[str, str, bool], ...] = (
    ("sklearn", "sklearn", False),
    ("tensorflow", "tensorflow", False),
    ("xgboost", "xgboost", False),
    ("pytorch", "pytorch", False),
    ("triton", "triton", True),
    ("onnx", "onnx", True),
    ("huggingface", "huggingface", True),
    ("pmml", "pmml", False),
    ("lightgbm", "lightgbm", False),
    ("paddle", "paddle", False),
)

_Obj = dict[str, Any]


def _set_resource_defaults(resource: ResourceConfig, container: _Obj) -> None:
    """``setResourceRequirementDefaults``: fill missing cpu/memory requests and limits."""
    defaults = {
        "requests": {"cpu": resource.cpu_request, "memory": resource.memory_request},
        "limits": {"cpu": resource.cpu_limit, "memory": resource.memory_limit},
    }
    wanted = {k: {r: v for r, v in d.items() if v} for k, d in defaults.items()}
    if not any(wanted.values()):
        return
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = {}
    for kind, values in wanted.items():
        if not values:
            continue
        current = resources.get(kind)
        if not isinstance(current, dict):
            current = {}
        for res, value in values.items():
            current.setdefault(res, canonical_quantity(value))
        resources[kind] = current
    container["resources"] = resources


def _default_mount_paths(spec: _Obj) -> None:
    comps = [spec.get(c) for c in ("predictor", "transformer", "explainer")]
    comps += [as_obj(c).get("predictor") for c in spec.get("canary") or [] if isinstance(c, dict)]
    for comp in comps:
        if not isinstance(comp, dict):
            continue
        for item in comp.get("storageUris") or []:
            if isinstance(item, dict) and item.get("mountPath") is None:
                item["mountPath"] = DEFAULT_MOUNT_PATH


def _canonicalize_quantities(node: Any) -> None:
    """Upstream's webhook answers with a patch between the request and ``json.Marshal`` of the
    defaulted Go object, so every ``resource.Quantity`` comes back in canonical form
    (``1024Mi`` -> ``1Gi``). Quantities in an InferenceService live in ``resources``
    (``limits``/``requests``) of containers, pods and claim templates, and in
    ``emptyDir.sizeLimit`` and ``resourceFieldRef.divisor``; a value that does not parse is
    left alone."""
    if isinstance(node, list):
        for item in node:
            _canonicalize_quantities(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "resources" and isinstance(value, dict):
            for kind in ("limits", "requests"):
                q = value.get(kind)
                if isinstance(q, dict):
                    for name, amount in q.items():
                        q[name] = _canonical_or_same(amount)
        elif key in ("sizeLimit", "divisor") and value is not None:
            node[key] = _canonical_or_same(value)
        _canonicalize_quantities(value)


def _set_zero(obj: Any, key: str, zero: Any) -> None:
    if isinstance(obj, dict) and obj.get(key) is None:
        obj[key] = copy.deepcopy(zero)


def _container_zero_values(container: Any) -> None:
    # corev1.Container: "name" has no omitempty; "resources" is a struct (never omitted)
    _set_zero(container, "name", "")
    _set_zero(container, "resources", {})


def _pod_spec_zero_values(pod: _Obj) -> None:
    for key in ("containers", "initContainers"):
        for c in pod.get(key) or []:
            _container_zero_values(c)


def _metrics_zero_values(ext: _Obj) -> None:
    for m in as_obj(ext.get("autoScaling")).get("metrics") or []:
        if not isinstance(m, dict):
            continue
        _set_zero(m, "type", "")
        for key, name_field in (("resource", "name"), ("external", None), ("podmetric", None)):
            src = m.get(key)
            if not isinstance(src, dict):
                continue
            if name_field is not None:
                _set_zero(src, name_field, "")
            else:
                _set_zero(src, "metric", {})
                _set_zero(src["metric"], "backend", "")
            _set_zero(src, "target", {})
            _set_zero(src["target"], "type", "")
            if key == "external" and isinstance(src.get("authenticationRef"), dict):
                auth = src["authenticationRef"]
                _set_zero(auth, "authenticationRef", {})
                _set_zero(auth["authenticationRef"], "name", "")


def _component_zero_values(comp: Any, component: str) -> None:
    if not isinstance(comp, dict):
        return
    _pod_spec_zero_values(comp)
    _metrics_zero_values(comp)
    for item in comp.get("storageUris") or []:
        _set_zero(item, "uri", "")
    if component == "predictor":
        for key in (*(k for k, _, _ in _FRAMEWORKS), "model"):
            impl = comp.get(key)
            if not isinstance(impl, dict):
                continue
            _container_zero_values(impl)
            if isinstance(impl.get("confidential"), dict):
                _set_zero(impl["confidential"], "enabled", False)
            if key == "model":
                _set_zero(impl, "modelFormat", {})
                _set_zero(impl["modelFormat"], "name", "")
        if isinstance(comp.get("workerSpec"), dict):
            _pod_spec_zero_values(comp["workerSpec"])
    elif component == "explainer" and isinstance(comp.get("art"), dict):
        _container_zero_values(comp["art"])
        _set_zero(comp["art"], "type", "")


def _divisor_zero_values(node: Any) -> None:
    """``ResourceFieldSelector.divisor`` is a ``resource.Quantity`` (a struct): "0" when unset."""
    if isinstance(node, list):
        for item in node:
            _divisor_zero_values(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "resourceFieldRef" and isinstance(value, dict):
                _set_zero(value, "divisor", "0")
            _divisor_zero_values(value)


def _go_marshal_zero_values(spec: _Obj) -> None:
    """Upstream's webhook patches the request towards ``json.Marshal`` of the defaulted Go
    object and keeps every add/replace (controller-runtime drops only the removals its scheme
    caused), so fields without ``omitempty`` come back with their zero value: a stored
    InferenceService shows ``model: {name: "", resources: {}}``. Covered: the inlined
    ``corev1.Container`` of frameworks/model/ART and every container list, ModelFormat.name,
    StorageUri.uri, ConfidentialSpec.enabled, ARTExplainerSpec.type, CanarySpec.trafficPercent,
    the autoscaling metric structs, ResourceFieldSelector.divisor."""
    for name in ("predictor", "transformer", "explainer"):
        _component_zero_values(spec.get(name), name)
    for canary in spec.get("canary") or []:
        if isinstance(canary, dict):
            _set_zero(canary, "predictor", {})
            _set_zero(canary, "trafficPercent", 0)
            _component_zero_values(canary["predictor"], "predictor")
    _divisor_zero_values(spec)


def _canonical_or_same(amount: Any) -> Any:
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        return amount
    try:
        return canonical_quantity(amount)
    except ValueError:
        return amount


def _exactly_one(component: str, spec: _Obj) -> bool:
    if component == "predictor":
        return len(predictor_implementations(spec)) == 1
    if component == "transformer":
        return bool(spec.get("containers"))
    n = (1 if spec.get("art") is not None else 0) + (1 if spec.get("containers") else 0)
    return n == 1


def _default_component(component: str, spec: _Obj, config: InferenceServiceConfig) -> None:
    resource = config.inference_service.resource
    if component == "predictor":
        kind, _ = predictor_implementations(spec)[0]
        if kind != "custom":
            return  # frameworks were converted to model; ModelSpec.Default is empty
        containers = spec.get("containers") or [{}]
        spec["containers"] = containers
        first = containers[0]
        if len(containers) == 1 or not first.get("name"):
            first["name"] = INFERENCE_SERVICE_CONTAINER
        _set_resource_defaults(resource, first)
        return
    if component == "explainer" and spec.get("art") is not None:
        art = as_obj(spec["art"])
        art["name"] = INFERENCE_SERVICE_CONTAINER
        if art.get("runtimeVersion") is None:
            art["runtimeVersion"] = (
                config.inference_service.explainers.art_explainer.default_image_version
            )
        _set_resource_defaults(resource, art)
        return
    # custom transformer / explainer
    containers = spec.get("containers") or [{}]
    spec["containers"] = containers
    containers[0]["name"] = INFERENCE_SERVICE_CONTAINER
    _set_resource_defaults(resource, containers[0])


def _set_predictor_model_defaults(obj: _Obj, pred: _Obj) -> None:
    for key, fmt, v2 in _FRAMEWORKS:
        fw = pred.get(key)
        if fw is None:
            continue
        fw = dict(as_obj(fw))
        if v2 and fw.get("protocolVersion") is None:
            fw["protocolVersion"] = "v2"
        # ModelSpec{ModelFormat{Name}, PredictorExtensionSpec: <framework's>} replaces model
        pred["model"] = {"modelFormat": {"name": fmt}, **fw}
        del pred[key]
        break
    model = pred.get("model")
    if model is None:
        return
    model = as_obj(model)
    fmt_name = as_obj(model.get("modelFormat")).get("name") or ""
    if model.get("protocolVersion") is None and fmt_name in ("triton", "vLLM"):
        model["protocolVersion"] = "v2"
    if fmt_name:
        annotations = obj["metadata"].setdefault("annotations", {})
        annotations.setdefault(MODEL_FORMAT_ANNOTATION, fmt_name)


def _predictor_storage_uri(pred: _Obj) -> str | None:
    impls = predictor_implementations(pred)
    if not impls:
        return None
    kind, impl = impls[0]
    if kind != "custom":
        return impl.get("storageUri")
    for c in impl.get("containers") or []:
        if as_obj(c).get("name") == INFERENCE_SERVICE_CONTAINER:
            for e in as_obj(c).get("env") or []:
                if as_obj(e).get("name") == "STORAGE_URI":
                    return str(as_obj(e).get("value") or "")
            return None
    return None


def _delete_local_model_metadata(meta: _Obj) -> None:
    labels, annotations = meta.get("labels"), meta.get("annotations")
    if isinstance(labels, dict):
        labels.pop(LOCAL_MODEL_LABEL, None)
        labels.pop(LOCAL_MODEL_NAMESPACE_LABEL, None)
    if isinstance(annotations, dict):
        annotations.pop(LOCAL_MODEL_SOURCE_URI_ANNOTATION, None)
        annotations.pop(LOCAL_MODEL_PVC_NAME_ANNOTATION, None)


def _set_local_model_label(
    obj: _Obj,
    pred: _Obj,
    caches: Sequence[_Obj] | None,
    ns_caches: Sequence[_Obj] | None,
) -> None:
    uri = _predictor_storage_uri(pred)
    if uri is None:
        return
    meta = obj["metadata"]
    annotations = as_obj(meta.get("annotations"))
    node_group = annotations.get(NODE_GROUP_ANNOTATION)

    def pvc_name(cache: _Obj) -> str | None:
        name = as_obj(cache.get("metadata")).get("name") or ""
        groups = list(as_obj(cache.get("spec")).get("nodeGroups") or [])
        if node_group is not None:
            return f"{name}-{node_group}" if node_group in groups else None
        return f"{name}-{groups[0]}" if groups else None

    def label_from(candidates: Sequence[_Obj], namespaced: bool) -> bool:
        """Label and annotate ``obj`` for the first cache of ``candidates`` that holds the
        model and has a PVC for the node group; whether there was one."""
        for cache in candidates:
            source = as_obj(cache.get("spec")).get("sourceModelUri") or ""
            if not match_storage_uri(source, uri):
                continue
            pvc = pvc_name(cache)
            if pvc is None:
                continue
            cmeta = as_obj(cache.get("metadata"))
            labels = meta.setdefault("labels", {})
            labels[LOCAL_MODEL_LABEL] = cmeta.get("name") or ""
            if namespaced:
                labels[LOCAL_MODEL_NAMESPACE_LABEL] = cmeta.get("namespace") or ""
            else:
                labels.pop(LOCAL_MODEL_NAMESPACE_LABEL, None)
            meta.setdefault("annotations", {})[LOCAL_MODEL_SOURCE_URI_ANNOTATION] = source
            meta["annotations"][LOCAL_MODEL_PVC_NAME_ANNOTATION] = pvc
            return True
        return False

    if label_from(ns_caches or [], namespaced=True):
        return
    if caches is not None and label_from(caches, namespaced=False):
        return
    _delete_local_model_metadata(meta)


# decode_first: upstream's mutating webhook decodes the request into the Go type before
# defaulting, so a value of the wrong JSON type is refused where it is (a malformed old-style
# predictor would otherwise be dropped or reported under its migrated path predictor.model)
@malformed_guard("apis.serving.v1beta1:InferenceService", decode_first=True)
def default_inference_service(
    isvc: Any,
    config: InferenceServiceConfig | None = None,
    *,
    local_model_caches: Sequence[Any] | None = None,
    local_model_namespace_caches: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Upstream ``DefaultInferenceService``: return a defaulted copy of ``isvc`` (JSON shape).

    ``config`` is the parsed ``inferenceservice-config`` (an empty ConfigMap when None, as
    upstream with every key missing). ``local_model_caches`` (LocalModelCache objects) and
    ``local_model_namespace_caches`` (LocalModelNamespaceCache objects in the ISVC's namespace)
    are what the webhook lists when ``localModel.enabled`` is true and the ISVC lacks
    ``serving.kserve.io/disable-localmodel``; they are ignored otherwise, as upstream never
    lists them then.
    """
    cfg = config if config is not None else parse_inferenceservice_config({})
    obj = copy.deepcopy(as_dict(isvc))
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    for key in ("labels", "annotations"):  # explicit null is an empty (nil) map
        if key in meta and meta[key] is None:
            del meta[key]
    annotations = meta.get("annotations")
    spec = obj.setdefault("spec", {})
    pred = spec.setdefault("predictor", {})

    # 1. normalise legacy deploymentMode annotation values
    has_mode = isinstance(annotations, dict) and DEPLOYMENT_MODE_ANNOTATION in annotations
    mode = ""
    if isinstance(annotations, dict) and has_mode:
        raw = str(annotations[DEPLOYMENT_MODE_ANNOTATION])
        mode = {"RawDeployment": "Standard", "Serverless": "Knative"}.get(raw, raw)
        annotations[DEPLOYMENT_MODE_ANNOTATION] = mode
    # 2. write the default mode when it is Standard or ModelMesh (never for Knative)
    if not has_mode and cfg.deploy.default_deployment_mode in ("ModelMesh", "Standard"):
        meta.setdefault("annotations", {})[DEPLOYMENT_MODE_ANNOTATION] = (
            cfg.deploy.default_deployment_mode
        )
    components: list[tuple[str, _Obj]] = [
        (c, spec[c]) for c in ("transformer", "explainer") if isinstance(spec.get(c), dict)
    ]
    if not has_mode or mode != "ModelMesh":
        # 3-5. framework -> model, protocol v2 for triton/onnx/huggingface/vLLM, modelFormat
        _set_predictor_model_defaults(obj, pred)
        components.append(("predictor", pred))
    # 6. component defaults (only for components with exactly one implementation)
    for name, comp in components:
        if _exactly_one(name, comp):
            _default_component(name, comp, cfg)
    # 7. local model cache labels
    annotations = as_obj(meta.get("annotations"))
    lookup = cfg.local_model.enabled and DISABLE_LOCAL_MODEL_ANNOTATION not in annotations
    caches = [as_dict(c) for c in local_model_caches or []] if lookup else None
    ns_caches = [as_dict(c) for c in local_model_namespace_caches or []] if lookup else None
    _set_local_model_label(obj, pred, caches, ns_caches)
    # schema default storageUris[].mountPath (what the full CRD's structural defaulting does;
    # needed with the minimal CRDs, a no-op otherwise)
    _default_mount_paths(spec)
    # quantities come back canonical and zero values appear, as from upstream's json.Marshal
    # of the Go object
    _go_marshal_zero_values(spec)
    _canonicalize_quantities(spec)
    # 8. automountServiceAccountToken: false unless the config allows it
    if not cfg.security.auto_mount_service_account_token:
        for name in ("predictor", "transformer", "explainer"):
            comp = spec.get(name)
            if isinstance(comp, dict) and comp.get("automountServiceAccountToken") is None:
                comp["automountServiceAccountToken"] = False
    return obj


# ---------------------------------------------------------------------------------------------
# reconcile-time runtime defaults (upstream SetRuntimeDefaults; applied in memory by the
# InferenceService controller once the runtime is chosen, never persisted)
# ---------------------------------------------------------------------------------------------

#: ``constants.GetServerTypeFromRuntimeName`` (fallback when the runtime has no annotation).
RUNTIME_NAME_SERVER_TYPES = {
    "kserve-mlserver": "mlserver",
    "kserve-torchserve": "torchserve",
    "kserve-tritonserver": "tritonserver",
    "kserve-tensorflow-serving": "tensorflow-serving",
    "kserve-huggingfaceserver": "huggingfaceserver",
    "kserve-vllmserver": "vllmserver",
}
_MLSERVER_MODEL_CLASSES = {
    "xgboost": "mlserver_xgboost.XGBoostModel",
    "lightgbm": "mlserver_lightgbm.LightGBMModel",
    "mlflow": "mlserver_mlflow.MLflowRuntime",
}


def _append_env_if_missing(model: _Obj, *envs: tuple[str, str]) -> None:
    env = list(model.get("env") or [])
    names = {as_obj(e).get("name") for e in env}
    for name, value in envs:
        if name not in names:
            env.append({"name": name, "value": value})
            names.add(name)
    model["env"] = env


@malformed_guard("apis.serving.v1beta1:InferenceService")
def set_runtime_defaults(isvc: Any, runtime_annotations: dict[str, str] | None = None) -> _Obj:
    """Upstream ``SetRuntimeDefaults``: server-specific defaults for a ``predictor.model`` once
    its runtime is known. The server type comes from the runtime's
    ``serving.kserve.io/server-type`` annotation, else from ``predictor.model.runtime`` by the
    built-in runtime names. Returns a defaulted copy (JSON shape).

    * mlserver: protocol v2; ``MLSERVER_MODEL_NAME``/``MLSERVER_MODEL_URI`` (or
      ``MLSERVER_LOAD_MODELS_AT_STARTUP=false`` without storage); label ``modelClass``.
    * tritonserver: protocol v2; ``--model-control-mode=explicit`` without storage.
    * torchserve: protocol v1; label ``serviceEnvelope`` (kserve / kservev2 for v2 and
      grpc-v2); env ``PROTOCOL_VERSION`` appended (always, as upstream).
    """
    obj = copy.deepcopy(as_dict(isvc))
    meta = obj.setdefault("metadata", {})
    if meta.get("labels", {}) is None:
        del meta["labels"]
    model = as_obj(as_obj(as_obj(obj.get("spec")).get("predictor")).get("model"))
    if not model:
        return obj
    annotations = runtime_annotations or {}
    if SERVER_TYPE_ANNOTATION in annotations:
        server_type = annotations[SERVER_TYPE_ANNOTATION]
    else:
        server_type = RUNTIME_NAME_SERVER_TYPES.get(model.get("runtime") or "", "")
    has_storage = model.get("storageUri") is not None or model.get("storage") is not None
    if server_type == "mlserver":
        if model.get("protocolVersion") is None:
            model["protocolVersion"] = "v2"
        if not has_storage:
            _append_env_if_missing(model, ("MLSERVER_LOAD_MODELS_AT_STARTUP", "false"))
        else:
            _append_env_if_missing(
                model,
                ("MLSERVER_MODEL_NAME", meta.get("name") or ""),
                ("MLSERVER_MODEL_URI", DEFAULT_MOUNT_PATH),
            )
        fmt = as_obj(model.get("modelFormat")).get("name") or ""
        model_class = _MLSERVER_MODEL_CLASSES.get(fmt, "mlserver_sklearn.SKLearnModel")
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        labels["modelClass"] = model_class
        meta["labels"] = labels
    elif server_type == "tritonserver":
        if model.get("protocolVersion") is None:
            model["protocolVersion"] = "v2"
        if not has_storage:
            model["args"] = [*(model.get("args") or []), "--model-control-mode=explicit"]
    elif server_type == "torchserve":
        if model.get("protocolVersion") is None:
            model["protocolVersion"] = "v1"
        protocol = model["protocolVersion"]
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        labels["serviceEnvelope"] = "kservev2" if protocol in ("v2", "grpc-v2") else "kserve"
        meta["labels"] = labels
        model["env"] = [
            *(model.get("env") or []),
            {"name": "PROTOCOL_VERSION", "value": protocol},
        ]
    return obj
