"""Event filters (controller-runtime's ``pkg/predicate``).

A predicate decides, per event, whether the handler sees it. All predicates here are pure and
synchronous: they run on the informer's delivery path, before anything reaches the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from runtime.event import (
    CreateEvent,
    DeleteEvent,
    GenericEvent,
    UpdateEvent,
    meta_annotations,
    meta_generation,
    meta_labels,
    meta_resource_version,
)
from runtime.selector import from_label_selector

__all__ = [
    "AnnotationChangedPredicate",
    "Funcs",
    "GenerationChangedPredicate",
    "LabelChangedPredicate",
    "Predicate",
    "ResourceVersionChangedPredicate",
    "and_",
    "label_selector_predicate",
    "new_predicate_funcs",
    "not_",
    "or_",
]


@runtime_checkable
class Predicate(Protocol):
    def create(self, e: CreateEvent) -> bool: ...
    def update(self, e: UpdateEvent) -> bool: ...
    def delete(self, e: DeleteEvent) -> bool: ...
    def generic(self, e: GenericEvent) -> bool: ...


class Funcs:
    """A predicate from optional per-event functions; a missing function lets the event through
    (``predicate.Funcs``). Also the base class of the built-in predicates."""

    def __init__(
        self,
        create: Callable[[CreateEvent], bool] | None = None,
        update: Callable[[UpdateEvent], bool] | None = None,
        delete: Callable[[DeleteEvent], bool] | None = None,
        generic: Callable[[GenericEvent], bool] | None = None,
    ) -> None:
        self._create = create
        self._update = update
        self._delete = delete
        self._generic = generic

    def create(self, e: CreateEvent) -> bool:
        return self._create(e) if self._create is not None else True

    def update(self, e: UpdateEvent) -> bool:
        return self._update(e) if self._update is not None else True

    def delete(self, e: DeleteEvent) -> bool:
        return self._delete(e) if self._delete is not None else True

    def generic(self, e: GenericEvent) -> bool:
        return self._generic(e) if self._generic is not None else True


def new_predicate_funcs(filter_fn: Callable[[Any], bool]) -> Funcs:
    """A predicate applying ``filter_fn(obj)`` to every event's object (the *new* object for
    updates), like ``predicate.NewPredicateFuncs``."""
    return Funcs(
        create=lambda e: filter_fn(e.object),
        update=lambda e: filter_fn(e.object_new),
        delete=lambda e: filter_fn(e.object),
        generic=lambda e: filter_fn(e.object),
    )


class ResourceVersionChangedPredicate(Funcs):
    """Drops updates whose resourceVersion did not change (periodic resyncs)."""

    def update(self, e: UpdateEvent) -> bool:
        if e.object_old is None or e.object_new is None:
            return False
        return meta_resource_version(e.object_old) != meta_resource_version(e.object_new)


class GenerationChangedPredicate(Funcs):
    """Passes updates only when ``metadata.generation`` changed, i.e. the spec changed.

    Status and metadata-only updates are dropped. Objects without a generation (ConfigMaps,
    Secrets...) never pass an update through this predicate: combine it with ``or_`` and
    ``LabelChangedPredicate`` etc. where that matters, as in Go.
    """

    def update(self, e: UpdateEvent) -> bool:
        if e.object_old is None or e.object_new is None:
            return False
        return meta_generation(e.object_old) != meta_generation(e.object_new)


class AnnotationChangedPredicate(Funcs):
    """Passes updates only when ``metadata.annotations`` changed."""

    def update(self, e: UpdateEvent) -> bool:
        if e.object_old is None or e.object_new is None:
            return False
        return dict(meta_annotations(e.object_old)) != dict(meta_annotations(e.object_new))


class LabelChangedPredicate(Funcs):
    """Passes updates only when ``metadata.labels`` changed."""

    def update(self, e: UpdateEvent) -> bool:
        if e.object_old is None or e.object_new is None:
            return False
        return dict(meta_labels(e.object_old)) != dict(meta_labels(e.object_new))


# --------------------------------------------------------------------------- label selectors


def label_selector_predicate(selector: Any) -> Funcs:
    """Passes events whose object's labels match ``selector`` (``LabelSelectorPredicate``):
    a ``metav1.LabelSelector`` (dict or model), bare match labels, or a
    :class:`~runtime.selector.Selector`. Invalid selectors raise ``ValueError`` here."""
    sel = from_label_selector(selector)
    return new_predicate_funcs(lambda obj: sel.matches(meta_labels(obj)))


# --------------------------------------------------------------------------- combinators


class _And(Funcs):
    def __init__(self, preds: tuple[Predicate, ...]) -> None:
        super().__init__()
        self.preds = preds

    def create(self, e: CreateEvent) -> bool:
        return all(p.create(e) for p in self.preds)

    def update(self, e: UpdateEvent) -> bool:
        return all(p.update(e) for p in self.preds)

    def delete(self, e: DeleteEvent) -> bool:
        return all(p.delete(e) for p in self.preds)

    def generic(self, e: GenericEvent) -> bool:
        return all(p.generic(e) for p in self.preds)


class _Or(Funcs):
    def __init__(self, preds: tuple[Predicate, ...]) -> None:
        super().__init__()
        self.preds = preds

    def create(self, e: CreateEvent) -> bool:
        return any(p.create(e) for p in self.preds)

    def update(self, e: UpdateEvent) -> bool:
        return any(p.update(e) for p in self.preds)

    def delete(self, e: DeleteEvent) -> bool:
        return any(p.delete(e) for p in self.preds)

    def generic(self, e: GenericEvent) -> bool:
        return any(p.generic(e) for p in self.preds)


class _Not(Funcs):
    def __init__(self, pred: Predicate) -> None:
        super().__init__()
        self.pred = pred

    def create(self, e: CreateEvent) -> bool:
        return not self.pred.create(e)

    def update(self, e: UpdateEvent) -> bool:
        return not self.pred.update(e)

    def delete(self, e: DeleteEvent) -> bool:
        return not self.pred.delete(e)

    def generic(self, e: GenericEvent) -> bool:
        return not self.pred.generic(e)


def and_(*preds: Predicate) -> Predicate:
    """All must pass (``predicate.And``); with no arguments everything passes."""
    return _And(preds)


def or_(*preds: Predicate) -> Predicate:
    """Any must pass (``predicate.Or``); with no arguments nothing passes."""
    return _Or(preds)


def not_(pred: Predicate) -> Predicate:
    """Inverts ``pred`` (``predicate.Not``)."""
    return _Not(pred)
