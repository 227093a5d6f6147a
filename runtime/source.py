"""Event sources (controller-runtime's ``pkg/source``): what puts requests on a controller's
queue.

:class:`Kind` delivers the events of one resource type from the shared cache's informer,
through predicates and an event handler; :class:`Channel` delivers generic events from an
anyio memory stream (timers, external systems, tests). A source's ``start(tg, queue)`` begins
delivery, ``wait_for_sync()`` returns once its initial state is on the queue.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.abc
import httpx2
from anyio.streams.memory import MemoryObjectReceiveStream
from lightkube.core.exceptions import ApiError

from runtime.event import (
    CreateEvent,
    DeleteEvent,
    GenericEvent,
    UpdateEvent,
    meta_resource_version,
)
from runtime.handler import (
    LOW_PRIORITY,
    EnqueueRequestForObject,
    EventHandler,
    Queue,
)
from runtime.informer import DEFAULT_HANDLER_CONCURRENCY
from runtime.predicate import Predicate
from runtime.reconcile import Request
from runtime.restmapper import NoKindMatchError

__all__ = ["Channel", "Kind", "Source"]

log = logging.getLogger(__name__)


def queue_add_opts(queue: Any) -> Callable[..., None] | None:
    fn = getattr(queue, "add_with_opts", None)
    return fn if callable(fn) else None


# --------------------------------------------------------------------------- sources


@runtime_checkable
class Source(Protocol):
    """Something that puts requests on a controller's queue (``source.Source``)."""

    async def start(self, tg: anyio.abc.TaskGroup, queue: Queue) -> None:
        """Begin delivering events to ``queue``. Must not block: long-running work goes into
        ``tg``, which is cancelled when the controller stops."""
        ...

    async def wait_for_sync(self) -> None:
        """Return once the source delivered its initial state (no-op for non-syncing sources)."""
        ...


class _SourceQueue:
    """What handlers see: the controller's queue (``add``) plus ``spawn`` for async map
    functions. ``at(priority)`` is the view for one event: its adds carry that priority on a
    priority queue. Spawned work is not started here: the adapter hands it back to whoever
    delivers the event (the informer's per-handler task), which runs it with bounded
    concurrency and counts it before reporting the handler synced."""

    __slots__ = ("_add_opts", "_priority", "_queue", "_spawned", "name")

    def __init__(
        self,
        queue: Queue,
        name: str,
        priority: int | None = None,
        spawned: list[Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        self._queue = queue
        self.name = name
        self._priority = priority
        self._add_opts = queue_add_opts(queue)
        self._spawned: list[Callable[[], Awaitable[None]]] = (
            spawned if spawned is not None else []
        )

    def at(self, priority: int | None) -> _SourceQueue:
        if priority == self._priority or self._add_opts is None:
            return self
        return _SourceQueue(self._queue, self.name, priority, self._spawned)

    def add(self, item: Request) -> None:
        if self._priority is not None and self._add_opts is not None:
            self._add_opts(item, priority=self._priority)
        else:
            self._queue.add(item)

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._spawned.append(fn)

    def take_spawned(self) -> Awaitable[None] | None:
        """The work spawned by the event just handled, as one awaitable (None if none)."""
        if not self._spawned:
            return None
        fns = list(self._spawned)
        self._spawned.clear()
        name = self.name

        async def run() -> None:
            for fn in fns:
                try:
                    await fn()
                except Exception:
                    log.exception("async map function failed", extra={"source": name})

        return run()


class _EventAdapter:
    """Informer event handler -> predicates -> controller handler -> queue.

    Exceptions from predicates, handlers and map functions are logged and swallowed: a bug in
    one mapping must not stop the informer from delivering to the others. A callback returns
    the event's async work (async map functions), or None.
    """

    __slots__ = ("handler", "name", "predicates", "queue")

    def __init__(
        self,
        handler: EventHandler,
        predicates: Sequence[Predicate],
        queue: _SourceQueue,
        name: str,
    ) -> None:
        self.handler = handler
        self.predicates = tuple(predicates)
        self.queue = queue
        self.name = name

    def on_add(self, obj: Any, is_in_initial_list: bool = False) -> Awaitable[None] | None:
        e = CreateEvent(obj, is_in_initial_list)
        try:
            if all(p.create(e) for p in self.predicates):
                q = self.queue.at(LOW_PRIORITY) if is_in_initial_list else self.queue
                self.handler.create(e, q)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "create"})
        return self.queue.take_spawned()

    def on_update(self, old: Any, new: Any) -> Awaitable[None] | None:
        e = UpdateEvent(old, new)
        try:
            if all(p.update(e) for p in self.predicates):
                unchanged = old is new or (
                    old is not None and new is not None
                    and meta_resource_version(old) == meta_resource_version(new)
                )
                q = self.queue.at(LOW_PRIORITY) if unchanged else self.queue
                self.handler.update(e, q)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "update"})
        return self.queue.take_spawned()

    def on_delete(self, obj: Any) -> Awaitable[None] | None:
        # client-go's DeletedFinalStateUnknown tombstone: {key, obj} after a relist.
        unknown = False
        inner = getattr(obj, "obj", None)
        if inner is not None and hasattr(obj, "key"):
            obj, unknown = inner, True
        e = DeleteEvent(obj, unknown)
        try:
            if all(p.delete(e) for p in self.predicates):
                self.handler.delete(e, self.queue)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "delete"})
        return self.queue.take_spawned()

    def on_generic(self, obj: Any) -> Awaitable[None] | None:
        e = GenericEvent(obj)
        try:
            if all(p.generic(e) for p in self.predicates):
                self.handler.generic(e, self.queue)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "generic"})
        return self.queue.take_spawned()


async def _maybe_await(v: Any) -> Any:
    if inspect.isawaitable(v):
        return await v
    return v


class Kind:
    """Events of one resource type from the shared cache's informer (``source.Kind``).

    The informer is looked up when the controller starts the source (not before the cache
    starts), through ``cache.informer_for``, which checks by discovery that the kind is
    served. The controller bounds :meth:`wait_for_sync` with its ``cache_sync_timeout`` and,
    when that runs out, reports :meth:`sync_error`: the kind is not served (CRD not
    installed), or its list is refused (RBAC), or the API server did not answer.

    ``optional=True`` is for kinds that may be absent (third-party CRDs: KEDA, Gateway API,
    Knative...): if the kind is not served when the source starts, the watch is skipped with
    one INFO log and the source counts as synced; discovery is asked again every
    ``recheck_period`` seconds, and once the kind is served (its CRD was installed) the watch
    starts, without a restart.
    """

    def __init__(
        self,
        cache: Any,
        resource: Any,
        handler: EventHandler,
        predicates: Sequence[Predicate] = (),
        *,
        metadata_only: bool = False,
        optional: bool = False,
        recheck_period: float = 30.0,
        concurrency: int = DEFAULT_HANDLER_CONCURRENCY,
    ) -> None:
        self.cache = cache
        self.concurrency = concurrency
        self.resource = resource
        self.handler = handler
        self.predicates = list(predicates)
        self.metadata_only = metadata_only
        self.optional = optional
        self.recheck_period = recheck_period
        self._informer: Any = None
        self._registration: Any = None
        self._ready = anyio.Event()
        self._error: str | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"Kind({getattr(self.resource, '__name__', self.resource)!r})"

    @property
    def watching(self) -> bool:
        """Whether the informer's events are being delivered (False while an optional kind
        is not served)."""
        return self._informer is not None

    async def start(self, tg: anyio.abc.TaskGroup, queue: Queue) -> None:
        if self._started:
            raise RuntimeError(f"{self!r} was already started")
        self._started = True
        adapter = _EventAdapter(self.handler, self.predicates,
                                _SourceQueue(queue, repr(self)), repr(self))
        tg.start_soon(self._run, adapter, name=f"source {self!r}")

    async def _run(self, adapter: _EventAdapter) -> None:
        skipped = False
        retry = 0.5
        while True:
            try:
                inf = await self.cache.informer_for(self.resource,
                                                    metadata_only=self.metadata_only)
                break
            except NoKindMatchError as e:
                self._error = str(e)
                if not self.optional:
                    # the mapper asks discovery again at most every few seconds
                    await anyio.sleep(1.0)
                    continue
                if not skipped:
                    log.info("%s: kind not served, watch skipped; checking again every %ss",
                             self, self.recheck_period, extra={"error": str(e)})
                    skipped = True
                    self._ready.set()  # nothing to sync
                await anyio.sleep(self.recheck_period)
            except (ApiError, httpx2.HTTPError, OSError) as e:  # discovery failed: try again
                self._error = f"discovery failed: {type(e).__name__}: {e}"
                log.warning("%s: %s; retrying in %.1fs", self, self._error, retry)
                await anyio.sleep(retry)
                retry = min(retry * 2, 30.0)
        if skipped:
            log.info("%s: kind is served now: watching it", self)
        self._error = None
        self._registration = inf.add_event_handler(adapter, concurrency=self.concurrency)
        self._informer = inf
        self._ready.set()
        try:
            await anyio.sleep_forever()
        finally:  # the controller stops: stop delivering to it (the informer stays shared)
            remove = getattr(inf, "remove_event_handler", None)
            if remove is not None and self._registration is not None:
                remove(self._registration)

    async def wait_for_sync(self) -> None:
        """Return once the initial list of the kind has been delivered to the handler (or at
        once for an optional kind that is not served)."""
        if not self._started:
            raise RuntimeError(f"{self!r}: wait_for_sync() before start()")
        await self._ready.wait()
        if self._informer is None:
            return
        wait = getattr(self._registration, "wait_for_sync", None)
        if wait is not None:
            await wait()
        else:  # an informer that returns no registration (test doubles)
            await _maybe_await(self._informer.wait_for_sync())

    def sync_error(self) -> str | None:
        """Why the source has not synced (see the class doc), or None if nothing failed."""
        if self._error is not None:
            return self._error
        inf = self._informer
        fn = getattr(inf, "sync_error", None)
        return fn() if fn is not None else None


class Channel:
    """Generic events from an anyio memory stream (``source.Channel``): for triggers that do
    not come from the API server (timers, external systems, tests)."""

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[Any],
        handler: EventHandler | None = None,
        predicates: Sequence[Predicate] = (),
        *,
        concurrency: int = DEFAULT_HANDLER_CONCURRENCY,
    ) -> None:
        self.concurrency = concurrency
        self.receive = receive
        self.handler: EventHandler = handler or EnqueueRequestForObject()
        self.predicates = list(predicates)

    async def start(self, tg: anyio.abc.TaskGroup, queue: Queue) -> None:
        adapter = _EventAdapter(
            self.handler, self.predicates, _SourceQueue(queue, "Channel"), "Channel"
        )
        slots = anyio.Semaphore(self.concurrency)

        async def finish(aw: Awaitable[None]) -> None:
            try:
                await aw
            finally:
                slots.release()

        async def pump() -> None:
            async with self.receive:
                async for obj in self.receive:
                    aw = adapter.on_generic(obj)
                    if aw is not None:
                        await slots.acquire()  # bounded: the channel waits, not a new task
                        tg.start_soon(finish, aw)

        tg.start_soon(pump)

    async def wait_for_sync(self) -> None:
        return None
