"""Event filters of the LocalModel controllers (upstream ``reconcilers/predicates.go`` and the
predicates built in ``SetupWithManager``)."""

from __future__ import annotations

from typing import Any

from apis.serving.constants import (
    LOCAL_MODEL_LABEL,
    LOCAL_MODEL_NAMESPACE_LABEL,
    NODE_GROUP_ANNOTATION,
)
from runtime.codec import object_to_dict
from runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from runtime.predicate import Funcs, GenerationChangedPredicate, Predicate, or_

from .nodeaffinity import is_node_ready

__all__ = [
    "CACHE_CHANGED",
    "consumer_predicate",
    "node_membership_changed",
    "node_ready_predicate",
]


def _ready(obj: Any) -> bool:
    return obj is not None and is_node_ready(object_to_dict(obj))


def _labels(obj: Any) -> dict[str, str]:
    meta = getattr(obj, "metadata", None)
    return dict(getattr(meta, "labels", None) or {}) if meta is not None else {}


def _annotations(obj: Any) -> dict[str, str]:
    meta = getattr(obj, "metadata", None)
    return dict(getattr(meta, "annotations", None) or {}) if meta is not None else {}


def node_ready_predicate() -> Funcs:
    """``NodeReadyPredicate``: a node created, or turned from not Ready to Ready; deletions
    and every other update are filtered out."""
    return Funcs(
        create=lambda e: True,
        update=lambda e: not _ready(e.object_old) and _ready(e.object_new),
        delete=lambda e: False,
    )


def _membership(e: UpdateEvent) -> bool:
    return (_ready(e.object_old) != _ready(e.object_new)
            or _labels(e.object_old) != _labels(e.object_new))


def node_membership_changed() -> Funcs:
    """A node created or deleted, its readiness flipped either way, or its labels changed
    (which decide its node groups). Heartbeats (status-only updates that keep readiness) are
    filtered out."""
    return Funcs(update=_membership)


def _deleting(e: UpdateEvent) -> bool:
    meta = getattr(e.object_new, "metadata", None)
    return meta is not None and meta.deletionTimestamp is not None


CACHE_CHANGED: Predicate = or_(
    GenerationChangedPredicate(),
    Funcs(create=lambda e: False, update=_deleting, delete=lambda e: False,
          generic=lambda e: False),
)
"""A cache's spec changed or its deletion began (not its own status writes)."""


def consumer_predicate(label: str) -> Funcs:
    """InferenceServices (and LLMInferenceServices) carrying ``label`` when created or
    deleted, or whose LocalModel labels or node-group annotation changed while one of them
    carried ``label`` (upstream watches ``label`` alone; a changed node group needs volumes
    too, and moving from a cluster cache to a namespace cache of the same name changes only
    the namespace label)."""
    assert label in (LOCAL_MODEL_LABEL, LOCAL_MODEL_NAMESPACE_LABEL)

    def has(e: CreateEvent | DeleteEvent | GenericEvent) -> bool:
        return label in _labels(e.object)

    def changed(e: UpdateEvent) -> bool:
        old, new = _labels(e.object_old), _labels(e.object_new)
        if label not in old and label not in new:
            return False
        return (any(old.get(k) != new.get(k)
                    for k in (LOCAL_MODEL_LABEL, LOCAL_MODEL_NAMESPACE_LABEL))
                or _annotations(e.object_old).get(NODE_GROUP_ANNOTATION)
                != _annotations(e.object_new).get(NODE_GROUP_ANNOTATION))

    return Funcs(create=has, update=changed, delete=has, generic=lambda e: False)
