"""The LocalModelNodes' ``spec.localModels``: one writer per node (the cache side of upstream
``ReconcileLocalModelNode`` / ``UpdateLocalModelNode`` / ``DeleteModelFromNode``).

Upstream, every cache reconcile merge-patches its own entry into the LocalModelNode of every
node of its groups: N caches on M nodes cost N x M patches, and the LocalModelCache and
LocalModelNamespaceCache controllers patch the same list without a resourceVersion, so
concurrent patches can drop each other's entries. Here a controller keyed by node name
computes the node's whole list from every cache (:func:`~.desired.node_models`) and writes
it with one server-side apply when it differs from what is stored (``localModels`` is an
atomic list, owned by this writer alone). A burst of caches costs each node a few writes,
and nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from lightkube.resources.core_v1 import Node

from apis.serving.v1alpha1 import (
    LocalModelCache,
    LocalModelNamespaceCache,
    LocalModelNode,
    LocalModelNodeGroup,
)
from runtime.client import ignore_not_found, is_not_found
from runtime.codec import object_to_dict
from runtime.reconcile import Request, Result

from .desired import cache_ref, node_models
from .nodeaffinity import NodeAffinityError, node_in_group

__all__ = ["NodeModelsReconciler", "nodes_for_cache", "nodes_for_group"]

log = logging.getLogger(__name__)

_EMPTY: tuple[Any, ...] = ("", None, [], {})


def _normalise(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """Stored entries as :func:`~.desired.model_info` writes them (empty fields left out)."""
    out = []
    for e in entries:
        d = e if isinstance(e, dict) else e.model_dump(by_alias=True, exclude_none=True,
                                                       mode="json")
        out.append({k: v for k, v in d.items() if v not in _EMPTY or k == "sourceModelUri"})
    return out


class NodeModelsReconciler:
    """Writes ``LocalModelNode <node>.spec.localModels``; requests are keyed by node name."""

    def __init__(self, mgr: Any) -> None:
        self.client = mgr.client
        #: node -> (resourceVersion the last apply started from, the apply's answer): the
        #: cache may not show our own write yet
        self._written: dict[str, tuple[str | None, Any]] = {}

    async def _get(self, kind: Any, name: str) -> Any | None:
        return await ignore_not_found(self.client.get(kind, name))

    async def reconcile(self, req: Request) -> Result:
        node = await self._get(Node, req.name)
        lmn = await self._get(LocalModelNode, req.name)
        memo = self._written.get(req.name)
        if memo is not None:
            rv = lmn.metadata.resourceVersion if lmn is not None else None
            if rv == memo[0]:
                lmn = memo[1]  # the cache has not caught up with our write
            else:
                self._written.pop(req.name, None)
        caches = [cache_ref(object_to_dict(c)) for c in await self.client.list(LocalModelCache)]
        caches += [cache_ref(object_to_dict(c))
                   for c in await self.client.list(LocalModelNamespaceCache)]
        groups = {g.metadata.name: object_to_dict(g)
                  for g in await self.client.list(LocalModelNodeGroup)}
        existing = _normalise(lmn.spec.local_models if lmn is not None and lmn.spec else [])
        desired = _normalise(node_models(object_to_dict(node) if node is not None else None,
                                         existing, caches, groups))
        if desired == existing and (lmn is not None or not desired):
            return Result()
        if lmn is None and node is None:
            return Result()
        body = LocalModelNode.model_validate({
            "apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelNode",
            "metadata": {"name": req.name}, "spec": {"localModels": desired}})
        before = lmn.metadata.resourceVersion if lmn is not None else None
        result = await self.client.apply(body)
        self._written[req.name] = (before, result)
        log.debug("LocalModelNode %s: %d model(s)", req.name, len(desired))
        return Result()


def _members(group: Any, nodes: Iterable[Any]) -> list[str]:
    g = object_to_dict(group)
    out = []
    for n in nodes:
        try:
            if node_in_group(g, object_to_dict(n)):
                out.append(n.metadata.name)
        except NodeAffinityError:
            continue
    return out


async def nodes_for_group(client: Any, group: Any) -> list[Request]:
    """The nodes of a LocalModelNodeGroup (old and new versions of an update are both
    mapped by the handler)."""
    return [Request("", n) for n in _members(group, await client.list(Node))]


async def nodes_for_cache(client: Any, cache: Any, entry_index: str) -> list[Request]:
    """The nodes a cache may add itself to (those of its node groups) and those that list it
    (to remove it)."""
    ref = cache_ref(object_to_dict(cache))
    names: set[str] = set()
    nodes = await client.list(Node)
    for group_name in ref.node_groups:
        try:
            group = await client.get(LocalModelNodeGroup, group_name)
        except Exception as e:
            if is_not_found(e):
                continue
            raise
        names.update(_members(group, nodes))
    for lmn in await client.list(LocalModelNode, fields={entry_index: ref.status_key}):
        names.add(lmn.metadata.name)
    return [Request("", n) for n in sorted(names)]
