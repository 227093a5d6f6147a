"""Event -> request mapping (controller-runtime's ``pkg/handler``).

A handler turns one watch event into zero or more ``Request``s on the controller's queue. The
queue dedups: many events for the same key before a worker picks it up become one reconcile.
Handlers are synchronous and must not do I/O: they run on their source's delivery task (one
per handler, see ``runtime.informer``), so a slow one delays its own controller's events.
I/O belongs in an async map function, which the delivery task runs with bounded
concurrency.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from runtime.event import (
    CreateEvent,
    DeleteEvent,
    GenericEvent,
    UpdateEvent,
    meta_name,
    meta_namespace,
    meta_owner_references,
)
from runtime.reconcile import Request
from runtime.restmapper import gvk_of, is_namespaced

__all__ = [
    "LOW_PRIORITY",
    "AsyncMapFunc",
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc",
    "EventHandler",
    "Funcs",
    "MapFunc",
    "Queue",
    "Spawner",
    "request_for",
]


LOW_PRIORITY = -100
"""Priority of events that rarely need prompt work (``handler.LowPriority``): objects of an
informer's initial list and resyncs (updates with an unchanged resourceVersion). With the
priority queue, a restart's 10k initial-list keys do not delay a new object's reconcile."""


class Queue(Protocol):
    """The part of the work queue a handler may use."""

    def add(self, item: Request) -> None: ...


@runtime_checkable
class EventHandler(Protocol):
    def create(self, e: CreateEvent, q: Queue) -> None: ...
    def update(self, e: UpdateEvent, q: Queue) -> None: ...
    def delete(self, e: DeleteEvent, q: Queue) -> None: ...
    def generic(self, e: GenericEvent, q: Queue) -> None: ...


MapFunc = Callable[[Any], Iterable[Request]]
"""A pure mapping ``obj -> [Request]`` (runs inline on the event's delivery)."""
AsyncMapFunc = Callable[[Any], Awaitable[Iterable[Request]]]
"""A mapping that may read the cache (``await client.list(...)``), like Go map functions
that take a ``ctx`` and a client; run by the handler's delivery task with bounded
concurrency (``runtime.informer.DEFAULT_HANDLER_CONCURRENCY`` at a time)."""


class Spawner(Protocol):
    """Queues handed to handlers by controller sources also run background work."""

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None: ...


def request_for(obj: Any) -> Request:
    """The ``Request`` naming ``obj`` itself."""
    return Request(meta_namespace(obj), meta_name(obj))


# --------------------------------------------------------------------------- handlers


class Funcs:
    """A handler from optional per-event functions (``handler.Funcs``)."""

    def __init__(
        self,
        create: Callable[[CreateEvent, Queue], None] | None = None,
        update: Callable[[UpdateEvent, Queue], None] | None = None,
        delete: Callable[[DeleteEvent, Queue], None] | None = None,
        generic: Callable[[GenericEvent, Queue], None] | None = None,
    ) -> None:
        self._create, self._update, self._delete, self._generic = create, update, delete, generic

    def create(self, e: CreateEvent, q: Queue) -> None:
        if self._create is not None:
            self._create(e, q)

    def update(self, e: UpdateEvent, q: Queue) -> None:
        if self._update is not None:
            self._update(e, q)

    def delete(self, e: DeleteEvent, q: Queue) -> None:
        if self._delete is not None:
            self._delete(e, q)

    def generic(self, e: GenericEvent, q: Queue) -> None:
        if self._generic is not None:
            self._generic(e, q)


class EnqueueRequestForObject:
    """Enqueues the object's own namespace/name (what ``for_()`` uses)."""

    def create(self, e: CreateEvent, q: Queue) -> None:
        if e.object is not None:
            q.add(request_for(e.object))

    def update(self, e: UpdateEvent, q: Queue) -> None:
        obj = e.object_new if e.object_new is not None else e.object_old
        if obj is not None:
            q.add(request_for(obj))

    def delete(self, e: DeleteEvent, q: Queue) -> None:
        if e.object is not None:
            q.add(request_for(e.object))

    def generic(self, e: GenericEvent, q: Queue) -> None:
        if e.object is not None:
            q.add(request_for(e.object))


class EnqueueRequestForOwner:
    """Enqueues the owner(s) of the object named in ``metadata.ownerReferences`` whose group
    and kind match ``owner_type`` (what ``owns()`` uses).

    As in Go, owners are matched on group + kind (not version), so an owner reference written
    with another served version still maps. ``only_controller=True`` (``OnlyControllerOwner``)
    follows only the reference with ``controller: true``; ``False`` (``MatchEveryOwner``)
    follows every matching reference. Updates enqueue owners of both the old and new object,
    so moving ownership wakes up both owners.
    """

    def __init__(
        self,
        owner_type: Any,
        *,
        only_controller: bool = True,
        owner_namespaced: bool | None = None,
    ) -> None:
        gvk = gvk_of(owner_type)
        self.group = gvk.group
        self.kind = gvk.kind
        self.only_controller = only_controller
        self.owner_namespaced = (
            is_namespaced(owner_type) if owner_namespaced is None else owner_namespaced
        )

    def _requests(self, obj: Any) -> set[Request]:
        out: set[Request] = set()
        if obj is None:
            return out
        ns = meta_namespace(obj) if self.owner_namespaced else ""
        for ref in meta_owner_references(obj):
            if self.only_controller and not ref.controller:
                continue
            group = ref.api_version.rpartition("/")[0]
            if ref.kind == self.kind and group == self.group:
                out.add(Request(ns, ref.name))
        return out

    def create(self, e: CreateEvent, q: Queue) -> None:
        for r in sorted(self._requests(e.object)):
            q.add(r)

    def update(self, e: UpdateEvent, q: Queue) -> None:
        for r in sorted(self._requests(e.object_old) | self._requests(e.object_new)):
            q.add(r)

    def delete(self, e: DeleteEvent, q: Queue) -> None:
        for r in sorted(self._requests(e.object)):
            q.add(r)

    def generic(self, e: GenericEvent, q: Queue) -> None:
        for r in sorted(self._requests(e.object)):
            q.add(r)


class EnqueueRequestsFromMapFunc:
    """Enqueues whatever ``map_fn(obj)`` returns (what ``watches(V, map_fn)`` uses).

    A plain ``map_fn`` must be pure and fast (no I/O): it runs on the handler's delivery task.
    An ``async def map_fn`` may read the cache; the delivery task runs it with bounded
    concurrency (the queue given to the handler must offer ``spawn``, as controller sources'
    do), and the controller counts as synced only once the initial list's mappings are done.
    For updates it is called for the old and the new object and the union is enqueued once.
    """

    def __init__(self, map_fn: MapFunc | AsyncMapFunc) -> None:
        self.map_fn = map_fn
        self.is_async = inspect.iscoroutinefunction(map_fn)

    def _map(self, *objs: Any) -> list[Request]:
        seen: dict[Request, None] = {}
        for obj in objs:
            if obj is not None:
                for r in self.map_fn(obj):  # type: ignore[union-attr]
                    seen.setdefault(r, None)
        return list(seen)

    def _dispatch(self, q: Queue, *objs: Any) -> None:
        if not self.is_async:
            for r in self._map(*objs):
                q.add(r)
            return
        spawn = getattr(q, "spawn", None)
        if spawn is None:
            raise TypeError("an async map function needs a queue with spawn() (a controller)")
        fn = self.map_fn

        async def run() -> None:
            seen: dict[Request, None] = {}
            for obj in objs:
                if obj is not None:
                    for r in await fn(obj):  # type: ignore[misc]
                        seen.setdefault(r, None)
            for r in seen:
                q.add(r)

        spawn(run)

    def create(self, e: CreateEvent, q: Queue) -> None:
        self._dispatch(q, e.object)

    def update(self, e: UpdateEvent, q: Queue) -> None:
        self._dispatch(q, e.object_old, e.object_new)

    def delete(self, e: DeleteEvent, q: Queue) -> None:
        self._dispatch(q, e.object)

    def generic(self, e: GenericEvent, q: Queue) -> None:
        self._dispatch(q, e.object)
