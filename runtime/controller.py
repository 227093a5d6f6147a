"""Controllers: a work queue, workers and event sources (controller-runtime's ``pkg/controller``
and ``pkg/builder``).

A :class:`Controller` owns one rate-limiting work queue. Sources (informers of the shared
cache, channels) turn watch events into ``Request``s on that queue through handlers and
predicates; ``max_concurrent_reconciles`` workers take requests off the queue and call the
reconciler. The queue guarantees a key is never handed to two workers at once, so a reconciler
never runs concurrently for the same object.

What happens after a reconcile is the outcome table of controller-runtime
(``pkg/internal/controller/controller.go``), reproduced exactly:

============================  ===============================  ===========================
reconcile                      queue                            reconcile_total{result}
============================  ===============================  ===========================
raises ``TerminalError``       nothing                          error (+ terminal, errors)
raises anything else           ``add_rate_limited``             error (+ errors)
``Result(requeue_after=d>0)``  ``forget`` then ``add_after(d)``  requeue_after
``Result(requeue=True)``       ``add_rate_limited``             requeue
``Result()``                   ``forget``                       success
============================  ===============================  ===========================

On controller-runtime's default priority queue (ours too) the requeues above keep the
request's priority (``add_with_opts(..., priority=p)``), and events from an informer's initial
list or resyncs are enqueued at :data:`LOW_PRIORITY`.

An exception never kills a worker: it is logged with the reconcile id, counted, and the key
is retried with per-item exponential backoff. "Panics" (Go's recovered panics) are the
exceptions that denote a programming error rather than a failed operation
(:data:`PANIC_TYPES`, or a reconciler returning something that is not a ``Result``): they are
counted in ``controller_runtime_reconcile_panics_total`` and otherwise handled as errors.

:class:`Builder` is the fluent wiring: ``Builder(mgr).for_(T).owns(U).watches(V, map_fn)
.with_event_filter(p).max_concurrent(n).complete(reconciler)``.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream

from runtime import metrics
from runtime.event import (
    CreateEvent,
    DeleteEvent,
    GenericEvent,
    UpdateEvent,
    meta_resource_version,
)
from runtime.handler import (
    AsyncMapFunc,
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventHandler,
    MapFunc,
    gvk_of,
)
from runtime.predicate import Predicate
from runtime.reconcile import Reconciler, Request, Result, TerminalError, reconcile_context

__all__ = [
    "LOW_PRIORITY",
    "PANIC_TYPES",
    "Builder",
    "Channel",
    "Controller",
    "Kind",
    "Source",
    "WorkQueue",
    "priority_queue",
    "rate_limiting_queue",
]

log = logging.getLogger("runtime.controller")

PANIC_TYPES: tuple[type[BaseException], ...] = (
    AssertionError,
    AttributeError,
    NameError,
    TypeError,
    RecursionError,
    NotImplementedError,
)
"""Exceptions counted as reconcile *panics*: bugs, not failed operations."""


class _ReturnedNonResult(TypeError):
    """The reconciler returned something other than a ``Result`` (a bug: counted as a panic)."""


# --------------------------------------------------------------------------- queue contract


@runtime_checkable
class WorkQueue(Protocol):
    """The client-go rate-limiting work queue operations a controller uses
    (implemented by ``runtime.workqueue.RateLimitingQueue``)."""

    def add(self, item: Request) -> None: ...
    def add_after(self, item: Request, seconds: float) -> None: ...
    def add_rate_limited(self, item: Request) -> None: ...
    def forget(self, item: Request) -> None: ...
    def num_requeues(self, item: Request) -> int: ...
    async def get(self) -> tuple[Request | None, bool]: ...
    def done(self, item: Request) -> None: ...
    def shut_down(self) -> None: ...
    def shutting_down(self) -> bool: ...


FENCE_RETRY = 0.5
"""Seconds before a key held back by the leader fence is tried again."""

LOW_PRIORITY = -100
"""Priority of events that rarely need prompt work (``handler.LowPriority``): objects of an
informer's initial list and resyncs (updates with an unchanged resourceVersion). With the
priority queue, a restart's 10k initial-list keys do not delay a new object's reconcile."""


def priority_queue(name: str) -> WorkQueue:
    """controller-runtime's default controller queue: the priority queue with per-item
    exponential backoff (5 ms .. 1000 s) and no global bucket."""
    from runtime.workqueue import PriorityQueue

    q: WorkQueue = PriorityQueue[Request](name)
    return q


def rate_limiting_queue(name: str) -> WorkQueue:
    """The classic client-go FIFO queue (``UsePriorityQueue=false``): exponential per-item
    backoff max'd with a 10 qps / burst 100 bucket."""
    from runtime.workqueue import RateLimitingQueue

    q: WorkQueue = RateLimitingQueue[Request](name=name)
    return q


def _add_opts(queue: Any) -> Callable[..., None] | None:
    fn = getattr(queue, "add_with_opts", None)
    return fn if callable(fn) else None


# --------------------------------------------------------------------------- sources


@runtime_checkable
class Source(Protocol):
    """Something that puts requests on a controller's queue (``source.Source``)."""

    async def start(self, tg: anyio.abc.TaskGroup, queue: WorkQueue) -> None:
        """Begin delivering events to ``queue``. Must not block: long-running work goes into
        ``tg``, which is cancelled when the controller stops."""
        ...

    async def wait_for_sync(self) -> None:
        """Return once the source delivered its initial state (no-op for non-syncing sources)."""
        ...


class _SourceQueue:
    """What handlers see: the controller's queue (``add``) plus ``spawn`` for async map
    functions, whose tasks live in the controller's source group. ``at(priority)`` is the view
    for one event: its adds carry that priority on a priority queue."""

    __slots__ = ("_add_opts", "_priority", "_queue", "_tg", "name")

    def __init__(
        self,
        queue: WorkQueue,
        tg: anyio.abc.TaskGroup,
        name: str,
        priority: int | None = None,
    ) -> None:
        self._queue = queue
        self._tg = tg
        self.name = name
        self._priority = priority
        self._add_opts = _add_opts(queue)

    def at(self, priority: int | None) -> _SourceQueue:
        if priority == self._priority or self._add_opts is None:
            return self
        return _SourceQueue(self._queue, self._tg, self.name, priority)

    def add(self, item: Request) -> None:
        if self._priority is not None and self._add_opts is not None:
            self._add_opts(item, priority=self._priority)
        else:
            self._queue.add(item)

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            try:
                await fn()
            except Exception:
                log.exception("async map function failed", extra={"source": self.name})

        self._tg.start_soon(guarded)


class _EventAdapter:
    """Informer event handler -> predicates -> controller handler -> queue.

    Exceptions from predicates, handlers and map functions are logged and swallowed: a bug in
    one mapping must not stop the informer from delivering to the others.
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

    def on_add(self, obj: Any, is_in_initial_list: bool = False) -> None:
        e = CreateEvent(obj, is_in_initial_list)
        try:
            if all(p.create(e) for p in self.predicates):
                q = self.queue.at(LOW_PRIORITY) if is_in_initial_list else self.queue
                self.handler.create(e, q)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "create"})

    def on_update(self, old: Any, new: Any) -> None:
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

    def on_delete(self, obj: Any) -> None:
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

    def on_generic(self, obj: Any) -> None:
        e = GenericEvent(obj)
        try:
            if all(p.generic(e) for p in self.predicates):
                self.handler.generic(e, self.queue)
        except Exception:
            log.exception("event handler failed", extra={"source": self.name, "event": "generic"})


async def _maybe_await(v: Any) -> Any:
    if inspect.isawaitable(v):
        return await v
    return v


class Kind:
    """Events of one resource type from the shared cache's informer (``source.Kind``)."""

    def __init__(
        self,
        cache: Any,
        resource: Any,
        handler: EventHandler,
        predicates: Sequence[Predicate] = (),
        *,
        metadata_only: bool = False,
    ) -> None:
        self.cache = cache
        self.resource = resource
        self.handler = handler
        self.predicates = list(predicates)
        self.metadata_only = metadata_only
        self._informer: Any = None

    def __repr__(self) -> str:
        return f"Kind({getattr(self.resource, '__name__', self.resource)!r})"

    def prepare(self) -> None:
        """Register the informer with the cache now (before the manager starts the cache), so
        the manager's "caches synced" step covers it and a replica waiting for leadership
        keeps it warm (controller-runtime's ``EnableWarmup``): failover then needs no list."""
        self.cache.get_informer(self.resource, metadata_only=self.metadata_only)

    async def start(self, tg: anyio.abc.TaskGroup, queue: WorkQueue) -> None:
        inf = await _maybe_await(
            self.cache.get_informer(self.resource, metadata_only=self.metadata_only)
        )
        self._informer = inf
        sq = _SourceQueue(queue, tg, repr(self))
        inf.add_event_handler(_EventAdapter(self.handler, self.predicates, sq, repr(self)))

    async def wait_for_sync(self) -> None:
        inf = self._informer
        if inf is None:
            raise RuntimeError(f"{self!r}: wait_for_sync() before start()")
        for attr in ("wait_for_sync", "wait_for_cache_sync"):
            fn = getattr(inf, attr, None)
            if fn is not None:
                ok = await _maybe_await(fn())
                if ok is False:
                    raise RuntimeError(f"{self!r}: informer failed to sync")
                return
        fn = getattr(self.cache, "wait_for_cache_sync", None)
        if fn is not None:
            await _maybe_await(fn())


class Channel:
    """Generic events from an anyio memory stream (``source.Channel``): for triggers that do
    not come from the API server (timers, external systems, tests)."""

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[Any],
        handler: EventHandler | None = None,
        predicates: Sequence[Predicate] = (),
    ) -> None:
        self.receive = receive
        self.handler: EventHandler = handler or EnqueueRequestForObject()
        self.predicates = list(predicates)

    async def start(self, tg: anyio.abc.TaskGroup, queue: WorkQueue) -> None:
        adapter = _EventAdapter(
            self.handler, self.predicates, _SourceQueue(queue, tg, "Channel"), "Channel"
        )

        async def pump() -> None:
            async with self.receive:
                async for obj in self.receive:
                    adapter.on_generic(obj)

        tg.start_soon(pump)

    async def wait_for_sync(self) -> None:
        return None


# --------------------------------------------------------------------------- controller


class _ControllerMetrics:
    """One controller's labelled metric children, resolved once: ``labels()`` costs more than
    the increment itself on the per-reconcile path."""

    __slots__ = ("active", "errors", "panics", "result_error", "result_requeue",
                 "result_requeue_after", "result_success", "terminal", "time")

    def __init__(self, name: str) -> None:
        total = metrics.RECONCILE_TOTAL
        self.result_success = total.labels(controller=name, result="success")
        self.result_error = total.labels(controller=name, result="error")
        self.result_requeue = total.labels(controller=name, result="requeue")
        self.result_requeue_after = total.labels(controller=name, result="requeue_after")
        self.errors = metrics.RECONCILE_ERRORS_TOTAL.labels(controller=name)
        self.terminal = metrics.TERMINAL_RECONCILE_ERRORS_TOTAL.labels(controller=name)
        self.panics = metrics.RECONCILE_PANICS_TOTAL.labels(controller=name)
        self.time = metrics.RECONCILE_TIME_SECONDS.labels(controller=name)
        self.active = metrics.ACTIVE_WORKERS.labels(controller=name)



class Controller:
    """A named reconcile loop (``controller.Controller``); a manager ``Runnable``.

    Started with :meth:`start`, which returns after ``stopping`` is set and the in-flight
    reconciles finished (the queue is shut down first and no new reconcile starts: keys still
    queued are dropped, as with controller-runtime's default priority queue). The manager
    bounds that wait with its graceful shutdown timeout by cancelling.
    """

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        max_concurrent_reconciles: int = 1,
        reconcile_timeout: float | None = None,
        cache_sync_timeout: float = 120.0,
        queue: WorkQueue | None = None,
        new_queue: Callable[[str], WorkQueue] | None = None,
        use_priority_queue: bool = True,
        need_leader_election: bool = True,
        kind: str = "",
        group: str = "",
    ) -> None:
        if not name:
            raise ValueError("a controller needs a name")
        if max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be >= 1")
        if reconcile_timeout is not None and not reconcile_timeout > 0:
            raise ValueError("reconcile_timeout must be > 0 (or None)")
        if not callable(getattr(reconciler, "reconcile", None)):
            raise TypeError(f"{reconciler!r} has no reconcile() method")
        self.name = name
        self.kind = kind
        self.group = group
        self.reconciler = reconciler
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.reconcile_timeout = reconcile_timeout
        self.cache_sync_timeout = cache_sync_timeout
        self._new_queue = new_queue or (
            priority_queue if use_priority_queue else rate_limiting_queue
        )
        self._queue = queue
        self._need_leader_election = need_leader_election
        self._sources: list[Source] = []
        self._started = False
        self._stopping = False
        self._m: _ControllerMetrics | None = None
        self._fence: Callable[[], bool] | None = None
        self.synced = anyio.Event()
        """Set once every source synced and the workers started."""

    @property
    def queue(self) -> WorkQueue:
        if self._queue is None:
            self._queue = self._new_queue(self.name)
        return self._queue

    def need_leader_election(self) -> bool:
        return self._need_leader_election

    def set_leader_fence(self, fence: Callable[[], bool] | None) -> None:
        """``fence()`` is asked before every reconcile; False means "this replica cannot be
        sure it still holds the lease" (e.g. it was frozen past the renew deadline), so the
        reconcile does not start and the key is retried shortly. The manager installs it on
        leader-elected controllers. Beyond controller-runtime, which keeps reconciling until
        the elector gives up (a split-brain window after a pause)."""
        self._fence = fence

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(self._sources)

    def watched_resources(self) -> list[tuple[Any, bool]]:
        """``(resource type, metadata_only)`` of every cache-backed source: what this
        controller lists and watches (the RBAC it needs: get/list/watch)."""
        return [(s.resource, s.metadata_only) for s in self._sources if isinstance(s, Kind)]

    def watch(self, source: Source) -> None:
        """Add an event source; only before :meth:`start` (``Controller.Watch``)."""
        if self._started:
            raise RuntimeError(f"controller {self.name!r}: watch() after start()")
        self._sources.append(source)

    async def start(self, stopping: anyio.Event | None = None) -> None:
        """Run until ``stopping`` is set (or the calling scope is cancelled).

        Order, as in controller-runtime: sources start first and each waits for its cache to
        sync (bounded by ``cache_sync_timeout``); only then do the workers start. On stop the
        queue is shut down, in-flight reconciles finish, then the sources stop.
        """
        if self._started:
            raise RuntimeError(f"controller {self.name!r} was already started")
        self._started = True
        stopping = stopping or anyio.Event()
        queue = self.queue
        metrics.init_controller_metrics(self.name, self.max_concurrent_reconciles)
        self._m = _ControllerMetrics(self.name)
        log.info("Starting EventSource", extra={"controller": self.name,
                                                "sources": [repr(s) for s in self._sources]})
        # anyio task groups wrap errors in ExceptionGroups; keep start()'s own errors plain.
        error: Exception | None = None
        try:
            async with anyio.create_task_group() as sources_tg:
                try:
                    await self._run(sources_tg, queue, stopping)
                except Exception as e:
                    error = e
                sources_tg.cancel_scope.cancel()
        finally:
            queue.shut_down()
        if error is not None:
            raise error

    async def _run(
        self, sources_tg: anyio.abc.TaskGroup, queue: WorkQueue, stopping: anyio.Event
    ) -> None:
        for src in self._sources:
            await src.start(sources_tg, queue)
        log.info("Starting Controller", extra={"controller": self.name})
        if not await self._wait_for_sync(stopping):
            return
        log.info(
            "Starting workers",
            extra={"controller": self.name, "worker count": self.max_concurrent_reconciles},
        )
        async with anyio.create_task_group() as workers:
            for _ in range(self.max_concurrent_reconciles):
                workers.start_soon(self._worker)
            self.synced.set()
            await stopping.wait()
            log.info(
                "Shutdown signal received, waiting for all workers to finish",
                extra={"controller": self.name},
            )
            self._stopping = True
            queue.shut_down()
        log.info("All workers finished", extra={"controller": self.name})

    async def _wait_for_sync(self, stopping: anyio.Event) -> bool:
        """Wait for every source to sync, bounded by ``cache_sync_timeout``; False if
        ``stopping`` was set first, ``TimeoutError`` on timeout."""
        outcome: list[str] = []

        async def waiter(tg: anyio.abc.TaskGroup) -> None:
            with anyio.move_on_after(self.cache_sync_timeout) as scope:
                for src in self._sources:
                    await src.wait_for_sync()
            outcome.append("timeout" if scope.cancelled_caught else "synced")
            tg.cancel_scope.cancel()

        async def stopper(tg: anyio.abc.TaskGroup) -> None:
            await stopping.wait()
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter, tg)
            tg.start_soon(stopper, tg)
        if outcome == ["timeout"]:
            raise TimeoutError(
                f"controller {self.name!r}: timed out waiting for cache to be synced "
                f"after {self.cache_sync_timeout}s"
            )
        return outcome == ["synced"]

    async def _worker(self) -> None:
        queue = self.queue
        get_with_priority = getattr(queue, "get_with_priority", None)
        priority = 0
        while True:
            if get_with_priority is not None:
                req, priority, shutdown = await get_with_priority()
            else:
                req, shutdown = await queue.get()
            if shutdown or req is None:
                return
            if self._stopping:
                # As controller-runtime's (default) priority queue: after shutdown no new
                # reconcile starts; keys still queued are dropped, not drained.
                queue.done(req)
                return
            try:
                await self.reconcile_handler(req, priority)
            finally:
                queue.done(req)

    async def reconcile_handler(self, req: Request, priority: int = 0) -> None:
        """Reconcile one request and apply the outcome table (never raises, except
        cancellation of the worker itself). Requeues keep the request's ``priority`` on a
        priority queue."""
        m = self._m
        if m is None:
            m = self._m = _ControllerMetrics(self.name)
        name = self.name
        queue = self.queue
        add_opts = _add_opts(queue)
        fence = self._fence
        if fence is not None and not fence():
            log.warning("not reconciling %s: leadership not confirmed", req,
                        extra={"controller": name})
            if add_opts is not None:
                add_opts(req, after=FENCE_RETRY, priority=priority)
            else:
                queue.add_after(req, FENCE_RETRY)
            return
        m.active.inc()
        start = time.monotonic()
        try:
            with reconcile_context(name, req, kind=self.kind, group=self.group):
                try:
                    result = await self._call_reconciler(req)
                except TerminalError as err:
                    m.terminal.inc()
                    m.errors.inc()
                    m.result_error.inc()
                    log.error("Reconciler error (terminal, not requeued): %s", err,
                              exc_info=True)
                    return
                except Exception as err:
                    if isinstance(err, PANIC_TYPES):
                        m.panics.inc()
                    m.errors.inc()
                    m.result_error.inc()
                    if add_opts is not None:
                        add_opts(req, rate_limited=True, priority=priority)
                    else:
                        queue.add_rate_limited(req)
                    log.error("Reconciler error: %s", err, exc_info=True,
                              extra={"requeues": queue.num_requeues(req)})
                    return
                ra = result.requeue_after
                if ra is not None and ra > 0 and math.isfinite(ra):
                    queue.forget(req)
                    if add_opts is not None:
                        add_opts(req, after=ra, priority=priority)
                    else:
                        queue.add_after(req, ra)
                    m.result_requeue_after.inc()
                elif result.requeue:
                    if add_opts is not None:
                        add_opts(req, rate_limited=True, priority=priority)
                    else:
                        queue.add_rate_limited(req)
                    m.result_requeue.inc()
                else:
                    queue.forget(req)
                    m.result_success.inc()
        finally:
            m.time.observe(time.monotonic() - start)
            m.active.dec()

    async def _call_reconciler(self, req: Request) -> Result:
        timeout = self.reconcile_timeout
        if timeout is None:
            result = await self.reconciler.reconcile(req)
        else:
            with anyio.move_on_after(timeout) as scope:
                result = await self.reconciler.reconcile(req)
            if scope.cancelled_caught:
                metrics.RECONCILE_TIMEOUTS_TOTAL.labels(controller=self.name).inc()  # rare
                raise TimeoutError(f"reconcile of {req} exceeded {timeout}s")
        if not isinstance(result, Result):
            raise _ReturnedNonResult(
                f"reconcile() returned {type(result).__name__}, expected Result"
            )
        return result


# --------------------------------------------------------------------------- builder


@dataclass
class _Watch:
    resource: Any
    handler: EventHandler
    predicates: list[Predicate] = field(default_factory=list)
    metadata_only: bool = False
    raw: Source | None = None


class Builder:
    """Fluent controller wiring (``builder.ControllerManagedBy(mgr)``).

    ``for_(T)`` watches ``T`` and enqueues the object itself; ``owns(U)`` watches ``U`` and
    enqueues its controller owner of type ``T``; ``watches(V, map_fn)`` enqueues whatever the
    pure ``map_fn(obj) -> [Request]`` returns (or pass any ``EventHandler``).
    ``with_event_filter(p)`` applies to all of those (not to raw sources);
    ``with_predicates(*ps)`` applies to the watch declared just before it (as Go's
    ``builder.WithPredicates`` option). ``complete(r)`` validates, builds the
    :class:`Controller` and adds it to the manager.

    The manager needs ``cache`` (``get_informer``), ``add(runnable)`` and
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
    ) -> Builder:
        # The owner type is the for_() type, known only at complete(); keep a placeholder.
        w = _Watch(resource, _OwnerPlaceholder(not match_every_owner), list(predicates),
                   metadata_only)
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
    ) -> Builder:
        h: EventHandler
        if isinstance(handler, EventHandler):
            h = handler
        elif callable(handler):
            h = EnqueueRequestsFromMapFunc(handler)
        else:
            raise TypeError("watches() needs a map function or an EventHandler")
        w = _Watch(resource, h, list(predicates), metadata_only)
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
            kind = Kind(cache, w.resource, handler, preds, metadata_only=w.metadata_only)
            kind.prepare()
            ctrl.watch(kind)
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
