"""LocalModelCache and LocalModelNamespaceCache validation: upstream
``pkg/webhook/admission/localmodelcache/localmodelcache_validator.go`` and
``localmodelnamespacecache/local_model_namespace_cache_validation.go`` (§4.5).

Pure: the webhook fetches what upstream fetches (the other caches, the node groups, the
consumers named in ``status``) and passes it in.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

from apis.serving.constants import LOCAL_MODEL_LABEL, LOCAL_MODEL_NAMESPACE_LABEL
from apis.serving.validation import FieldError, as_dict, as_obj, malformed_guard

__all__ = [
    "ConsumerLabels",
    "validate_local_model_cache",
    "validate_local_model_cache_delete",
    "validate_local_model_namespace_cache",
    "validate_local_model_namespace_cache_delete",
    "validate_source_model_uri_unchanged",
]


#: ``(namespace, name) -> labels``; ``None`` when the object does not exist. May raise to
#: report a lookup failure, which refuses the request as upstream does.
ConsumerLabels = Callable[[str, str], Mapping[str, str] | None]


def _meta(obj: Mapping[str, Any]) -> tuple[str, str]:
    m = as_obj(obj.get("metadata"))
    return m.get("name") or "", m.get("namespace") or ""


@malformed_guard("apis.serving.v1alpha1:LocalModelCache", decode_first=True)
def validate_local_model_cache(cache: Any, existing: Sequence[Any] = ()) -> list[str]:
    """CREATE/UPDATE: no other LocalModelCache has the same ``sourceModelUri``. ``existing``
    are all LocalModelCaches. Nothing is checked for an object being deleted."""
    obj = as_dict(cache)
    if as_obj(obj.get("metadata")).get("deletionTimestamp") is not None:
        return []
    name, _ = _meta(obj)
    uri = as_obj(obj.get("spec")).get("sourceModelUri") or ""
    for other in existing:
        o = as_dict(other)
        o_name, _ = _meta(o)
        if o_name == name:
            continue
        o_uri = as_obj(o.get("spec")).get("sourceModelUri") or ""
        if o_uri == uri:
            raise FieldError(
                "spec.sourceModelUri", f"LocalModelCache {o_name} has the same StorageURI {o_uri}"
            )
    return []


def validate_source_model_uri_unchanged(new: Any, old: Any) -> list[str]:
    """The CRD's CEL rule on ``spec.sourceModelUri`` (``self == oldSelf``, "StorageUri is
    immutable") for LocalModelCache and LocalModelNamespaceCache UPDATEs. The full CRDs make
    the apiserver enforce it; with the minimal CRDs the webhook has to."""
    n, o = as_dict(new), as_dict(old)
    new_uri = as_obj(n.get("spec")).get("sourceModelUri")
    old_uri = as_obj(o.get("spec")).get("sourceModelUri")
    if old_uri is not None and new_uri != old_uri:
        raise FieldError("spec.sourceModelUri", "StorageUri is immutable")
    return []


def _check_consumers(
    obj: Mapping[str, Any],
    isvc_labels: ConsumerLabels,
    llm_labels: ConsumerLabels | None,
    namespaced: bool,
) -> None:
    name, namespace = _meta(obj)
    status = as_obj(obj.get("status"))
    kind = "LocalModelNamespaceCache" if namespaced else "LocalModelCache"
    me = f"{namespace}/{name}" if namespaced else name

    def used(labels: Mapping[str, str]) -> bool:
        if LOCAL_MODEL_LABEL not in labels or labels[LOCAL_MODEL_LABEL] != name:
            return False
        return not namespaced or labels.get(LOCAL_MODEL_NAMESPACE_LABEL, "") == namespace

    for i, ref in enumerate(status.get("inferenceServices") or []):
        ref = as_obj(ref)
        ns, n = ref.get("namespace") or "", ref.get("name") or ""
        try:
            labels = isvc_labels(ns, n)
        except Exception as exc:  # upstream: a failed Get refuses the request
            raise FieldError(f"status.inferenceServices[{i}]", str(exc)) from None
        if labels is None:
            raise FieldError(
                f"status.inferenceServices[{i}]",
                f'inferenceservices.serving.kserve.io "{n}" not found',
            )
        if used(labels):
            who = f"{ns}/{n}" if namespaced else n
            raise FieldError(
                "metadata.name", f"{kind} {me} is being used by InferenceService {who}"
            )
    for i, ref in enumerate(status.get("llmInferenceServices") or []):
        if llm_labels is None:
            break
        ref = as_obj(ref)
        ns, n = ref.get("namespace") or "", ref.get("name") or ""
        try:
            labels = llm_labels(ns, n)
        except Exception as exc:
            raise FieldError(f"status.llmInferenceServices[{i}]", str(exc)) from None
        if labels is None:  # not found: skipped, as upstream
            continue
        if used(labels):
            who = f"{ns}/{n}" if namespaced else n
            raise FieldError(
                "metadata.name", f"{kind} {me} is being used by LLMInferenceService {who}"
            )


@malformed_guard("apis.serving.v1alpha1:LocalModelCache")
def validate_local_model_cache_delete(
    cache: Any, isvc_labels: ConsumerLabels, llm_isvc_labels: ConsumerLabels | None = None
) -> list[str]:
    """DELETE: refused while an InferenceService (or LLMInferenceService) listed in
    ``status`` still carries label ``internal.serving.kserve.io/localmodel=<name>``; an
    InferenceService that cannot be read refuses too, a missing LLMInferenceService does not."""
    _check_consumers(as_dict(cache), isvc_labels, llm_isvc_labels, namespaced=False)
    return []


@malformed_guard("apis.serving.v1alpha1:LocalModelNamespaceCache", decode_first=True)
def validate_local_model_namespace_cache(cache: Any, node_groups: Container[str]) -> list[str]:
    """CREATE/UPDATE: every ``spec.nodeGroups`` entry names an existing LocalModelNodeGroup
    (``node_groups`` holds the existing names)."""
    obj = as_dict(cache)
    if as_obj(obj.get("metadata")).get("deletionTimestamp") is not None:
        return []
    for i, ng in enumerate(as_obj(obj.get("spec")).get("nodeGroups") or []):
        if ng not in node_groups:
            raise FieldError(
                f"spec.nodeGroups[{i}]",
                f"NodeGroup {ng} not found: "
                f'localmodelnodegroups.serving.kserve.io "{ng}" not found',
            )
    return []


@malformed_guard("apis.serving.v1alpha1:LocalModelNamespaceCache")
def validate_local_model_namespace_cache_delete(
    cache: Any, isvc_labels: ConsumerLabels, llm_isvc_labels: ConsumerLabels | None = None
) -> list[str]:
    """DELETE: refused while a consumer listed in ``status`` carries both the localmodel label
    (= name) and the localmodel-namespace label (= namespace)."""
    _check_consumers(as_dict(cache), isvc_labels, llm_isvc_labels, namespaced=True)
    return []
