"""The TrainedModel controller (upstream ``pkg/controller/v1alpha1/trainedmodel/
controller.go``): places a model on its InferenceService's multi-model predictor by writing it
into ``modelconfig-<isvc>-0`` (``models.json``), which the model agent's puller loads.

Per TrainedModel: the parent InferenceService must exist (a TrainedModel without one is
deleted, as upstream), the finalizer ``trainedmodel.finalizer`` and the label
``inferenceservice=<isvc>`` are set, memory is accounted against the predictor's memory limit
(label ``serving.kserve.io/trainedmodel-allocated=<isvc>`` once it fits), the conditions
InferenceServiceReady / IsMMSPredictor / MemoryResourceAvailable -> Ready and url/address are
written, and a Ready model is upserted into ``models.json`` (removed when deleted).

Deliberate differences (docs/compatibility.md):

- it watches the parent InferenceService, the ``modelconfig`` ConfigMap and the sibling
  models, so a model waits for its parent, the ConfigMap or free memory without an error
  loop (upstream returns an error after every refusal and retries with backoff forever);
  each refusal is a False condition plus a Warning event on the transition;
- ``models.json`` is written in a stable order, only when its content changes, one write for
  all the models of an InferenceService that are pending;
- the finalizer never wedges a namespace: when the parent is gone, the namespace is
  terminating, the ConfigMap is gone or unreadable, it is dropped without touching
  ``models.json`` (upstream loops forever when the parent is gone);
- "parent missing" is confirmed with an uncached read before the model is deleted (a
  TrainedModel created right after its InferenceService must not be deleted because the cache
  has not seen the parent yet);
- memory accounting is serialised per InferenceService and remembers allocations the cache
  has not shown yet, so two models cannot both take the last free memory;
- ``observedGeneration`` is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import anyio
from lightkube.resources.core_v1 import ConfigMap, Namespace

from apis.knative.condition_set import semantic_equal
from apis.serving.constants import (
    MODEL_CONFIG_FILE_NAME,
    PARENT_INFERENCE_SERVICE_LABEL,
    TRAINED_MODEL_ALLOCATED_LABEL,
    TRAINED_MODEL_FINALIZER,
    model_config_name,
)
from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1alpha1.trained_model_status import (
    TrainedModelStatus,
    update_trained_model_conditions,
    update_trained_model_urls,
)
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.inference_service_status_conditions import is_ready as isvc_is_ready
from apis.serving.v1beta1.predictor_implementation import (
    get_predictor_protocol,
    is_mms_predictor,
)
from controllers.reconcilers.modelconfig import ModelConfigError
from runtime.builder import Builder
from runtime.client import ignore_not_found, is_conflict, is_not_found
from runtime.predicate import new_predicate_funcs
from runtime.reconcile import Request, Result
from runtime.recorder import WARNING

from .memory import SHARD_ID, is_memory_resource_available, total_requested_memory
from .models_json import desired_models_json, is_deployable, model_config_delta

__all__ = ["ISVC_INDEX", "TrainedModelReconciler", "setup"]

log = logging.getLogger(__name__)

CONTROLLER_NAME = "trainedmodel"
ISVC_INDEX = "spec.inferenceService"
"""Field index on TrainedModels: the parent InferenceService's name."""
MODEL_CONFIG_PREFIX = "modelconfig-"
MODEL_CONFIG_SUFFIX = f"-{SHARD_ID}"

EVENT_MODEL_CONFIG_NOT_FOUND = "ModelConfigNotFound"
EVENT_INVALID_MODEL_CONFIG = "InvalidModelConfig"
EVENT_PARENT_NOT_FOUND = "InferenceServiceNotFound"

_REFUSALS = {  # upstream's error texts, used as the Warning events' notes
    "InferenceServiceReady": 'Inference Service "{isvc}" is not ready. Trained Model "{tm}" '
    "cannot deploy",
    "IsMMSPredictor": 'Inference Service "{isvc}" predictor is not configured for multi-model '
    'serving. Trained Model "{tm}" cannot deploy',
    "MemoryResourceAvailable": 'Inference Service "{isvc}" memory resources are not '
    'available. Trained Model "{tm}" cannot deploy',
}


def isvc_of_model_config(name: str) -> str | None:
    """``modelconfig-<isvc>-0`` -> ``<isvc>``; None for any other ConfigMap name."""
    if name.startswith(MODEL_CONFIG_PREFIX) and name.endswith(MODEL_CONFIG_SUFFIX):
        isvc = name[len(MODEL_CONFIG_PREFIX):-len(MODEL_CONFIG_SUFFIX)]
        return isvc or None
    return None


def _deleting(obj: Any) -> bool:
    meta = obj.metadata if obj is not None else None
    return meta is not None and meta.deletionTimestamp is not None


class TrainedModelReconciler:
    """Reconciles one TrainedModel; see the module docstring."""

    def __init__(self, mgr: Any) -> None:
        self.client = mgr.client
        self.recorder = mgr.get_event_recorder("trainedmodel-controller")
        #: (namespace, isvc) -> {model name: uid} allocated by this process, until the
        #: cache shows their label
        self._recent: dict[tuple[str, str], dict[str, str]] = {}
        self._locks: dict[tuple[str, str], anyio.Lock] = {}
        #: (namespace, model) already told that its ConfigMap is missing
        self._warned_missing: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ reads

    async def _get(self, kind: Any, name: str, namespace: str | None) -> Any | None:
        return await ignore_not_found(self.client.get(kind, name, namespace))

    async def _siblings(self, namespace: str, isvc: str) -> list[Any]:
        return list(await self.client.list(TrainedModel, namespace, fields={ISVC_INDEX: isvc}))

    async def _namespace_terminating(self, namespace: str) -> bool:
        """Being deleted (an object not in the cache yet is a new namespace, not a gone one)."""
        ns = await self._get(Namespace, namespace, None)
        if ns is None:
            return False
        return bool(ns.metadata.deletionTimestamp) or (
            ns.status is not None and ns.status.phase == "Terminating"
        )

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, req: Request) -> Result:
        tm: TrainedModel | None = await self._get(TrainedModel, req.name, req.namespace)
        if tm is None or tm.metadata is None or tm.spec is None:
            return Result()
        isvc_name = tm.spec.inference_service
        isvc: InferenceService | None = await self._get(InferenceService, isvc_name,
                                                         req.namespace)
        if _deleting(tm):
            await self._finalize(tm, isvc)
            return Result()
        if isvc is None:
            await self._parent_missing(tm, isvc_name)
            return Result()
        key = (req.namespace, isvc_name)
        async with self._locks.setdefault(key, anyio.Lock()):
            available = await self._memory_available(tm, isvc)
            updated = await self._ensure_metadata(tm, isvc_name, available)
        if updated is None:
            return Result()  # conflict: the newer version's event reconciles again
        tm = updated
        status = await self._write_status(tm, isvc, available)
        tm.status = status
        await self._sync_model_config(tm, isvc_name)
        return Result()

    async def _parent_missing(self, tm: TrainedModel, isvc_name: str) -> None:
        """Upstream deletes a model whose parent does not exist; confirm with an uncached read
        first (the cache may not have seen a parent created just before)."""
        assert tm.metadata is not None and tm.metadata.namespace and tm.metadata.name
        try:
            await self.client.api_reader.get(InferenceService, isvc_name, tm.metadata.namespace)
            return  # it exists: its watch event will reconcile this model
        except Exception as e:
            if not is_not_found(e):
                raise
        log.info("parent InferenceService %s/%s does not exist, deleting TrainedModel %s",
                 tm.metadata.namespace, isvc_name, tm.metadata.name)
        try:
            await self.client.delete(TrainedModel, tm.metadata.name, tm.metadata.namespace)
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _memory_available(self, tm: TrainedModel, isvc: InferenceService) -> bool:
        """The allocated models of the parent plus this one fit in the predictor's memory
        limit (called under the parent's lock)."""
        meta = tm.metadata
        assert meta is not None and meta.namespace and meta.name and tm.spec is not None
        isvc_name = tm.spec.inference_service
        key = (meta.namespace, isvc_name)
        listed = await self.client.list(TrainedModel, meta.namespace, labels={
            PARENT_INFERENCE_SERVICE_LABEL: isvc_name, TRAINED_MODEL_ALLOCATED_LABEL: isvc_name})
        pool = {t.metadata.name: t for t in listed if not _deleting(t)}
        recent = self._recent.get(key, {})
        for name, uid in list(recent.items()):
            cached = await self._get(TrainedModel, name, meta.namespace)
            labelled = cached is not None and (cached.metadata.labels or {}).get(
                TRAINED_MODEL_ALLOCATED_LABEL) == isvc_name
            if cached is None or cached.metadata.uid != uid or labelled or _deleting(cached):
                del recent[name]  # the cache has caught up (or the model is gone)
            else:
                pool[name] = cached
        pool[meta.name] = tm
        return is_memory_resource_available(isvc, total_requested_memory(pool.values()))

    async def _ensure_metadata(
        self, tm: TrainedModel, isvc_name: str, available: bool
    ) -> TrainedModel | None:
        """The parent label, the allocated label once memory fits (never removed, as
        upstream) and the finalizer; one merge patch, only when something is missing.
        None on a conflict."""
        meta = tm.metadata
        assert meta is not None and meta.namespace and meta.name
        labels = dict(meta.labels or {})
        wanted = {PARENT_INFERENCE_SERVICE_LABEL: isvc_name}
        already = labels.get(TRAINED_MODEL_ALLOCATED_LABEL) == isvc_name
        if available and not already:
            wanted[TRAINED_MODEL_ALLOCATED_LABEL] = isvc_name
        finalizers = list(meta.finalizers or [])
        patch_meta: dict[str, Any] = {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            patch_meta["labels"] = wanted
        if TRAINED_MODEL_FINALIZER not in finalizers:
            patch_meta["finalizers"] = [*finalizers, TRAINED_MODEL_FINALIZER]
        if not patch_meta:
            return tm
        patch_meta["resourceVersion"] = meta.resourceVersion
        try:
            updated: TrainedModel = await self.client.patch(
                TrainedModel, meta.name, {"metadata": patch_meta}, namespace=meta.namespace)
        except Exception as e:
            if is_conflict(e) or is_not_found(e):
                return None
            raise
        if TRAINED_MODEL_ALLOCATED_LABEL in wanted:
            self._recent.setdefault((meta.namespace, isvc_name), {})[meta.name] = (
                meta.uid or "")
        return updated

    async def _write_status(
        self, tm: TrainedModel, isvc: InferenceService, available: bool
    ) -> TrainedModelStatus:
        meta = tm.metadata
        assert meta is not None and meta.name and tm.spec is not None and isvc.spec is not None
        old = tm.status
        status = old.model_copy(deep=True) if old is not None else TrainedModelStatus()
        isvc_name = tm.spec.inference_service
        update_trained_model_conditions(
            status,
            isvc_name=isvc_name,
            tm_name=meta.name,
            isvc_ready=isvc_is_ready(isvc.status),
            is_mms_predictor=is_mms_predictor(isvc.spec.predictor),
            memory_available=available,
        )
        address = isvc.status.address if isvc.status is not None else None
        update_trained_model_urls(
            status,
            meta.name,
            get_predictor_protocol(isvc.spec.predictor),
            isvc.status.url if isvc.status is not None else None,
            address.url if address is not None else None,
        )
        status.observed_generation = meta.generation
        if semantic_equal(old or TrainedModelStatus(), status):
            return status
        try:
            await self.client.apply_status(
                tm, status.model_dump(by_alias=True, exclude_none=True, mode="json"))
        except Exception as e:
            if is_not_found(e):
                return status  # deleted meanwhile
            raise
        for ctype, note in _REFUSALS.items():
            new_c = status.get_condition(ctype)
            old_c = old.get_condition(ctype) if old is not None else None
            if new_c is not None and new_c.status == "False" and (
                old_c is None or old_c.status != "False" or old_c.reason != new_c.reason
            ):
                self.recorder.event(tm, WARNING, new_c.reason or ctype, "Reconcile",
                                    note.format(isvc=isvc_name, tm=meta.name))
        return status

    async def _sync_model_config(self, tm: TrainedModel, isvc_name: str) -> None:
        """Write the pending ``models.json`` changes of the parent's models (this one with its
        fresh labels and status, the siblings as cached)."""
        meta = tm.metadata
        assert meta is not None and meta.namespace and meta.name
        cm_name = model_config_name(isvc_name, SHARD_ID)
        cm = await self._get(ConfigMap, cm_name, meta.namespace)
        warn_key = (meta.namespace, meta.name)
        if cm is None:
            if (
                is_deployable(tm)
                and warn_key not in self._warned_missing
                and not await self._namespace_terminating(meta.namespace)
            ):
                self._warned_missing.add(warn_key)
                self.recorder.event(
                    tm, WARNING, EVENT_MODEL_CONFIG_NOT_FOUND, "Reconcile",
                    f"ConfigMap {cm_name} does not exist yet (the InferenceService controller "
                    f"creates it for a multi-model predictor); waiting for it")
            return
        self._warned_missing.discard(warn_key)
        models = {t.metadata.name: t for t in await self._siblings(meta.namespace, isvc_name)}
        models[meta.name] = tm
        await self._write_model_config(tm, cm, models.values())

    async def _write_model_config(
        self, regarding: TrainedModel, cm: Any, models: Iterable[TrainedModel]
    ) -> bool:
        """Apply the delta of ``models`` to ``cm``'s ``models.json`` (merge patch guarded by
        the resourceVersion: the key has many writers). False on a conflict (the ConfigMap's
        own event reconciles the models again) or an unreadable file (Warning event)."""
        upserts, deletes = model_config_delta(models)
        current = (cm.data or {}).get(MODEL_CONFIG_FILE_NAME)
        try:
            text = desired_models_json(current, upserts, deletes,
                                       config_map_name=cm.metadata.name)
        except ModelConfigError as e:
            self.recorder.event(regarding, WARNING, EVENT_INVALID_MODEL_CONFIG, "Reconcile",
                                str(e))
            return False
        if text is None:
            return True
        try:
            await self.client.patch(ConfigMap, cm.metadata.name, {
                "metadata": {"resourceVersion": cm.metadata.resourceVersion},
                "data": {MODEL_CONFIG_FILE_NAME: text},
            }, namespace=cm.metadata.namespace)
        except Exception as e:
            if is_conflict(e) or is_not_found(e):
                return False
            raise
        return True

    async def _finalize(self, tm: TrainedModel, isvc: InferenceService | None) -> None:
        """Remove the model from ``models.json``, then the finalizer. The finalizer goes
        without touching the file when the parent or the ConfigMap is gone, the namespace is
        terminating or the file is unreadable: deletion is never wedged."""
        meta = tm.metadata
        assert meta is not None and meta.namespace and meta.name and tm.spec is not None
        finalizers = list(meta.finalizers or [])
        if TRAINED_MODEL_FINALIZER not in finalizers:
            return
        isvc_name = tm.spec.inference_service
        if isvc is not None and not _deleting(isvc) and not await self._namespace_terminating(
            meta.namespace
        ):
            cm = await self._get(ConfigMap, model_config_name(isvc_name, SHARD_ID),
                                 meta.namespace)
            if cm is not None:
                models = {t.metadata.name: t
                          for t in await self._siblings(meta.namespace, isvc_name)}
                models[meta.name] = tm
                current = (cm.data or {}).get(MODEL_CONFIG_FILE_NAME)
                written = await self._write_model_config(tm, cm, models.values())
                if not written and current is not None:
                    try:
                        still = desired_models_json(current, [], [meta.name])
                    except ModelConfigError:
                        still = None  # unreadable: do not wedge the deletion on it
                    if still is not None:
                        return  # conflict: retried on the ConfigMap's event
        try:
            await self.client.patch(TrainedModel, meta.name, {"metadata": {
                "resourceVersion": meta.resourceVersion,
                "finalizers": [f for f in finalizers if f != TRAINED_MODEL_FINALIZER],
            }}, namespace=meta.namespace)
        except Exception as e:
            if not (is_conflict(e) or is_not_found(e)):
                raise
        self._warned_missing.discard((meta.namespace, meta.name))


# ---------------------------------------------------------------------------------------------
# wiring
# ---------------------------------------------------------------------------------------------


def _parent_name(tm: TrainedModel) -> list[str]:
    return [tm.spec.inference_service] if tm.spec is not None else []


def setup(mgr: Any, config_source: Any = None) -> None:
    """Register the TrainedModel controller with ``mgr``: For TrainedModel; Watches the parent
    InferenceService, the ``modelconfig-<isvc>-0`` ConfigMaps and the sibling models (memory
    freed by one lets a refused one in). ``config_source`` is accepted for the manager's
    uniform ``setup(mgr, config_source)`` call; TrainedModels read no global config."""
    del config_source
    mgr.cache.index_field(TrainedModel, ISVC_INDEX, _parent_name)
    client = mgr.client

    async def models_of(namespace: str, isvc: str) -> list[Any]:
        return list(await client.list(TrainedModel, namespace, fields={ISVC_INDEX: isvc}))

    async def for_isvc(isvc: Any) -> Iterable[Request]:
        m = isvc.metadata
        return [Request(m.namespace, t.metadata.name) for t in await models_of(m.namespace,
                                                                                m.name)]

    async def for_model_config(cm: Any) -> Iterable[Request]:
        m = cm.metadata
        isvc = isvc_of_model_config(m.name or "")
        if isvc is None:
            return []
        return [Request(m.namespace, t.metadata.name) for t in await models_of(m.namespace,
                                                                                isvc)]

    async def unallocated_siblings(tm: Any) -> Iterable[Request]:
        m = tm.metadata
        if tm.spec is None:
            return []
        parent = tm.spec.inference_service
        return [
            Request(m.namespace, t.metadata.name)
            for t in await models_of(m.namespace, parent)
            if t.metadata.name != m.name
            and (t.metadata.labels or {}).get(TRAINED_MODEL_ALLOCATED_LABEL) != parent
        ]

    def is_model_config(cm: Any) -> bool:
        return isvc_of_model_config(cm.metadata.name or "") is not None

    (
        Builder(mgr, name=CONTROLLER_NAME)
        .for_(TrainedModel)
        .watches(InferenceService, for_isvc)
        .watches(ConfigMap, for_model_config)
        .with_predicates(new_predicate_funcs(is_model_config))
        .watches(TrainedModel, unallocated_siblings)
        .complete(TrainedModelReconciler(mgr))
    )
