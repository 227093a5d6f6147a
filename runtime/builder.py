"""Fluent controller wiring (controller-runtime's ``pkg/builder``):
``Builder(mgr).for_(T).owns(U).watches(V, map_fn).with_event_filter(p).max_concurrent(n)
.complete(reconciler)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.controller import Controller, WorkQueue
from runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from runtime.handler import (
    AsyncMapFunc,
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventHandler,
    MapFunc,
)
from runtime.predicate import Predicate
from runtime.reconcile import Reconciler
from runtime.restmapper import gvk_of
from runtime.source import Kind, Source

__all__ = ["Builder"]


# --------------------------------------------------------------------------- builder


@dataclass
class _Watch:
    resource: Any
    handler: EventHandler
    predicates: list[Predicate] = field(default_factory=list)
    metadata_only: bool = False
    raw: Source | None = None
    optional: bool = False


class Builder:
    """Fluent controller wiring (``builder.ControllerManagedBy(mgr)``).

    ``for_(T)`` watches ``T`` and enqueues the object itself; ``owns(U)`` watches ``U`` and
    enqueues its controller owner of type ``T``; ``watches(V, map_fn)`` enqueues whatever the
    pure ``map_fn(obj) -> [Request]`` returns (or pass any ``EventHandler``).
    ``with_event_filter(p)`` applies to all of those (not to raw sources);
    ``with_predicates(*ps)`` applies to the watch declared just before it (as Go's
    ``builder.WithPredicates`` option). ``complete(r)`` validates, builds the
    :class:`Controller` and adds it to the manager.

    Optional kinds: ``owns(U, optional=True)`` / ``watches(V, fn, optional=True)`` for kinds
    that may not be served (third-party CRDs): skipped with an INFO log while absent, watched
    once discovery shows them (checked every ``optional_recheck_period``, default 30 s, see
    ``with_options``). The reconciler asks ``await client.is_served(U)`` to decide what to
    write.

    The manager needs ``cache`` (``informer_for``), ``add(runnable)`` and
    ``register_controller_name(name)`` (uniqueness of names, which are metric labels).
    """

    def __init__(self, mgr: Any, name: str | None = None) -> None:
        self._mgr = mgr
        self._name = name
        self._for: _Watch | None = None
        self._watches: list[_Watch] = []
        self._last: _Watch | None = None
        self._global_predicates: list[Predicate] = []
        self._max_concurrent: int | None = None
        self._reconcile_timeout: float | None = None
        self._need_leader_election = True
        self._cache_sync_timeout = 120.0
        self._optional_recheck_period = 30.0
        self._new_queue: Callable[[str], WorkQueue] | None = None
        self._use_priority_queue = True
        self._errors: list[str] = []

    def named(self, name: str) -> Builder:
        self._name = name
        return self

    def for_(
        self,
        resource: Any,
        *,
        predicates: Iterable[Predicate] = (),
        metadata_only: bool = False,
    ) -> Builder:
        if self._for is not None:
            self._errors.append("for_() may only be called once")
            return self
        self._for = _Watch(resource, EnqueueRequestForObject(), list(predicates), metadata_only)
        self._last = self._for
        return self

    def owns(
        self,
        resource: Any,
        *,
        predicates: Iterable[Predicate] = (),
        match_every_owner: bool = False,
        metadata_only: bool = False,
        optional: bool = False,
    ) -> Builder:
        """Watch ``resource`` and enqueue its controlling owner of the ``for_()`` type.
        ``optional=True``: the kind may not be served (a third-party CRD); see
        :class:`~runtime.source.Kind`."""
        # The owner type is the for_() type, known only at complete(); keep a placeholder.
        w = _Watch(resource, _OwnerPlaceholder(not match_every_owner), list(predicates),
                   metadata_only, optional=optional)
        self._watches.append(w)
        self._last = w
        return self

    def watches(
        self,
        resource: Any,
        handler: MapFunc | AsyncMapFunc | EventHandler,
        *,
        predicates: Iterable[Predicate] = (),
        metadata_only: bool = False,
        optional: bool = False,
    ) -> Builder:
        """Watch ``resource`` and enqueue what ``handler`` (a map function or an
        ``EventHandler``) returns. ``optional=True``: the kind may not be served (a
        third-party CRD); see :class:`~runtime.source.Kind`."""
        h: EventHandler
        if isinstance(handler, EventHandler):
            h = handler
        elif callable(handler):
            h = EnqueueRequestsFromMapFunc(handler)
        else:
            raise TypeError("watches() needs a map function or an EventHandler")
        w = _Watch(resource, h, list(predicates), metadata_only, optional=optional)
        self._watches.append(w)
        self._last = w
        return self

    def watches_metadata(
        self, resource: Any, handler: MapFunc | AsyncMapFunc | EventHandler
    ) -> Builder:
        return self.watches(resource, handler, metadata_only=True)

    def watches_raw_source(self, source: Source) -> Builder:
        w = _Watch(None, EnqueueRequestForObject(), raw=source)
        self._watches.append(w)
        self._last = None
        return self

    def with_event_filter(self, predicate: Predicate) -> Builder:
        self._global_predicates.append(predicate)
        return self

    def with_predicates(self, *predicates: Predicate) -> Builder:
        if self._last is None:
            self._errors.append("with_predicates() must follow for_(), owns() or watches()")
        else:
            self._last.predicates.extend(predicates)
        return self

    def max_concurrent(self, n: int) -> Builder:
        self._max_concurrent = n
        return self

    def reconcile_timeout(self, seconds: float | None) -> Builder:
        self._reconcile_timeout = seconds
        return self

    def with_options(
        self,
        *,
        max_concurrent_reconciles: int | None = None,
        reconcile_timeout: float | None = None,
        need_leader_election: bool | None = None,
        cache_sync_timeout: float | None = None,
        optional_recheck_period: float | None = None,
        new_queue: Callable[[str], WorkQueue] | None = None,
        use_priority_queue: bool | None = None,
    ) -> Builder:
        if max_concurrent_reconciles is not None:
            self._max_concurrent = max_concurrent_reconciles
        if reconcile_timeout is not None:
            self._reconcile_timeout = reconcile_timeout
        if need_leader_election is not None:
            self._need_leader_election = need_leader_election
        if cache_sync_timeout is not None:
            self._cache_sync_timeout = cache_sync_timeout
        if optional_recheck_period is not None:
            self._optional_recheck_period = optional_recheck_period
        if new_queue is not None:
            self._new_queue = new_queue
        if use_priority_queue is not None:
            self._use_priority_queue = use_priority_queue
        return self

    def _controller_name(self) -> str:
        if self._name:
            return self._name
        if self._for is not None:
            return gvk_of(self._for.resource).kind.lower()
        raise ValueError(
            "one of for_() or named() must be called (the controller needs a name)"
        )

    def build(self, reconciler: Reconciler) -> Controller:
        """Validate, build the controller and add it to the manager."""
        if self._errors:
            raise ValueError("; ".join(self._errors))
        if reconciler is None:
            raise ValueError("must provide a non-nil Reconciler")
        owned = [w for w in self._watches if isinstance(w.handler, _OwnerPlaceholder)]
        if owned and self._for is None:
            raise ValueError("owns() can only be used together with for_()")
        if self._for is None and not self._watches:
            raise ValueError("there are no watches configured, controller will never get triggered")
        name = self._controller_name()
        max_c = self._max_concurrent
        if max_c is None:
            max_c = int(getattr(self._mgr, "max_concurrent_reconciles", 1) or 1)
        for_gvk = gvk_of(self._for.resource) if self._for is not None else None
        ctrl = Controller(
            name,
            reconciler,
            kind=for_gvk.kind if for_gvk else "",
            group=for_gvk.group if for_gvk else "",
            max_concurrent_reconciles=max_c,
            reconcile_timeout=self._reconcile_timeout,
            cache_sync_timeout=self._cache_sync_timeout,
            new_queue=self._new_queue,
            use_priority_queue=self._use_priority_queue,
            need_leader_election=self._need_leader_election,
        )
        cache = self._mgr.cache
        for w in ([self._for] if self._for is not None else []) + self._watches:
            if w.raw is not None:
                ctrl.watch(w.raw)
                continue
            handler = w.handler
            if isinstance(handler, _OwnerPlaceholder):
                assert self._for is not None
                handler = EnqueueRequestForOwner(
                    self._for.resource, only_controller=handler.only_controller
                )
            preds = self._global_predicates + w.predicates
            ctrl.watch(Kind(cache, w.resource, handler, preds, metadata_only=w.metadata_only,
                            optional=w.optional,
                            recheck_period=self._optional_recheck_period))
        # Register the name last, so a rejected build does not reserve it.
        self._mgr.register_controller_name(name)
        self._mgr.add(ctrl)
        return ctrl

    def complete(self, reconciler: Reconciler) -> Controller:
        return self.build(reconciler)


class _OwnerPlaceholder:
    """Stands in for ``EnqueueRequestForOwner`` until the ``for_()`` type is known."""

    def __init__(self, only_controller: bool) -> None:
        self.only_controller = only_controller

    def create(self, e: CreateEvent, q: Any) -> None:  # pragma: no cover - replaced at build
        raise NotImplementedError

    def update(self, e: UpdateEvent, q: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def delete(self, e: DeleteEvent, q: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def generic(self, e: GenericEvent, q: Any) -> None:  # pragma: no cover
        raise NotImplementedError
