"""Event filters (controller-runtime's ``pkg/predicate``).

A predicate decides, per event, whether the handler sees it. All predicates here are pure and
synchronous: they run on the informer's delivery path, before anything reaches the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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

__all__ = [
    "AnnotationChangedPredicate",
    "Funcs",
    "GenerationChangedPredicate",
    "LabelChangedPredicate",
    "LabelSelector",
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


class LabelSelector:
    """A parsed ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``).

    Built from the API dict form, a lightkube ``LabelSelector`` model or plain match labels.
    Invalid operators raise ``ValueError`` at construction, as ``LabelSelectorAsSelector`` does.
    The empty selector matches everything.
    """

    __slots__ = ("_exprs", "_labels")

    _OPS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})

    def __init__(
        self,
        match_labels: Mapping[str, str] | None = None,
        match_expressions: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self._labels = dict(match_labels or {})
        exprs: list[tuple[str, str, frozenset[str]]] = []
        for ex in match_expressions:
            key = str(ex["key"])
            op = str(ex["operator"])
            values = frozenset(str(v) for v in (ex.get("values") or ()))
            if op not in self._OPS:
                raise ValueError(f"{op!r} is not a valid label selector operator")
            if op in ("In", "NotIn") and not values:
                raise ValueError(f"values must be non-empty for operator {op} (key {key!r})")
            if op in ("Exists", "DoesNotExist") and values:
                raise ValueError(f"values must be empty for operator {op} (key {key!r})")
            exprs.append((key, op, values))
        self._exprs = tuple(exprs)

    @classmethod
    def parse(cls, selector: Any) -> LabelSelector:
        """From a dict ``{"matchLabels": ..., "matchExpressions": [...]}``, a model with
        ``matchLabels``/``matchExpressions`` attributes, or a ``LabelSelector``."""
        if isinstance(selector, LabelSelector):
            return selector
        if isinstance(selector, Mapping):
            if "matchLabels" in selector or "matchExpressions" in selector:
                return cls(selector.get("matchLabels"), selector.get("matchExpressions") or ())
            return cls(selector)  # bare {key: value} match labels
        ml = getattr(selector, "matchLabels", None)
        me = getattr(selector, "matchExpressions", None) or ()
        exprs = [
            {"key": x.key, "operator": x.operator, "values": getattr(x, "values", None)}
            for x in me
        ]
        return cls(ml, exprs)

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self._labels.items():
            if labels.get(k) != v:
                return False
        for key, op, values in self._exprs:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True


def label_selector_predicate(selector: Any) -> Funcs:
    """Passes events whose object's labels match ``selector`` (``LabelSelectorPredicate``)."""
    sel = LabelSelector.parse(selector)
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
