"""``pkg/utils/container_merge.go``: a ClusterStorageContainer's container merged over the
storage-initializer init container with Kubernetes' strategic merge patch.

Only what a ``corev1.Container`` needs: maps merge recursively, the lists Kubernetes declares
``patchStrategy: merge`` merge by their key (``env`` by ``name``, ``ports`` by
``containerPort``, ``volumeMounts`` by ``mountPath``, ``volumeDevices`` by ``devicePath``),
every other list is replaced, ``null`` deletes. The order of a merged list is
apimachinery's: the patch's items in patch order, the base's other items woven in at their
original positions (``normalizeElementOrder`` / ``mergeSortedSlice``).
"""

from __future__ import annotations

import copy
from typing import Any

from controllers.webhooks.pod.utils import JsonDict

__all__ = ["merge_container_with_patch", "strategic_merge"]

#: Container lists with ``patchStrategy: merge`` and their merge keys (k8s.io/api core/v1).
CONTAINER_MERGE_KEYS: dict[str, str] = {
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
}


def _index(items: list[Any], item: Any, key: str) -> int:
    value = item.get(key) if isinstance(item, dict) else None
    for i, v in enumerate(items):
        if isinstance(v, dict) and v.get(key) == value:
            return i
    return -1


def _merge_list(original: list[Any], patch: list[Any], key: str) -> list[Any]:
    merged = [copy.deepcopy(o) for o in original]
    for p in patch:
        i = _index(merged, p, key)
        if i >= 0 and isinstance(merged[i], dict) and isinstance(p, dict):
            merged[i] = strategic_merge(merged[i], p, {})
        else:
            merged.append(copy.deepcopy(p))
    patch_items = [m for m in merged if _index(patch, m, key) >= 0]
    server_only = [m for m in merged if _index(patch, m, key) < 0]
    # normalizeSliceOrder: patch items by patch order, server-only items by original order
    patch_items.sort(key=lambda m: _index(patch, m, key))
    server_only.sort(key=lambda m: _index(original, m, key))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li = _index(original, server_only[i], key)
            ri = _index(original, patch_items[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def strategic_merge(base: JsonDict, patch: JsonDict, merge_keys: dict[str, str]) -> JsonDict:
    """``strategicpatch.StrategicMergePatch`` of two JSON objects where ``merge_keys`` maps the
    top-level list fields that merge to their keys (nested maps merge, nested lists replace)."""
    out = copy.deepcopy(base)
    for k, pv in patch.items():
        if pv is None:
            out.pop(k, None)
            continue
        ov = out.get(k)
        if isinstance(ov, dict) and isinstance(pv, dict):
            out[k] = strategic_merge(ov, pv, {})
        elif isinstance(ov, list) and isinstance(pv, list) and k in merge_keys:
            out[k] = _merge_list(ov, pv, merge_keys[k])
        else:
            out[k] = copy.deepcopy(pv)
    return out


def merge_container_with_patch(base: JsonDict, overlay: JsonDict) -> JsonDict:
    """``utils.MergeContainerWithPatch``: ``overlay`` strategic-merged over ``base``; an env
    var left with both ``value`` and ``valueFrom`` keeps the one the overlay set; an empty
    name is restored from ``base``."""
    merged = strategic_merge(base, overlay, CONTAINER_MERGE_KEYS)
    overlay_env = {e.get("name"): e for e in (overlay.get("env") or []) if isinstance(e, dict)}
    for e in merged.get("env") or []:
        if not isinstance(e, dict) or not e.get("value") or e.get("valueFrom") is None:
            continue
        o = overlay_env.get(e.get("name"))
        if o is None:
            continue
        if o.get("valueFrom") is not None:
            e.pop("value", None)
        elif o.get("value"):
            e.pop("valueFrom", None)
    if not merged.get("name"):
        merged["name"] = base.get("name", "")
    return merged
