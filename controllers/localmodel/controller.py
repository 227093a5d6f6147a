"""Wiring of the LocalModel controllers (upstream ``pkg/controller/v1alpha1/localmodel``, run
by ``kserve-localmodel-manager``, see :mod:`controllers.localmodel.manager`).

Three controllers:

``localmodelcache`` / ``localmodelnamespacecache`` (:class:`~.reconcile.LocalModelCacheReconciler`)
    For the cache; Owns PersistentVolumes (cluster caches) and claims; Watches the
    InferenceServices and LLMInferenceServices (optional kind) carrying its labels, Nodes
    (created, deleted, readiness flipped either way, labels changed: upstream reacts only to
    creation and NotReady -> Ready), LocalModelNodes (only the caches whose entry or download
    status changed on the node: upstream reconciles every cache of a node on any status
    change), its LocalModelNodeGroups and the ``inferenceservice-config`` ConfigMap (upstream
    reads it in every reconcile and never reacts to a change).
``localmodelnode-models`` (:class:`~.nodes.NodeModelsReconciler`)
    The ``spec.localModels`` of each node's LocalModelNode, keyed by node name: For
    LocalModelNode (spec changes), Watches Nodes (created, NotReady -> Ready, labels
    changed), both cache kinds (spec changes, deletion) and node groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lightkube.resources.core_v1 import (
    ConfigMap,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
)

from apis.serving.constants import LOCAL_MODEL_LABEL, LOCAL_MODEL_NAMESPACE_LABEL
from apis.serving.v1alpha1 import (
    LocalModelCache,
    LocalModelNamespaceCache,
    LocalModelNode,
    LocalModelNodeGroup,
)
from apis.serving.v1beta1 import InferenceService
from controllers.config import ConfigSource
from runtime.builder import Builder
from runtime.codec import object_to_dict
from runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from runtime.handler import Queue
from runtime.predicate import Funcs, GenerationChangedPredicate, new_predicate_funcs, or_
from runtime.reconcile import Request

from .llmisvc import LLMInferenceService
from .nodeaffinity import NodeAffinityError, node_in_group
from .nodes import NodeModelsReconciler, nodes_for_cache, nodes_for_group
from .predicates import (
    CACHE_CHANGED,
    consumer_predicate,
    node_membership_changed,
    node_ready_predicate,
)
from .reconcile import (
    CONSUMER_INDEX,
    ENTRY_INDEX,
    OWNER_INDEX,
    LocalModelCacheReconciler,
    consumer_keys,
    controller_uid,
    entry_keys,
)

__all__ = ["LocalModelNodeChanges", "setup"]


def _request(key: str) -> Request:
    ns, _, name = key.rpartition("/")
    return Request(ns, name)


class LocalModelNodeChanges:
    """Enqueues the caches whose entry or download status changed on a LocalModelNode
    (``namespaced``: LocalModelNamespaceCaches, keys ``<ns>/<name>``; else LocalModelCaches).
    Every entry of a created or deleted LocalModelNode counts as changed."""

    def __init__(self, namespaced: bool) -> None:
        self.namespaced = namespaced

    def _state(self, lmn: Any) -> dict[str, tuple[Any, Any]]:
        if lmn is None:
            return {}
        d = object_to_dict(lmn)
        status = (d.get("status") or {}).get("modelStatus") or {}
        out: dict[str, tuple[Any, Any]] = {}
        for info in (d.get("spec") or {}).get("localModels") or ():
            ns = info.get("namespace") or ""
            key = f"{ns}/{info.get('modelName')}" if ns else str(info.get("modelName"))
            out[key] = (info, status.get(key))
        for key, value in status.items():
            out.setdefault(key, (None, value))
        return out

    def _enqueue(self, keys: Iterable[str], q: Queue) -> None:
        for key in sorted(keys):
            if ("/" in key) == self.namespaced:
                q.add(_request(key))

    def create(self, e: CreateEvent, q: Queue) -> None:
        self._enqueue(self._state(e.object), q)

    def update(self, e: UpdateEvent, q: Queue) -> None:
        old, new = self._state(e.object_old), self._state(e.object_new)
        self._enqueue((k for k in old.keys() | new.keys() if old.get(k) != new.get(k)), q)

    def delete(self, e: DeleteEvent, q: Queue) -> None:
        self._enqueue(self._state(e.object), q)

    def generic(self, e: GenericEvent, q: Queue) -> None:
        return None


def _consumer_map(namespaced: bool) -> Any:
    """An InferenceService (or LLMInferenceService) -> the cache of the kind it names."""

    def fn(obj: Any) -> list[Request]:
        meta = obj.metadata
        labels = meta.labels or {}
        name = labels.get(LOCAL_MODEL_LABEL)
        ns = labels.get(LOCAL_MODEL_NAMESPACE_LABEL)
        if not name:
            return []
        if namespaced:
            return [Request(ns, name)] if ns and ns == meta.namespace else []
        return [Request("", name)] if ns is None else []

    return fn


def setup(mgr: Any, config: ConfigSource) -> tuple[LocalModelCacheReconciler,
                                                    LocalModelCacheReconciler,
                                                    NodeModelsReconciler]:
    """Register the three controllers with ``mgr``; ``config`` is the
    ``inferenceservice-config`` source (``localModel`` key)."""
    cache = mgr.cache
    client = mgr.client
    cache.index_field(InferenceService, CONSUMER_INDEX, consumer_keys)
    cache.index_field(LocalModelNode, ENTRY_INDEX, entry_keys)
    cache.index_field(PersistentVolumeClaim, OWNER_INDEX, controller_uid)
    cache.index_field(PersistentVolume, OWNER_INDEX, controller_uid)

    def caches_of(kind: Any) -> Any:
        async def all_caches(_: Any) -> list[Request]:
            return [Request(c.metadata.namespace or "", c.metadata.name)
                    for c in await client.list(kind)]

        async def for_node(node: Any) -> list[Request]:
            n = object_to_dict(node)
            groups = {g.metadata.name: object_to_dict(g)
                      for g in await client.list(LocalModelNodeGroup)}
            out = []
            for c in await client.list(kind):
                for name in (c.spec.node_groups if c.spec else ()):
                    try:
                        if name in groups and node_in_group(groups[name], n):
                            out.append(Request(c.metadata.namespace or "", c.metadata.name))
                            break
                    except NodeAffinityError:
                        continue
            return out

        async def for_group(group: Any) -> list[Request]:
            return [Request(c.metadata.namespace or "", c.metadata.name)
                    for c in await client.list(kind)
                    if c.spec is not None and group.metadata.name in c.spec.node_groups]

        return all_caches, for_node, for_group

    reconcilers = []
    for kind, name, namespaced in ((LocalModelCache, "localmodelcache", False),
                                   (LocalModelNamespaceCache, "localmodelnamespacecache", True)):
        all_caches, for_node, for_group = caches_of(kind)
        label = LOCAL_MODEL_NAMESPACE_LABEL if namespaced else LOCAL_MODEL_LABEL
        reconciler = LocalModelCacheReconciler(mgr, config, kind)
        b = Builder(mgr, name=name).for_(kind, predicates=[CACHE_CHANGED])
        if not namespaced:
            b = b.owns(PersistentVolume)
        (
            b.owns(PersistentVolumeClaim)
            .watches(InferenceService, _consumer_map(namespaced),
                     predicates=[consumer_predicate(label)])
            .watches(LLMInferenceService, _consumer_map(namespaced),
                     predicates=[consumer_predicate(label)], optional=True)
            .watches(Node, for_node, predicates=[node_membership_changed()])
            .watches(LocalModelNode, LocalModelNodeChanges(namespaced))
            .watches(LocalModelNodeGroup, for_group)
            .watches(ConfigMap, all_caches, predicates=[new_predicate_funcs(config.is_config_map)])
            .complete(reconciler)
        )
        reconcilers.append(reconciler)

    async def cache_nodes(c: Any) -> list[Request]:
        return await nodes_for_cache(client, c, ENTRY_INDEX)

    async def group_nodes(g: Any) -> list[Request]:
        return await nodes_for_group(client, g)

    def same_node(node: Any) -> list[Request]:
        return [Request("", node.metadata.name)]

    writer = NodeModelsReconciler(mgr)
    (
        Builder(mgr, name="localmodelnode-models")
        .for_(LocalModelNode, predicates=[GenerationChangedPredicate()])
        .watches(Node, same_node,
                 predicates=[or_(node_ready_predicate(),
                                 Funcs(create=lambda e: False, delete=lambda e: False,
                                       update=_labels_changed))])
        .watches(LocalModelCache, cache_nodes, predicates=[CACHE_CHANGED])
        .watches(LocalModelNamespaceCache, cache_nodes, predicates=[CACHE_CHANGED])
        .watches(LocalModelNodeGroup, group_nodes)
        .complete(writer)
    )
    return reconcilers[0], reconcilers[1], writer


def _labels_changed(e: UpdateEvent) -> bool:
    def labels(o: Any) -> dict[str, str]:
        return dict(o.metadata.labels or {}) if o is not None else {}

    return labels(e.object_old) != labels(e.object_new)
