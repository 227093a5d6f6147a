"""What a LocalModelCache / LocalModelNamespaceCache should produce, as pure functions over
JSON dicts (upstream ``reconcilers/utils.go``, ``localmodelcache_reconciler.go``,
``localmodelnamespacecache_reconciler.go``):

- :func:`model_info`: its entry in a node's ``LocalModelNode.spec.localModels``;
- :func:`node_models`: a node's whole ``localModels`` list from every cache;
- :func:`download_volumes` / :func:`serving_volumes`: the PersistentVolumes and claims
  (names as upstream: ``<cache>-<group>-download`` + ``<cache>-<group>`` in the job
  namespace, ``<cache>-<group>-<ns>`` + ``<cache>-<group>`` in a consumer's namespace; a
  namespace cache adds ``-<its namespace>`` and ``-download`` to the download pair);
- :func:`node_statuses` / :func:`model_copies` / :func:`cache_status`: the status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apis.serving.constants import (
    LOCAL_MODEL_LABEL,
    LOCAL_MODEL_NAMESPACE_LABEL,
    NODE_GROUP_ANNOTATION,
)

from .nodeaffinity import NodeAffinityError, is_node_ready, node_in_group

__all__ = [
    "API_VERSION",
    "CACHE_FINALIZER",
    "NAMESPACE_CACHE_FINALIZER",
    "CacheRef",
    "Consumer",
    "cache_ref",
    "cache_status",
    "consumer_groups",
    "download_volumes",
    "model_copies",
    "model_info",
    "node_models",
    "node_status_from_model_status",
    "node_statuses",
    "serving_volumes",
    "status_patch",
]

API_VERSION = "serving.kserve.io/v1alpha1"
CACHE_FINALIZER = "localmodel.kserve.io/finalizer"
"""``reconcilers.FinalizerName``."""
NAMESPACE_CACHE_FINALIZER = "localmodelnamespacecache.kserve.io/finalizer"
"""``reconcilers.NamespaceCacheFinalizerName``."""
LMC_KIND = "LocalModelCache"
LMNC_KIND = "LocalModelNamespaceCache"

_Json = Mapping[str, Any]

_MODEL_TO_NODE = {
    "ModelDownloadPending": "NodeDownloadPending",
    "ModelDownloading": "NodeDownloading",
    "ModelDownloadError": "NodeDownloadError",
    "ModelDownloaded": "NodeDownloaded",
}


@dataclass(frozen=True)
class CacheRef:
    """The parts of a LocalModelCache or LocalModelNamespaceCache the controllers use
    (upstream ``LocalModelParams``)."""

    kind: str
    name: str
    namespace: str
    """"" for a (cluster-scoped) LocalModelCache."""
    uid: str
    source_model_uri: str
    node_groups: tuple[str, ...]
    service_account_name: str
    storage: Mapping[str, Any] | None
    deleting: bool
    finalizers: tuple[str, ...]

    @property
    def namespaced(self) -> bool:
        return self.kind == LMNC_KIND

    @property
    def finalizer(self) -> str:
        return NAMESPACE_CACHE_FINALIZER if self.namespaced else CACHE_FINALIZER

    @property
    def status_key(self) -> str:
        """``LocalModelInfo.GetStatusKey``: ``<name>`` or ``<namespace>/<name>``."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def owner_reference(self) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "kind": self.kind, "name": self.name,
                "uid": self.uid, "controller": True, "blockOwnerDeletion": True}


def cache_ref(obj: _Json) -> CacheRef:
    """A cache (JSON) -> :class:`CacheRef`; its kind from ``kind`` or the namespace."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    namespace = str(meta.get("namespace") or "")
    kind = str(obj.get("kind") or (LMNC_KIND if namespace else LMC_KIND))
    storage = spec.get("storage")
    return CacheRef(
        kind=kind,
        name=str(meta.get("name") or ""),
        namespace=namespace if kind == LMNC_KIND else "",
        uid=str(meta.get("uid") or ""),
        source_model_uri=str(spec.get("sourceModelUri") or ""),
        node_groups=tuple(str(g) for g in spec.get("nodeGroups") or ()),
        service_account_name=str(spec.get("serviceAccountName") or ""),
        storage=dict(storage) if isinstance(storage, Mapping) else None,
        deleting=meta.get("deletionTimestamp") is not None,
        finalizers=tuple(meta.get("finalizers") or ()),
    )


# ---------------------------------------------------------------------------------------------
# LocalModelNode entries
# ---------------------------------------------------------------------------------------------


def model_info(cache: CacheRef, node_group: str) -> dict[str, Any]:
    """``CreateLocalModelInfo``: the cache's entry on a node of ``node_group`` (Go's
    ``omitempty`` fields left out when empty)."""
    info: dict[str, Any] = {"sourceModelUri": cache.source_model_uri, "modelName": cache.name}
    if cache.namespace:
        info["namespace"] = cache.namespace
    if node_group:
        info["nodeGroup"] = node_group
    if cache.service_account_name:
        info["serviceAccountName"] = cache.service_account_name
    if cache.storage is not None:
        info["storage"] = dict(cache.storage)
    return info


def entry_key(info: _Json) -> str:
    """The status key of a ``localModels`` entry."""
    ns = info.get("namespace") or ""
    name = str(info.get("modelName") or "")
    return f"{ns}/{name}" if ns else name


def _group_of(cache: CacheRef, node: _Json, groups: Mapping[str, _Json]) -> tuple[str | None, bool]:
    """The first of the cache's node groups ``node`` belongs to, and whether the answer is
    certain (every group exists and parses)."""
    certain = True
    for name in cache.node_groups:
        group = groups.get(name)
        if group is None:
            certain = False
            continue
        try:
            if node_in_group(group, node):
                return name, True
        except NodeAffinityError:
            certain = False
    return None, certain


def node_models(
    node: _Json | None,
    existing: Sequence[_Json],
    caches: Iterable[CacheRef],
    groups: Mapping[str, _Json],
) -> list[dict[str, Any]]:
    """The ``localModels`` a node should list (upstream ``ReconcileLocalModelNode`` and
    ``DeleteModelFromNodes`` from the node's side).

    A cache is added to a Ready node of one of its groups (the first group, in
    ``spec.nodeGroups`` order, the node belongs to); an entry is kept while its cache lives
    and the node is in one of its groups (a NotReady node keeps its models), updated when the
    cache changes, and removed when the cache is being deleted or gone, or when the node
    certainly left every group of the cache. Existing entries keep their order; new ones
    follow, sorted by namespace and name. ``node`` None (the Node object is gone): entries of
    live caches are kept as they are."""
    live = {c.status_key: c for c in caches if not c.deleting}
    ready = node is not None and is_node_ready(node)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in existing:
        key = entry_key(entry)
        cache = live.get(key)
        if cache is None or key in seen:
            continue
        seen.add(key)
        if node is None:
            out.append(dict(entry))
            continue
        group, certain = _group_of(cache, node, groups)
        if group is not None:
            out.append(model_info(cache, group))
        elif not certain:
            out.append(dict(entry))  # a group is missing or unreadable: keep the model
    if ready:
        assert node is not None
        for key in sorted(live, key=lambda k: (live[k].namespace, live[k].name)):
            if key in seen:
                continue
            group, _ = _group_of(live[key], node, groups)
            if group is not None:
                out.append(model_info(live[key], group))
    return out


# ---------------------------------------------------------------------------------------------
# volumes
# ---------------------------------------------------------------------------------------------


def _pv(name: str, group: _Json, owner: CacheRef | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [owner.owner_reference()]
    spec = dict((group.get("spec") or {}).get("persistentVolumeSpec") or {})
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec}


def _pvc(name: str, namespace: str, volume: str, group: _Json,
         owner: CacheRef | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [owner.owner_reference()]
    spec = dict((group.get("spec") or {}).get("persistentVolumeClaimSpec") or {})
    spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def _pvc_owner(cache: CacheRef, namespace: str) -> CacheRef | None:
    """A LocalModelCache owns its claims anywhere; a namespace cache only those in its own
    namespace (an owner must be cluster-scoped or in the object's namespace)."""
    if not cache.namespaced or namespace == cache.namespace:
        return cache
    return None


def download_volumes(
    cache: CacheRef, groups: Sequence[tuple[str, _Json]], job_namespace: str
) -> list[dict[str, Any]]:
    """Per node group, the download PersistentVolume and its claim in ``job_namespace``
    (Step 3): PV ``<c>-<g>-download`` (owned by a LocalModelCache; a PV cannot be owned by a
    namespaced object) and PVC ``<c>-<g>``; for a namespace cache both are
    ``<c>-<g>-<ns>-download``."""
    out: list[dict[str, Any]] = []
    for name, group in groups:
        if cache.namespaced:
            pv_name = pvc_name = f"{cache.name}-{name}-{cache.namespace}-download"
        else:
            pv_name, pvc_name = f"{cache.name}-{name}-download", f"{cache.name}-{name}"
        out.append(_pv(pv_name, group, None if cache.namespaced else cache))
        out.append(_pvc(pvc_name, job_namespace, pv_name, group, _pvc_owner(cache, job_namespace)))
    return out


@dataclass(frozen=True)
class Consumer:
    """An InferenceService (or LLMInferenceService) using a cache."""

    namespace: str
    name: str
    node_group: str | None
    """Its ``serving.kserve.io/nodegroup`` annotation, None without one."""


def consumer_of(obj: _Json) -> Consumer:
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    group = annotations.get(NODE_GROUP_ANNOTATION)
    return Consumer(str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                    str(group) if group is not None else None)


def uses_cache(obj: _Json, cache: CacheRef) -> bool:
    """Whether a consumer's labels name ``cache``: a LocalModelCache by the localmodel label
    alone (without the namespace label, which names a namespace cache of the same name), a
    namespace cache by both labels, in its own namespace."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(LOCAL_MODEL_LABEL) != cache.name:
        return False
    if not cache.namespaced:
        return LOCAL_MODEL_NAMESPACE_LABEL not in labels
    return (labels.get(LOCAL_MODEL_NAMESPACE_LABEL) == cache.namespace
            and meta.get("namespace") == cache.namespace)


def consumer_groups(
    cache: CacheRef, consumers: Iterable[Consumer], known_groups: Iterable[str]
) -> dict[str, list[str]]:
    """namespace -> the node groups its consumers use (upstream ``ReconcileForIsvcs``): the
    ``serving.kserve.io/nodegroup`` annotation when it names one of the cache's groups (a
    group it does not name gets no volume), else the cache's first group."""
    known = [g for g in cache.node_groups if g in set(known_groups)]
    default = cache.node_groups[0] if cache.node_groups else None
    out: dict[str, list[str]] = {}
    for c in consumers:
        group = c.node_group if c.node_group is not None else default
        if group is None or group not in cache.node_groups or group not in known:
            out.setdefault(c.namespace, [])
            continue
        groups = out.setdefault(c.namespace, [])
        if group not in groups:
            groups.append(group)
    return {ns: sorted(gs, key=cache.node_groups.index) for ns, gs in sorted(out.items())}


def serving_volumes(
    cache: CacheRef, by_namespace: Mapping[str, Sequence[str]], groups: Mapping[str, _Json]
) -> list[dict[str, Any]]:
    """Per consuming namespace and node group (Step 4): PV ``<c>-<g>-<ns>`` (owned by a
    LocalModelCache) and PVC ``<c>-<g>`` in that namespace, bound to it."""
    out: list[dict[str, Any]] = []
    for ns, names in sorted(by_namespace.items()):
        for name in names:
            pv_name = f"{cache.name}-{name}-{ns}"
            out.append(_pv(pv_name, groups[name], None if cache.namespaced else cache))
            out.append(_pvc(f"{cache.name}-{name}", ns, pv_name, groups[name],
                            _pvc_owner(cache, ns)))
    return out


# ---------------------------------------------------------------------------------------------
# status
# ---------------------------------------------------------------------------------------------


def node_status_from_model_status(model_status: str | None) -> str:
    """``NodeStatusFromLocalModelStatus`` (unknown or missing: ``NodeDownloadPending``)."""
    return _MODEL_TO_NODE.get(model_status or "", "NodeDownloadPending")


def node_statuses(
    cache: CacheRef,
    groups: Mapping[str, _Json],
    nodes: Sequence[_Json],
    model_status: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, str], list[str]]:
    """Per node of the cache's groups: ``NodeNotReady`` for a node that is not Ready, else
    its LocalModelNode's status of the cache mapped to a NodeStatus (absent:
    ``NodeDownloadPending``). ``model_status``: node name -> its ``status.modelStatus``.
    Also returns the node-affinity errors met (one per group)."""
    out: dict[str, str] = {}
    errors: list[str] = []
    for name in cache.node_groups:
        group = groups.get(name)
        if group is None:
            continue
        error: str | None = None
        for node in nodes:
            node_name = str((node.get("metadata") or {}).get("name") or "")
            if node_name in out:
                continue
            try:
                member = node_in_group(group, node)
            except NodeAffinityError as err:
                error = error or f"LocalModelNodeGroup {name}: {err}"
                continue
            if not member:
                continue
            if not is_node_ready(node):
                out[node_name] = "NodeNotReady"
            else:
                out[node_name] = node_status_from_model_status(
                    (model_status.get(node_name) or {}).get(cache.status_key))
        if error:
            errors.append(error)
    return dict(sorted(out.items())), errors


def model_copies(node_status: Mapping[str, str]) -> dict[str, int]:
    """``ModelCopies`` (Go ``omitempty``: zero counts left out)."""
    counts = {
        "total": len(node_status),
        "available": sum(1 for s in node_status.values() if s == "NodeDownloaded"),
        "failed": sum(1 for s in node_status.values() if s == "NodeDownloadError"),
    }
    return {k: v for k, v in counts.items() if v}


def _refs(items: Iterable[Consumer]) -> list[dict[str, str]]:
    return [{"namespace": c.namespace, "name": c.name}
            for c in sorted(items, key=lambda c: (c.namespace, c.name))]


def cache_status(
    node_status: Mapping[str, str],
    old: _Json | None,
    *,
    isvcs: Iterable[Consumer] | None,
    llm_isvcs: Iterable[Consumer] | None,
) -> dict[str, Any]:
    """The cache's whole status (Go ``omitempty`` shape). ``isvcs``/``llm_isvcs`` None:
    volume management is off and the consumer lists are left as they were."""
    old = old or {}
    status: dict[str, Any] = {}
    if node_status:
        status["nodeStatus"] = dict(node_status)
    status["copies"] = model_copies(node_status)
    for key, items in (("inferenceServices", isvcs), ("llmInferenceServices", llm_isvcs)):
        refs = _refs(items) if items is not None else old.get(key)
        if refs:
            status[key] = refs
    return status


def status_patch(old: Any, new: Any) -> Any:
    """A JSON merge patch (RFC 7386) turning ``old`` into ``new`` (None: no change)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return None if old == new else new
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = value
            continue
        sub = status_patch(old[key], value)
        if sub is not None or (value is None and old[key] is not None):
            patch[key] = sub if isinstance(value, Mapping) else value
    return patch or None
