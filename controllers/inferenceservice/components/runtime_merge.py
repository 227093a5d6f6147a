"""Merging a ServingRuntime with an InferenceService predictor (upstream
``inferenceservice/utils/utils.go``: ``MergeRuntimeContainers``, ``MergePodSpec``,
``MergeServingRuntimeAndInferenceServiceSpecs``, ``ReplacePlaceholders``, ``UpdateImageTag``,
``AddEnvVarToPodSpec``).

Works on JSON objects (camelCase dicts, as lightkube's ``to_dict()`` gives them) because the
merge is defined on JSON: upstream marshals both sides and applies a strategic merge patch
(containers: :func:`controllers.storage.container_merge.merge_container_with_patch`, shared
with the storage initializer; pod specs: :mod:`runtime.strategic_merge`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from apis.serving.v1alpha1.servingruntime_types import ServingRuntimePodSpec
from apis.serving.validation import is_gpu_enabled
from controllers.storage.container_merge import go_omitempty_pod_spec, merge_container_with_patch
from controllers.storage.utils import go_json
from runtime.strategic_merge import POD_SPEC, StrategicMergeError, strategic_merge

from .component import ComponentError

__all__ = [
    "INVALID_PREDICTOR_SPEC",
    "PlaceholderError",
    "add_env_var",
    "container_index",
    "invalid_predictor_spec",
    "merge_pod_spec",
    "merge_runtime_containers",
    "merge_serving_runtime_and_isvc_specs",
    "replace_placeholders",
    "update_image_tag",
]

JsonDict = dict[str, Any]


def merge_runtime_containers(runtime: Mapping[str, Any], isvc: Mapping[str, Any]) -> JsonDict:
    """``MergeRuntimeContainers``: :func:`merge_container_with_patch` with the args
    concatenated (runtime's, then the InferenceService's) instead of replaced."""
    merged = merge_container_with_patch(runtime, isvc)
    args = [*(runtime.get("args") or []), *(isvc.get("args") or [])]
    if args:
        merged["args"] = args
    else:
        merged.pop("args", None)
    return merged


_RUNTIME_POD_FIELDS = (
    "nodeSelector",
    "affinity",
    "tolerations",
    "volumes",
    "imagePullSecrets",
    "schedulerName",
    "resourceClaims",
)
"""The ServingRuntime pod fields ``MergePodSpec`` takes (labels/annotations go to metadata)."""


def runtime_pod_fields(runtime: ServingRuntimePodSpec) -> JsonDict:
    """The pod fields of a ServingRuntime (or its workerSpec) that ``MergePodSpec`` uses."""
    body = runtime.to_kube()
    return go_omitempty_pod_spec({k: body[k] for k in _RUNTIME_POD_FIELDS if k in body})


def merge_pod_spec(runtime: ServingRuntimePodSpec, predictor_pod: Mapping[str, Any]) -> JsonDict:
    """``MergePodSpec``: the predictor's pod fields (JSON of its PodSpec) strategic-merged onto
    the runtime's nodeSelector, affinity, tolerations, volumes (by name), imagePullSecrets
    (by name), schedulerName and resourceClaims (by name); the predictor wins. Raises
    :class:`~.strategic_merge.StrategicMergeError`."""
    merged = strategic_merge(
        runtime_pod_fields(runtime), go_omitempty_pod_spec(predictor_pod), POD_SPEC
    )
    return go_omitempty_pod_spec(merged)


def container_index(containers: Sequence[Mapping[str, Any]], name: str) -> int:
    """``GetContainerIndexByName``: index of the first container called ``name``, or -1."""
    for i, c in enumerate(containers):
        if c.get("name") == name:
            return i
    return -1


def add_env_var(pod: JsonDict, container_name: str, name: str, value: str) -> bool:
    """``AddEnvVarToPodSpec`` on a JSON pod spec, in place: every container called
    ``container_name`` gets ``name=value`` (the first existing entry overwritten, else
    appended). Returns whether such a container exists (upstream's error otherwise)."""
    found = False
    for container in pod.get("containers") or []:
        if container.get("name") != container_name:
            continue
        found = True
        env = container.setdefault("env", [])
        for entry in env:
            if entry.get("name") == name:
                entry["value"] = value
                break
        else:
            env.append({"name": name, "value": value})
    return found


# ---------------------------------------------------------------------------------------------
# ReplacePlaceholders: Go html/template over the container's JSON
# ---------------------------------------------------------------------------------------------


class PlaceholderError(ValueError):
    """A template action in a runtime container that cannot be rendered (upstream's
    ``template.Parse``/``Execute``/``json.Unmarshal`` errors)."""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_FIELD_CHAIN = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*)+|\.")
_HTML_ESCAPES = {
    "\0": "\ufffd",
    '"': "&#34;",
    "&": "&amp;",
    "'": "&#39;",
    "+": "&#43;",
    "<": "&lt;",
    ">": "&gt;",
}


def _html_escape(text: str) -> str:
    """html/template's ``htmlEscaper`` (text context)."""
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


def _go_print_map(m: Mapping[str, str]) -> str:
    return "map[" + " ".join(f"{k}:{m[k]}" for k in sorted(m)) + "]"


_META_STRINGS = {
    "Name": "name",
    "GenerateName": "generateName",
    "Namespace": "namespace",
    "SelfLink": "selfLink",
    "UID": "uid",
    "ResourceVersion": "resourceVersion",
}


def _eval_field_chain(chain: str, meta: Mapping[str, Any]) -> str | None:
    """Evaluate ``.Field.key`` against ObjectMeta as Go templates do; None prints nothing
    (a missing map key). Raises PlaceholderError for what Go cannot evaluate."""
    parts = [p for p in chain.split(".") if p]
    if not parts:
        raise PlaceholderError("printing the whole ObjectMeta is not supported")
    head, rest = parts[0], parts[1:]
    if head in _META_STRINGS:
        value: Any = meta.get(_META_STRINGS[head]) or ""
        kind = "string"
    elif head == "Generation":
        value = str(int(meta.get("generation") or 0))
        kind = "int64"
    elif head in ("Labels", "Annotations"):
        mapping = meta.get(head.lower()) or {}
        if not rest:
            return _go_print_map(mapping)
        key, rest = rest[0], rest[1:]
        value = mapping.get(key)
        kind = "string"
        if value is None:  # missing key: prints nothing, further fields too
            return None
    else:
        raise PlaceholderError(f"at <{chain}>: can't evaluate field {head} in type v1.ObjectMeta")
    if rest:
        raise PlaceholderError(f"at <{chain}>: can't evaluate field {rest[0]} in type {kind}")
    return str(value)


def render_template(text: str, meta: Mapping[str, Any]) -> str:
    """Render the subset of Go's html/template upstream's runtimes use: actions that are a
    field chain on the InferenceService's ObjectMeta (``{{.Name}}``, ``{{ .Namespace }}``,
    ``{{.Labels.key}}``, ``{{.Annotations.key}}``, ``{{.Generation}}``...), comments and
    ``{{-``/``-}}`` trim markers; values HTML-escaped as html/template does in text context.
    Anything else raises :class:`PlaceholderError`."""
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(text):
        before = text[pos : m.start()]
        if m.group(1):
            before = before.rstrip(" \t\r\n")
        out.append(before)
        body = m.group(2).strip()
        pos = m.end()
        if m.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip(" \t\r\n"))
        if body.startswith("/*") and body.endswith("*/"):
            continue
        if not _FIELD_CHAIN.fullmatch(body):
            raise PlaceholderError(f"unsupported template action {{{{{m.group(2)}}}}}")
        value = _eval_field_chain(body, meta)
        if value is not None:
            out.append(_html_escape(value))
    tail = text[pos:]
    if "{{" in tail:
        raise PlaceholderError("unclosed action")
    out.append(tail)
    return "".join(out)


def replace_placeholders(container: Mapping[str, Any], meta: Mapping[str, Any]) -> JsonDict:
    """``ReplacePlaceholders``: the container's JSON rendered as a Go template with the
    InferenceService's ObjectMeta (``meta`` as JSON: name, namespace, labels...), then decoded
    again (a value that breaks the JSON is an error, as upstream). Raises
    :class:`PlaceholderError`."""
    text = go_json(container, sort_keys=False)
    if "{{" not in text:
        return copy.deepcopy(dict(container))
    rendered = render_template(text, meta)
    try:
        out = json.loads(rendered)
    except json.JSONDecodeError as err:
        raise PlaceholderError(f"invalid container JSON after rendering: {err}") from None
    if not isinstance(out, dict):
        raise PlaceholderError("container JSON is not an object after rendering")
    return out


# ---------------------------------------------------------------------------------------------
# UpdateImageTag
# ---------------------------------------------------------------------------------------------

_TAG = re.compile(r"(:([\w.\-_]*))\Z", re.ASCII)
_GPU_TAG_SERVERS = ("tensorflow-serving", "torchserve", "huggingfaceserver")


def update_image_tag(
    container: Mapping[str, Any], runtime_version: str | None, server_type: str
) -> JsonDict:
    """``UpdateImageTag``: a copy of ``container`` with its image adjusted. A digest
    (``@sha256:``) is never touched. ``runtime_version`` replaces the tag (or is appended).
    Otherwise, by server type (:func:`~apis.serving.v1beta1.predictor_runtime_selection.
    server_type_for_image`): with an NVIDIA GPU limit, tensorflow-serving/torchserve/
    huggingfaceserver images get ``-gpu`` appended to the tag; without one, a vllmserver image
    ``<repo>:<tag>`` becomes ``<repo>-cpu:<tag>``. An untagged image is left alone there."""
    out = copy.deepcopy(dict(container))
    image = str(out.get("image") or "")
    if "@sha256:" in image:
        return out
    if runtime_version is not None:
        m = _TAG.search(image)
        out["image"] = (
            image + ":" + runtime_version
            if m is None
            else image[: m.start()] + ":" + runtime_version
        )
        return out
    if not server_type:
        return out
    m = _TAG.search(image)
    if m is None:
        return out
    tag = m.group(0)
    without_tag = image[: m.start()]
    if is_gpu_enabled(out.get("resources")):
        if server_type in _GPU_TAG_SERVERS and not image.endswith("-gpu"):
            out["image"] = image + "-gpu"
    elif server_type == "vllmserver" and not without_tag.endswith("-cpu"):
        out["image"] = without_tag + "-cpu" + tag
    return out


# ---------------------------------------------------------------------------------------------
# MergeServingRuntimeAndInferenceServiceSpecs (errors are InvalidPredictorSpec model failures)
# ---------------------------------------------------------------------------------------------

INVALID_PREDICTOR_SPEC = "InvalidPredictorSpec"
"""``v1beta1.InvalidPredictorSpec``: the failure reason of a spec the runtime cannot merge."""


def invalid_predictor_spec(message: str, *, condition_reason: str | None = None) -> ComponentError:
    """An InvalidSpec model failure with reason InvalidPredictorSpec, ``message`` both the
    failure message and the error text."""
    return ComponentError(
        message,
        failure_reason=INVALID_PREDICTOR_SPEC,
        failure_message=message,
        condition_reason=condition_reason,
    )


def merge_serving_runtime_and_isvc_specs(
    runtime_containers: Sequence[JsonDict],
    isvc_container: JsonDict,
    target: str,
    runtime_pod: ServingRuntimePodSpec,
    isvc_pod: JsonDict,
    *,
    condition_reason: str | None = None,
) -> tuple[JsonDict, JsonDict]:
    """``MergeServingRuntimeAndInferenceServiceSpecs``: (merged ``target`` container, merged
    pod fields), or an InvalidPredictorSpec :class:`ComponentError`."""
    at = container_index(runtime_containers, target)
    if at < 0:
        raise invalid_predictor_spec(
            f"failed to find {target} in ServingRuntime containers",
            condition_reason=condition_reason,
        )
    try:
        container = merge_runtime_containers(runtime_containers[at], isvc_container)
    except StrategicMergeError as err:
        raise invalid_predictor_spec(
            f"failed to merge container. Detail: {err}", condition_reason=condition_reason
        ) from None
    try:
        pod = merge_pod_spec(runtime_pod, isvc_pod)
    except StrategicMergeError as err:
        raise invalid_predictor_spec(
            f"failed to consolidate serving runtime PodSpecs. Detail: {err}",
            condition_reason=condition_reason,
        ) from None
    return container, pod
