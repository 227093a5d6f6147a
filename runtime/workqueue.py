"""client-go's work queue (``k8s.io/client-go/util/workqueue``), for one anyio event loop.

Three layers, as in client-go:

:class:`Queue`
    ``queue`` (FIFO of keys to hand out) + ``dirty`` (keys that need processing) +
    ``processing`` (keys handed out and not yet ``done``). Consequences, all tested:

    * a key added N times before a worker takes it is handed out once;
    * a key is never handed out while it is processing (so N workers never run it twice at once);
    * a key added while processing is handed out once more after ``done``;
    * after ``shut_down`` adds are ignored, queued keys are still handed out, then ``get``
      reports shutdown.

:class:`DelayingQueue`
    ``add_after(key, seconds)``: the key is added once the delay has passed; for a key already
    waiting the earliest ready time wins.

:class:`RateLimitingQueue`
    ``add_rate_limited(key)`` = ``add_after(key, rate_limiter.when(key))``; ``forget``;
    ``num_requeues``.

Typical worker (what a controller does)::

    while True:
        key, shutdown = await queue.get()
        if shutdown:
            return
        try:
            ...                        # reconcile key
            queue.forget(key)          # success: reset its backoff
        except Exception:
            queue.add_rate_limited(key)
        finally:
            queue.done(key)

Differences from client-go, on purpose:

* No goroutines: there is no background task to start or stop. Keys whose ``add_after`` delay
  has passed are moved into the FIFO lazily, by whichever call looks next (``add``, ``get``,
  ``done``, ``len``), before doing its own work, so hand-out order is the same as client-go's
  waiting loop would give; a getter blocked on an empty queue sleeps exactly until the earliest
  ready time (no 10 s heartbeat needed). So while every worker is busy, a delayed key whose
  time has come shows in ``workqueue_depth`` / ``workqueue_adds_total`` only at that next
  call; its queue latency is still measured from its ready time, as in client-go.
* ``workqueue_unfinished_work_seconds`` and ``workqueue_longest_running_processor_seconds``
  are computed when scraped instead of every 500 ms.
* Not thread-safe: use it from the event loop that owns it (a thread must hop onto the loop,
  e.g. ``anyio.from_thread.run_sync(queue.add, key)``).

Metrics (names, labels and buckets of controller-runtime's provider, see ``runtime.metrics``)
are recorded when the queue has a non-empty ``name``, as in client-go.

controller-runtime's priority queue, the controllers' default, is :mod:`runtime.priorityqueue`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import weakref
from collections import deque
from collections.abc import AsyncIterator, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import anyio
import anyio.lowlevel

from runtime import metrics as _m
from runtime.clock import REAL_CLOCK, Clock
from runtime.ratelimiter import RateLimiter, default_controller_rate_limiter

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Gauge, Histogram

__all__ = ["DelayingQueue", "Queue", "RateLimitingQueue"]

T = TypeVar("T", bound=Hashable)

# How many consecutive non-blocking gets may run before get() yields to the event loop once.
# Yielding on every call would cost ~10x the queue's own work; never yielding would let a
# worker loop that never awaits anything else starve every other task.
_YIELD_EVERY = 64


def _unregistered_gauge() -> Gauge:
    from prometheus_client import Gauge

    return Gauge("workqueue_depth_unused", "not exported", registry=None)


class _QueueMetrics(Generic[T]):
    """client-go ``defaultQueueMetrics`` bound to c-r's metric vectors for one queue name."""

    __slots__ = (
        "__weakref__",
        "add_times",
        "adds",
        "clock",
        "depth",
        "latency",
        "processing_start",
        "retries",
        "work_duration",
    )

    def __init__(self, name: str, clock: Clock, *, plain_depth: bool = True) -> None:
        self.clock = clock
        # The priority queue labels depth per priority instead: no priority="" series for it.
        self.depth: Gauge = (
            _m.WORKQUEUE_DEPTH.labels(name, name, "") if plain_depth else _unregistered_gauge()
        )
        self.adds: Counter = _m.WORKQUEUE_ADDS_TOTAL.labels(name, name)
        self.latency: Histogram = _m.WORKQUEUE_QUEUE_DURATION_SECONDS.labels(name, name)
        self.work_duration: Histogram = _m.WORKQUEUE_WORK_DURATION_SECONDS.labels(name, name)
        self.retries: Counter = _m.WORKQUEUE_RETRIES_TOTAL.labels(name, name)
        self.add_times: dict[T, float] = {}
        self.processing_start: dict[T, float] = {}
        ref = weakref.ref(self)

        def unfinished() -> float:
            me = ref()
            return me.unfinished_work()[0] if me is not None else 0.0

        def longest() -> float:
            me = ref()
            return me.unfinished_work()[1] if me is not None else 0.0

        _m.WORKQUEUE_UNFINISHED_WORK_SECONDS.labels(name, name).set_function(unfinished)
        _m.WORKQUEUE_LONGEST_RUNNING_PROCESSOR_SECONDS.labels(name, name).set_function(longest)

    def unfinished_work(self) -> tuple[float, float]:
        """(sum of ages, oldest age) of in-flight items. May run on a scrape thread: the list()
        copy is a single C call under the GIL, so it cannot see the dict mid-change."""
        now = self.clock.now()
        total = 0.0
        oldest = 0.0
        for start in list(self.processing_start.values()):
            age = now - start
            total += age
            if age > oldest:
                oldest = age
        return total, oldest


class Queue(Generic[T]):
    """client-go ``workqueue.Typed``: a deduplicating FIFO that never hands a key out twice at
    once. ``name`` labels its metrics (empty: no metrics)."""

    def __init__(self, name: str = "", *, clock: Clock = REAL_CLOCK) -> None:
        self.name = name
        self._clock = clock
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiters: deque[anyio.Event] = deque()
        self._shutting_down = False
        self._drain = False
        self._drained: anyio.Event | None = None
        self._fast_gets = 0
        # Delaying queue state lives here so the hot paths test one attribute (a falsy list)
        # instead of dispatching through an overridable hook.
        self._waiting: list[tuple[float, int, T]] = []
        self._metrics: _QueueMetrics[T] | None = _QueueMetrics(name, clock) if name else None

    # ------------------------------------------------------------------ core operations
    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing (client-go ``Add``)."""
        if self._waiting:
            self._promote_ready()
        self._add(item)

    def _add(self, item: T, added_at: float | None = None) -> None:
        """``added_at``: when a delayed key became ready (client-go's waiting loop adds it
        then, so its queue latency starts then, not at the lazy promotion)."""
        if self._shutting_down or item in self._dirty:
            # client-go also calls queue.Touch here, a no-op for the plain FIFO.
            return
        m = self._metrics
        if m is not None:
            m.adds.inc()
            m.depth.inc()
            if item not in m.add_times:
                m.add_times[item] = m.clock.now() if added_at is None else added_at
        self._dirty.add(item)
        if item in self._processing:
            return  # queued again by done()
        self._queue.append(item)
        if self._waiters:
            self._signal()

    async def get(self) -> tuple[T | None, bool]:
        """Wait for the next key; return ``(key, False)``, or ``(None, True)`` once the queue
        is shutting down and empty (client-go ``Get``). The caller must call ``done(key)``."""
        if self._waiting:
            self._promote_ready()
        queue = self._queue
        if queue and not self._shutting_down:
            self._fast_gets += 1
            if self._fast_gets >= _YIELD_EVERY:
                self._fast_gets = 0
                await anyio.lowlevel.checkpoint()  # before taking, so cancellation loses nothing
        if not queue:
            await self._wait_for_item()
            if not queue:
                return None, True
        item = queue.popleft()
        m = self._metrics
        if m is not None:
            m.depth.dec()
            now = m.clock.now()
            m.processing_start[item] = now
            t = m.add_times.pop(item, None)
            if t is not None:
                m.latency.observe(now - t)
        self._processing.add(item)
        self._dirty.discard(item)
        return item, False

    def done(self, item: T) -> None:
        """Mark ``item`` as processed; if it was added meanwhile, queue it again (client-go
        ``Done``)."""
        if self._waiting:
            self._promote_ready()
        m = self._metrics
        if m is not None:
            t = m.processing_start.pop(item, None)
            if t is not None:
                m.work_duration.observe(m.clock.now() - t)
        processing = self._processing
        processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            if self._waiters:
                self._signal()
        if not processing and self._drained is not None:
            self._drained.set()

    def __len__(self) -> int:
        """Number of keys ready to be handed out (client-go ``Len``)."""
        if self._waiting:
            self._promote_ready()
        return len(self._queue)

    def len(self) -> int:
        """Alias of ``len(queue)`` for client-go readers."""
        return self.__len__()

    @property
    def processing(self) -> int:
        """Number of keys handed out and not yet done."""
        return len(self._processing)

    def shut_down(self) -> None:
        """Stop accepting adds; getters drain what is queued and then see shutdown
        (client-go ``ShutDown``). Does not wait for in-flight items."""
        self._drain = False
        self._shutting_down = True
        self._waiting.clear()
        self._wake_all()
        if self._drained is not None:
            self._drained.set()  # a pending shut_down_with_drain stops waiting, as in Go

    async def shut_down_with_drain(self) -> None:
        """``shut_down`` and then wait until every handed-out item is ``done``
        (client-go ``ShutDownWithDrain``). A later ``shut_down()`` ends the wait early."""
        self._drain = True
        self._shutting_down = True
        self._waiting.clear()
        self._wake_all()
        while self._processing and self._drain:
            self._drained = anyio.Event()
            await self._drained.wait()
        self._drained = None

    def shutting_down(self) -> bool:
        return self._shutting_down

    async def __aiter__(self) -> AsyncIterator[T]:
        """``async for key in queue`` until shutdown; the body must still call ``done(key)``."""
        while True:
            item, shutdown = await self.get()
            if shutdown:
                return
            yield cast(T, item)

    # ------------------------------------------------------------------ waiting
    def _signal(self) -> None:
        """Wake one getter (sync.Cond.Signal)."""
        waiters = self._waiters
        while waiters:
            ev = waiters.popleft()
            if not ev.is_set():
                ev.set()
                return

    def _wake_all(self) -> None:
        waiters = self._waiters
        while waiters:
            waiters.popleft().set()

    def _next_ready_in(self) -> float | None:
        """Seconds until the earliest delayed key is ready, if any (DelayingQueue)."""
        return None

    async def _wait_for_item(self) -> None:
        """Block until the FIFO is non-empty or the queue shuts down."""
        queue = self._queue
        while not queue and not self._shutting_down:
            ev = anyio.Event()
            self._waiters.append(ev)
            try:
                timeout = self._next_ready_in()
                await self._clock.wait_event(ev, timeout)
            except BaseException:
                # Cancelled: if a signal was meant for us, pass it on so no key is stranded.
                if ev.is_set() and queue:
                    self._signal()
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(ev)
                raise
            if self._waiting:
                self._promote_ready()
            if not ev.is_set():
                # Timed out (real clock): still registered; drop ourselves.
                with contextlib.suppress(ValueError):
                    self._waiters.remove(ev)

    def _promote_ready(self) -> None:
        """Move delayed keys whose time has come into the queue (DelayingQueue)."""

    # ------------------------------------------------------------------ introspection
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, queued={len(self._queue)}, "
            f"processing={len(self._processing)}, waiting={len(self._waiting)}, "
            f"shutting_down={self._shutting_down})"
        )


class DelayingQueue(Queue[T]):
    """client-go ``DelayingInterface``: a :class:`Queue` with ``add_after``."""

    def __init__(self, name: str = "", *, clock: Clock = REAL_CLOCK) -> None:
        super().__init__(name, clock=clock)
        self._ready_at: dict[T, float] = {}
        self._seq = itertools.count()

    def add_after(self, item: T, seconds: float) -> None:
        """Add ``item`` once ``seconds`` have passed; ``seconds <= 0`` adds now. If the item is
        already waiting, the earlier ready time wins. Counts ``workqueue_retries_total``."""
        if self._shutting_down:
            return
        m = self._metrics
        if m is not None:
            m.retries.inc()
        if seconds <= 0:
            self.add(item)
            return
        ready_at = self._clock.now() + seconds
        existing = self._ready_at.get(item)
        if existing is not None and existing <= ready_at:
            return
        self._ready_at[item] = ready_at
        waiting = self._waiting
        earliest = waiting[0][0] if waiting else None
        heapq.heappush(waiting, (ready_at, next(self._seq), item))
        if self._waiters and (earliest is None or ready_at < earliest):
            # A getter may be sleeping until a later deadline (or forever): let it re-arm.
            self._signal()

    @property
    def waiting(self) -> int:
        """Number of keys waiting for their delay to pass."""
        return len(self._ready_at)

    def _next_ready_in(self) -> float | None:
        waiting = self._waiting
        while waiting and self._ready_at.get(waiting[0][2]) != waiting[0][0]:
            heapq.heappop(waiting)  # superseded by an earlier ready time
        if not waiting:
            return None
        return waiting[0][0] - self._clock.now()

    def _promote_ready(self) -> None:
        waiting = self._waiting
        ready_at = self._ready_at
        now = self._clock.now()
        while waiting and waiting[0][0] <= now:
            t, _, item = heapq.heappop(waiting)
            if ready_at.get(item) == t:
                del ready_at[item]
                self._add(item, t)
        while waiting and ready_at.get(waiting[0][2]) != waiting[0][0]:
            heapq.heappop(waiting)

    def shut_down(self) -> None:
        super().shut_down()
        self._ready_at.clear()

    async def shut_down_with_drain(self) -> None:
        self._ready_at.clear()
        await super().shut_down_with_drain()


class RateLimitingQueue(DelayingQueue[T]):
    """client-go ``RateLimitingInterface``. Default limiter: ``default_controller_rate_limiter``
    (exponential 5 ms .. 1000 s per item, max'd with a 10 qps / burst 100 bucket)."""

    def __init__(
        self,
        rate_limiter: RateLimiter[T] | None = None,
        name: str = "",
        *,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        super().__init__(name, clock=clock)
        self.rate_limiter: RateLimiter[T] = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_rate_limiter(clock=clock)
        )

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the rate limiter says it may be (records a failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset the item's failure history in the rate limiter (does not remove it from the
        queue)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
