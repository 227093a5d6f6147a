"""Controllers: a work queue and workers fed by event sources (controller-runtime's
``pkg/controller``; the sources are in ``runtime.source``, the fluent wiring in
``runtime.builder``).

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
list or resyncs are enqueued at :data:`runtime.handler.LOW_PRIORITY`.

An exception never kills a worker: it is logged with the reconcile id, counted in
``controller_runtime_reconcile_errors_total`` and the key is retried with per-item exponential
backoff. That is every exception: Python reports failed operations by raising, where Go
returns an error.

**Panics.** ``controller_runtime_reconcile_panics_total`` counts, as in controller-runtime,
what Go would have *panicked* on, which is a bug in the program, never a failed operation:

* a reconciler returning something that is not a ``Result`` (the contract broken);
* an exception of a type that is Go's runtime panic in Python clothes (:data:`PANIC_TYPES`:
  ``AttributeError``/``TypeError`` on ``None`` or a wrong type, i.e. a nil dereference or a
  failed type assertion; ``IndexError``, out of range; ``ZeroDivisionError``;
  ``AssertionError``, an explicit ``panic``; ``NameError``; ``RecursionError``;
  ``NotImplementedError``) **raised by the program's own code**: the innermost frame of its
  traceback is neither the standard library nor another installed distribution than the
  reconciler's. A ``TypeError`` raised inside a library (pydantic, lightkube, httpx refusing
  an argument or a value) is how those libraries report a refused input, what a Go library
  would return as an error: it is counted as an error only.

Either way a panic is also an error (retried with backoff, ``reconcile_errors_total``), as
controller-runtime's ``RecoverPanic`` turns a panic into an error.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.abc

from runtime import metrics
from runtime.reconcile import Reconciler, Request, Result, TerminalError, reconcile_context
from runtime.source import Kind, Source, queue_add_opts

__all__ = [
    "FENCE_RETRY",
    "PANIC_TYPES",
    "CacheSyncTimeoutError",
    "Controller",
    "WorkQueue",
    "priority_queue",
    "rate_limiting_queue",
]

log = logging.getLogger("runtime.controller")

PANIC_TYPES: tuple[type[BaseException], ...] = (
    AssertionError,
    AttributeError,
    IndexError,
    NameError,
    NotImplementedError,
    RecursionError,
    TypeError,
    ZeroDivisionError,
)
"""Exception types that are Go runtime panics when the program's own code raises them (see
:func:`is_panic`)."""

_LIBRARY_TOPS: dict[str, bool] = {}
_DISTS: Mapping[str, list[str]] | None = None


def _distributions() -> Mapping[str, list[str]]:
    """Top-level module -> installed distributions (read once, on the first exception)."""
    global _DISTS
    if _DISTS is None:
        _DISTS = importlib.metadata.packages_distributions()
    return _DISTS


def _is_library(module: str, own: str) -> bool:
    """Whether top-level module ``module`` is the standard library or belongs to another
    installed distribution than ``own`` (the reconciler's top-level module)."""
    key = f"{module}|{own}"
    cached = _LIBRARY_TOPS.get(key)
    if cached is None:
        dists = _distributions()
        if module in sys.stdlib_module_names or module == "builtins":
            cached = True
        elif module in dists:
            cached = not set(dists[module]) & set(dists.get(own, ()))
        else:
            cached = False  # not installed: the application's own code (or its tests)
        _LIBRARY_TOPS[key] = cached
    return cached


def is_panic(err: BaseException, reconciler: Any = None) -> bool:
    """Whether ``err``, raised by ``reconciler.reconcile``, counts as a panic (module doc)."""
    if isinstance(err, _ReturnedNonResult):
        return True
    if not isinstance(err, PANIC_TYPES):
        return False
    tb = err.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", "")).partition(".")[0]
    own = type(reconciler).__module__.partition(".")[0] if reconciler is not None else ""
    return not _is_library(module, own)


class CacheSyncTimeoutError(TimeoutError):
    """A controller's sources did not sync within its ``cache_sync_timeout``; the message
    names each source and why (kind not served, list forbidden...)."""


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


def priority_queue(name: str) -> WorkQueue:
    """controller-runtime's default controller queue: the priority queue with per-item
    exponential backoff (5 ms .. 1000 s) and no global bucket."""
    from runtime.priorityqueue import PriorityQueue

    q: WorkQueue = PriorityQueue[Request](name)
    return q


def rate_limiting_queue(name: str) -> WorkQueue:
    """The classic client-go FIFO queue (``UsePriorityQueue=false``): exponential per-item
    backoff max'd with a 10 qps / burst 100 bucket."""
    from runtime.workqueue import RateLimitingQueue

    q: WorkQueue = RateLimitingQueue[Request](name=name)
    return q


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
        ``stopping`` was set first, :class:`CacheSyncTimeoutError` (naming each source that
        did not sync and why) on timeout."""
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
            reasons = []
            for src in self._sources:
                why = getattr(src, "sync_error", None)
                text = why() if callable(why) else None
                if text:
                    reasons.append(f"{src!r}: {text}")
            detail = ("; ".join(reasons) if reasons
                      else "the API server did not answer the initial lists in time")
            raise CacheSyncTimeoutError(
                f"controller {self.name!r}: timed out after {self.cache_sync_timeout}s "
                f"waiting for its sources to sync: {detail}"
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
        add_opts = queue_add_opts(queue)
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
                    if is_panic(err, self.reconciler):
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
