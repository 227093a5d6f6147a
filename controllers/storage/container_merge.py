"""``pkg/utils/container_merge.go``: one container strategic-merged over another
(``MergeContainerWithPatch``), as upstream merges a ClusterStorageContainer's container over
the storage-initializer and an InferenceService's container over its ServingRuntime's.

Works on JSON objects (camelCase dicts) because the merge is defined on JSON: upstream
marshals both sides and applies a strategic merge patch (:mod:`runtime.strategic_merge`,
patch metadata from the Kubernetes OpenAPI definitions). Go's ``json.Marshal`` drops empty
values of non-pointer fields (``omitempty``); the ``go_omitempty_*`` helpers do the same to a
patch, so an ``image: ""`` or ``env[].value: ""`` does not override the base's, exactly as
upstream.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.strategic_merge import CONTAINER, StrategicMergeError, strategic_merge

__all__ = [
    "JsonDict",
    "StrategicMergeError",
    "go_omitempty_container",
    "go_omitempty_pod_spec",
    "merge_container_with_patch",
]

JsonDict = dict[str, Any]

# Container / PodSpec fields that are Go values (not pointers) with ``omitempty``: empty
# strings, false and empty lists/maps are never marshalled.
_CONTAINER_VALUE_FIELDS = frozenset(
    {
        "image",
        "workingDir",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "stdin",
        "stdinOnce",
        "tty",
        "command",
        "args",
        "ports",
        "envFrom",
        "env",
        "resizePolicy",
        "restartPolicyRules",
        "volumeMounts",
        "volumeDevices",
    }
)
_POD_VALUE_FIELDS = frozenset(
    {
        "volumes",
        "initContainers",
        "containers",
        "ephemeralContainers",
        "restartPolicy",
        "dnsPolicy",
        "nodeSelector",
        "serviceAccountName",
        "serviceAccount",
        "nodeName",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "imagePullSecrets",
        "hostname",
        "subdomain",
        "schedulerName",
        "tolerations",
        "hostAliases",
        "priorityClassName",
        "readinessGates",
        "overhead",
        "topologySpreadConstraints",
        "schedulingGates",
        "resourceClaims",
    }
)


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _empty_resources(value: Any) -> bool:
    """A ResourceRequirements with nothing in it (Go marshals ``resources: {}``, which says
    nothing; dropped so builders and tests see one shape)."""
    return isinstance(value, dict) and not any(
        value.get(k) for k in ("limits", "requests", "claims")
    )


def go_omitempty_container(container: Mapping[str, Any]) -> JsonDict:
    """A copy of ``container`` as Go would marshal it: empty value fields dropped, and the
    empty ``value`` of env entries (``EnvVar.Value`` is a plain string)."""
    out: JsonDict = {}
    for key, value in container.items():
        if value is None or (key in _CONTAINER_VALUE_FIELDS and _empty(value)):
            continue
        if key == "resources" and _empty_resources(value):
            continue
        if key == "env":
            value = [
                {k: v for k, v in e.items() if not (k == "value" and v == "")}
                if isinstance(e, dict)
                else e
                for e in value
            ]
        out[key] = copy.deepcopy(value)
    return out


def go_omitempty_pod_spec(pod: Mapping[str, Any]) -> JsonDict:
    """A copy of a pod spec as Go would marshal it (top-level empty value fields dropped,
    containers and init containers normalised with :func:`go_omitempty_container`)."""
    out: JsonDict = {}
    for key, value in pod.items():
        if value is None or (key in _POD_VALUE_FIELDS and _empty(value)):
            continue
        if key in ("containers", "initContainers"):
            value = [go_omitempty_container(c) if isinstance(c, dict) else c for c in value]
        out[key] = copy.deepcopy(value)
    return out


def _reconcile_env_value_conflicts(
    merged: list[JsonDict], overlay: Sequence[Mapping[str, Any]]
) -> None:
    """``reconcileEnvValueConflicts``: an env entry left with both ``value`` and ``valueFrom``
    keeps the one the overlay set."""
    by_name = {e.get("name"): e for e in overlay if isinstance(e, Mapping)}
    for e in merged:
        if not e.get("value") or e.get("valueFrom") is None:
            continue
        over = by_name.get(e.get("name"))
        if over is None:
            continue
        if over.get("valueFrom") is not None:
            e.pop("value", None)
        elif over.get("value"):
            e.pop("valueFrom", None)


def merge_container_with_patch(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> JsonDict:
    """``MergeContainerWithPatch``: ``overlay`` strategic-merged onto ``base`` (env by name,
    ports by containerPort, volumeMounts by mountPath; lists without a strategy replaced;
    resources merged per resource), env ``value``/``valueFrom`` conflicts settled for the
    overlay, the name kept from ``base`` when the overlay's is empty. The order of a merged
    list is apimachinery's: the patch's items in patch order, the base's other items woven in
    at their original positions. Raises :class:`StrategicMergeError`."""
    base_json = go_omitempty_container(base)
    overlay_json = go_omitempty_container(overlay)
    merged = go_omitempty_container(strategic_merge(base_json, overlay_json, CONTAINER))
    _reconcile_env_value_conflicts(merged.get("env") or [], overlay_json.get("env") or [])
    if not merged.get("name"):
        merged["name"] = base.get("name") or ""
    return merged
