"""The LocalModelCache and LocalModelNamespaceCache reconciler (upstream
``reconcilers/localmodelcache_reconciler.go``, ``localmodelnamespacecache_reconciler.go`` and
``utils.go``): one class, the kind given at construction.

Per cache: the finalizer; the download PersistentVolume and claim of each node group; unless
``localModel.disableVolumeManagement``, a PersistentVolume and claim per consuming namespace
and node group (and removal of those no consumer needs any more); the status (each node of
its groups, copies, the consumers). The entries in the nodes' LocalModelNodes are written by
:mod:`controllers.localmodel.nodes` (one writer per LocalModelNode), which this reconciler
waits for when the cache is deleted before it drops its finalizer.

Everything is read from the manager's cache; a reconcile that finds everything in place
sends no request. Problems (a missing node group, a node affinity that does not parse or
matches no node, no job namespace, a volume the API server refuses, a download that failed)
are Warning events on the cache, sent when they appear, never an error loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from lightkube.resources.core_v1 import (
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
)

from apis.serving.v1alpha1 import LocalModelNode, LocalModelNodeGroup
from apis.serving.v1beta1 import InferenceService
from controllers.config import ConfigSource, ConfigUnavailableError
from runtime.client import ignore_not_found, is_conflict, is_not_found
from runtime.codec import object_to_dict
from runtime.reconcile import Request, Result
from runtime.recorder import WARNING

from .desired import (
    CacheRef,
    Consumer,
    cache_ref,
    cache_status,
    consumer_groups,
    consumer_of,
    download_volumes,
    node_statuses,
    serving_volumes,
    status_patch,
    uses_cache,
)
from .llmisvc import LLMInferenceService

__all__ = [
    "CONSUMER_INDEX",
    "ENTRY_INDEX",
    "OWNER_INDEX",
    "LocalModelCacheReconciler",
]

log = logging.getLogger(__name__)

CONSUMER_INDEX = "localmodel.consumer"
"""Field index on InferenceServices: ``<name>`` of the
LocalModelCache they use, ``<namespace>/<name>`` of the LocalModelNamespaceCache."""
ENTRY_INDEX = "localmodel.entries"
"""Field index on LocalModelNodes: the status keys of their ``spec.localModels``."""
OWNER_INDEX = "metadata.controller.uid"
"""Field index on PersistentVolumes and claims: the uid of their controller owner."""

EVENT_NODE_GROUP_NOT_FOUND = "NodeGroupNotFound"
EVENT_INVALID_NODE_AFFINITY = "InvalidNodeAffinity"
EVENT_NO_NODES = "NoMatchingNodes"
EVENT_NO_JOB_NAMESPACE = "JobNamespaceNotSet"
EVENT_VOLUME_FAILED = "VolumeNotCreated"
EVENT_DOWNLOAD_FAILED = "DownloadFailed"
EVENT_CONFIG = "InvalidConfig"


def consumer_keys(obj: Any) -> list[str]:
    """Index values of :data:`CONSUMER_INDEX` (an InferenceService or LLMInferenceService)."""
    meta = obj.metadata
    labels = meta.labels or {}
    from apis.serving.constants import LOCAL_MODEL_LABEL, LOCAL_MODEL_NAMESPACE_LABEL

    name = labels.get(LOCAL_MODEL_LABEL)
    if not name:
        return []
    ns = labels.get(LOCAL_MODEL_NAMESPACE_LABEL)
    if ns is None:
        return [name]
    return [f"{ns}/{name}"] if ns == meta.namespace else []


def entry_keys(lmn: Any) -> list[str]:
    """Index values of :data:`ENTRY_INDEX`."""
    spec = getattr(lmn, "spec", None)
    out = []
    for info in getattr(spec, "local_models", None) or ():
        out.append(info.get_status_key())
    return out


def controller_uid(obj: Any) -> list[str]:
    """Index values of :data:`OWNER_INDEX`."""
    for ref in obj.metadata.ownerReferences or ():
        if ref.controller:
            return [ref.uid]
    return []


class LocalModelCacheReconciler:
    """Reconciles LocalModelCaches (``kind`` = LocalModelCache) or LocalModelNamespaceCaches;
    see the module docstring."""

    def __init__(self, mgr: Any, config: ConfigSource, kind: Any) -> None:
        self.client = mgr.client
        self.kind = kind
        self.config = config
        name = "localmodel-controller" if kind.__crd__.kind == "LocalModelCache" \
            else "localmodelnamespacecache-controller"
        self.recorder = mgr.get_event_recorder(name)
        #: cache key -> problems already reported as events (reported again once gone)
        self._reported: dict[tuple[str, str], set[str]] = {}

    # ------------------------------------------------------------------ helpers

    async def _get(self, kind: Any, name: str, namespace: str | None = None) -> Any | None:
        return await ignore_not_found(self.client.get(kind, name, namespace))

    def _report(self, obj: Any, key: tuple[str, str], problems: Mapping[str, str]) -> None:
        """A Warning event for each problem (reason -> message) not reported yet; problems
        gone are forgotten, so they are reported again if they come back."""
        seen = self._reported.setdefault(key, set())
        current = {f"{r}: {m}" for r, m in problems.items()}
        for reason, message in problems.items():
            if f"{reason}: {message}" not in seen:
                self.recorder.event(obj, WARNING, reason, "Reconcile", message)
        self._reported[key] = current
        if not current:
            self._reported.pop(key, None)

    async def _create_if_absent(self, desired: dict[str, Any], obj: Any,
                                problems: dict[str, str]) -> None:
        """Create ``desired`` (a PV or PVC) unless the cache has it: upstream never updates
        them (most of a volume's spec is immutable). A refusal is a Warning event."""
        kind = PersistentVolume if desired["kind"] == "PersistentVolume" else PersistentVolumeClaim
        meta = desired["metadata"]
        if await self._get(kind, meta["name"], meta.get("namespace")) is not None:
            return
        try:
            await self.client.apply(kind.from_dict(desired))
        except Exception as e:
            code = getattr(getattr(e, "status", None), "code", None)
            if code is None or code >= 500:
                raise
            where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
            problems[EVENT_VOLUME_FAILED] = f"{desired['kind']} {where}{meta['name']}: {e}"

    async def _delete(self, kind: Any, name: str, namespace: str | None) -> None:
        """Delete unless absent or already being deleted (a volume in use waits for its
        protection finalizer)."""
        live = await self._get(kind, name, namespace)
        if live is None or live.metadata.deletionTimestamp is not None:
            return
        try:
            await self.client.delete(kind, name, namespace)
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _patch_finalizers(self, obj: Any, finalizers: list[str]) -> bool:
        meta = obj.metadata
        try:
            await self.client.patch(self.kind, meta.name, {"metadata": {
                "resourceVersion": meta.resourceVersion, "finalizers": finalizers or None}},
                namespace=meta.namespace)
        except Exception as e:
            if is_conflict(e) or is_not_found(e):
                return False  # a newer version (or none) is on its way through the watch
            raise
        return True

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, req: Request) -> Result:
        obj = await self._get(self.kind, req.name, req.namespace or None)
        if obj is None:
            self._reported.pop((req.namespace, req.name), None)
            return Result()
        cache = cache_ref(object_to_dict(obj))
        key = (req.namespace, req.name)
        problems: dict[str, str] = {}
        try:
            cfg = await self.config.get()
        except ConfigUnavailableError as e:
            self._report(obj, key, {EVENT_CONFIG: str(e)})
            return Result()  # the ConfigMap's watch reconciles every cache again
        lm = cfg.local_model
        groups: dict[str, dict[str, Any]] = {}
        for name in cache.node_groups:
            group = await self._get(LocalModelNodeGroup, name)
            if group is None:
                problems[f"{EVENT_NODE_GROUP_NOT_FOUND}/{name}"] = \
                    f"LocalModelNodeGroup {name} not found"
            else:
                groups[name] = object_to_dict(group)

        if cache.deleting:
            await self._finalize(obj, cache, lm.job_namespace)
            return Result()
        if cache.finalizer not in cache.finalizers and not await self._patch_finalizers(
                obj, [*cache.finalizers, cache.finalizer]):
            return Result()

        # each node of the cache's groups, and its download status
        nodes = [object_to_dict(n) for n in await self.client.list(Node)]
        nodes.sort(key=lambda n: str(n["metadata"].get("name")))
        model_status: dict[str, dict[str, str]] = {}
        for node in nodes:
            name = str(node["metadata"].get("name"))
            lmn = await self._get(LocalModelNode, name)
            if lmn is not None and lmn.status is not None:
                model_status[name] = dict(lmn.status.model_status or {})
        node_status, affinity_errors = node_statuses(cache, groups, nodes, model_status)
        for err in affinity_errors:
            problems[f"{EVENT_INVALID_NODE_AFFINITY}/{err.split(':')[0]}"] = err
        if groups and not node_status and not affinity_errors:
            problems[EVENT_NO_NODES] = (
                f"no node matches the node affinity of node group(s) {', '.join(groups)}")
        failed = sorted(n for n, s in node_status.items() if s == "NodeDownloadError")
        if failed:
            problems[EVENT_DOWNLOAD_FAILED] = (
                f"downloading {cache.source_model_uri} failed on node(s) {', '.join(failed)}")

        # download volumes (Step 3)
        ordered = [(g, groups[g]) for g in cache.node_groups if g in groups]
        desired: list[dict[str, Any]] = []
        if lm.job_namespace:
            desired += download_volumes(cache, ordered, lm.job_namespace)
        else:
            problems[EVENT_NO_JOB_NAMESPACE] = (
                "inferenceservice-config localModel.jobNamespace is empty: no download volume")

        # serving volumes (Step 4)
        isvcs: list[Consumer] | None = None
        llm_isvcs: list[Consumer] | None = None
        if not lm.disable_volume_management:
            isvcs = await self._consumers(InferenceService, cache)
            llm_isvcs = []
            if await self.client.is_served(LLMInferenceService):
                llm_isvcs = await self._consumers(LLMInferenceService, cache)
            by_ns = consumer_groups(cache, [*isvcs, *llm_isvcs], groups)
            desired += serving_volumes(cache, by_ns, groups)
        for d in desired:
            await self._create_if_absent(d, obj, problems)
        if not lm.disable_volume_management and lm.job_namespace \
                and len(groups) == len(cache.node_groups):
            await self._remove_unused(cache, desired)

        await self._write_status(obj, cache, node_status, isvcs, llm_isvcs)
        self._report(obj, key, _merge(problems))
        return Result()

    async def _consumers(self, kind: Any, cache: CacheRef) -> list[Consumer]:
        """The cache's consumers of ``kind``: InferenceServices through the index, the
        (optional, few) LLMInferenceServices by a scan of their informer."""
        if kind is InferenceService:
            objs = await self.client.list(kind, cache.namespace or None,
                                          fields={CONSUMER_INDEX: cache.status_key})
        else:
            objs = await self.client.list(kind, cache.namespace or None)
        return [consumer_of(d) for d in map(object_to_dict, objs) if uses_cache(d, cache)]

    async def _remove_unused(self, cache: CacheRef,
                             desired: Iterable[Mapping[str, Any]]) -> None:
        """Volumes this cache made that nothing needs any more: claims and volumes it owns
        (a consuming namespace gone, a node group dropped), and for a namespace cache the
        serving volumes of its namespace once it has no consumer (upstream deletes the claim
        of a namespace its status listed before; the volume stays Released there, and a claim
        made again later never binds to it)."""
        want = {(d["kind"], d["metadata"].get("namespace") or "", d["metadata"]["name"])
                for d in desired}
        if cache.uid:
            for kind in (PersistentVolumeClaim, PersistentVolume):
                for o in await self.client.list(kind, fields={OWNER_INDEX: cache.uid}):
                    k = (kind.__name__, o.metadata.namespace or "", o.metadata.name)
                    if k not in want:
                        await self._delete(kind, o.metadata.name, o.metadata.namespace)
        if cache.namespaced:
            for group in cache.node_groups:
                pv = f"{cache.name}-{group}-{cache.namespace}"
                if ("PersistentVolume", "", pv) not in want:
                    await self._delete(PersistentVolume, pv, None)

    async def _write_status(self, obj: Any, cache: CacheRef, node_status: Mapping[str, str],
                            isvcs: list[Consumer] | None,
                            llm_isvcs: list[Consumer] | None) -> None:
        old = object_to_dict(obj).get("status") or {}
        new = cache_status(node_status, old, isvcs=isvcs, llm_isvcs=llm_isvcs)
        patch = status_patch(old, new)
        if patch is None:
            return
        try:
            await self.client.patch_status(self.kind, cache.name, {"status": patch},
                                           namespace=cache.namespace or None)
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _finalize(self, obj: Any, cache: CacheRef, job_namespace: str) -> None:
        """Deletion (upstream ``DeleteModelFromNodes``): once no LocalModelNode lists the cache
        any more (the node writer removes the entries; its LocalModelNode updates reconcile
        this cache again), a namespace cache deletes its volumes that cannot be owned (the
        download pair and the serving volumes; owned ones go with the garbage collector), then
        the finalizer goes. Missing node groups do not block it."""
        if cache.finalizer not in cache.finalizers:
            return
        if await self.client.list(LocalModelNode, fields={ENTRY_INDEX: cache.status_key}):
            return
        if cache.namespaced:
            for group in cache.node_groups:
                download = f"{cache.name}-{group}-{cache.namespace}-download"
                await self._delete(PersistentVolume, download, None)
                if job_namespace:
                    await self._delete(PersistentVolumeClaim, download, job_namespace)
                await self._delete(PersistentVolume, f"{cache.name}-{group}-{cache.namespace}",
                                   None)
        await self._patch_finalizers(obj, [f for f in cache.finalizers if f != cache.finalizer])


def _merge(problems: Mapping[str, str]) -> dict[str, str]:
    """Problems of one reason (one per node group) in one message."""
    out: dict[str, str] = {}
    for key, message in problems.items():
        reason = key.split("/")[0]
        out[reason] = f"{out[reason]}; {message}" if reason in out else message
    return out

