"""controller-runtime's priority queue (``pkg/controller/priorityqueue``), the default queue
of every controller (:mod:`runtime.controller`), on the metrics and hand-out rules of the
client-go queue in :mod:`runtime.workqueue`."""

from __future__ import annotations

import contextlib
import heapq
from collections import deque
from collections.abc import AsyncIterator, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import anyio
import anyio.lowlevel

from runtime import metrics as _m
from runtime.clock import REAL_CLOCK, Clock
from runtime.ratelimiter import RateLimiter
from runtime.workqueue import _YIELD_EVERY, _QueueMetrics

if TYPE_CHECKING:
    from prometheus_client.metrics import Gauge

__all__ = ["PriorityQueue"]

T = TypeVar("T", bound=Hashable)

_PRIORITY_CARDINALITY_LIMIT = 25
_PRIORITY_CARDINALITY_EXCEEDED = "exceeded_cardinality_limit"


class _PItem(Generic[T]):
    __slots__ = ("counter", "key", "priority", "ready_at")

    def __init__(self, key: T, counter: int, priority: int, ready_at: float | None) -> None:
        self.key = key
        self.counter = counter
        self.priority = priority
        self.ready_at = ready_at


class PriorityQueue(Generic[T]):
    """controller-runtime's priority queue (``pkg/controller/priorityqueue``), c-r's default
    controller queue since v0.20.

    Differences from the FIFO :class:`RateLimitingQueue`, all as in c-r:

    * ``add_with_opts(*keys, after=, rate_limited=, priority=)``; higher ``priority`` is handed
      out first, FIFO within a priority. A key added again keeps the **highest** priority (and
      moves behind the keys already at that priority) and the **earliest** ready time; a key
      that is already ready is never delayed by a later ``add_after``. ``rate_limited`` and
      ``after`` together wait for the shorter of the two.
    * A key being processed stays queued (if re-added) but is skipped until ``done``, so it is
      never handed out twice at once.
    * ``shut_down()`` stops hand-outs at once: ``get`` reports shutdown even if keys remain, and
      ``shut_down_with_drain`` is the same as ``shut_down`` (c-r does not drain).
    * Default rate limiter: per-item exponential 5 ms .. 1000 s only (no global bucket).
    * Metrics: ``workqueue_depth`` carries the item's priority as the ``priority`` label (at
      most 25 distinct values, then ``exceeded_cardinality_limit``); ``workqueue_adds_total``
      counts keys becoming ready; ``workqueue_retries_total`` counts adds with a non-zero delay.
    """

    def __init__(
        self,
        name: str = "",
        *,
        rate_limiter: RateLimiter[T] | None = None,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        from runtime.ratelimiter import ItemExponentialFailureRateLimiter

        self.name = name
        self._clock = clock
        self.rate_limiter: RateLimiter[T] = (
            rate_limiter
            if rate_limiter is not None
            else ItemExponentialFailureRateLimiter[T](0.005, 1000.0)
        )
        self._items: dict[T, _PItem[T]] = {}
        # heaps with lazy deletion; an entry is live iff it matches the item's current state
        self._ready: list[tuple[int, int, T]] = []  # (-priority, counter, key)
        self._waiting: list[tuple[float, int, int, T]] = []  # (ready_at, -priority, counter, key)
        self._ready_count = 0
        self._locked: set[T] = set()
        self._counter = 0
        self._waiters: deque[anyio.Event] = deque()
        self._shutting_down = False
        self._fast_gets = 0
        self._metrics: _QueueMetrics[T] | None = (
            _QueueMetrics(name, clock, plain_depth=False) if name else None
        )
        self._priorities: set[int] | None = set()  # None once the cardinality limit is hit

    # ------------------------------------------------------------------ metrics helpers
    def _depth(self, priority: int) -> Gauge:
        label = _PRIORITY_CARDINALITY_EXCEEDED
        if self._priorities is not None:
            self._priorities.add(priority)
            if len(self._priorities) > _PRIORITY_CARDINALITY_LIMIT:
                self._priorities = None
            else:
                label = str(priority)
        return _m.WORKQUEUE_DEPTH.labels(self.name, self.name, label)

    def _metrics_add(self, key: T, priority: int, added_at: float | None = None) -> None:
        m = self._metrics
        if m is None:
            return
        m.adds.inc()
        self._depth(priority).inc()
        if key not in m.add_times:
            m.add_times[key] = m.clock.now() if added_at is None else added_at

    # ------------------------------------------------------------------ adding
    def add_with_opts(
        self,
        *items: T,
        after: float = 0.0,
        rate_limited: bool = False,
        priority: int | None = None,
    ) -> None:
        """c-r ``AddWithOpts(AddOpts{After, RateLimited, Priority}, items...)``."""
        if self._shutting_down or not items:
            return
        if self._waiting:
            self._promote_ready()
        new_priority = priority if priority is not None else 0
        ready_added = 0
        rearm = False
        for key in items:
            delay = after
            if rate_limited:
                rl_after = self.rate_limiter.when(key)
                if delay == 0 or rl_after < delay:
                    delay = rl_after
            ready_at: float | None = None
            if delay > 0:
                ready_at = self._clock.now() + delay
                if self._metrics is not None:
                    self._metrics.retries.inc()
            it = self._items.get(key)
            if it is None:
                it = _PItem(key, self._counter, new_priority, ready_at)
                self._counter += 1
                self._items[key] = it
                if ready_at is None:
                    self._push_ready(it)
                    self._metrics_add(key, it.priority)
                    ready_added += 1
                else:
                    rearm |= self._push_waiting(it)
                continue

            if it.ready_at is None:
                ready_at = None  # already ready: never delayed
            elif ready_at is not None and it.ready_at < ready_at:
                ready_at = it.ready_at  # earliest ready time wins
            was_ready = it.ready_at is None
            changed = False
            if new_priority > it.priority:
                if was_ready:
                    m = self._metrics
                    if m is not None:
                        self._depth(it.priority).dec()
                        self._depth(new_priority).inc()
                it.priority = new_priority
                it.counter = self._counter
                self._counter += 1
                changed = True
            if ready_at is None and not was_ready:
                it.ready_at = None
                self._push_ready(it)
                self._metrics_add(key, it.priority)
                ready_added += 1
            elif ready_at is not None:
                if changed or ready_at != it.ready_at:
                    it.ready_at = ready_at
                    rearm |= self._push_waiting(it)
            elif changed:  # ready before and after, new priority: re-file
                self._ready_count -= 1
                self._push_ready(it)
        # One getter per key that became ready (c-r hands ready keys to every waiting getter),
        # plus one to re-arm its timer when the earliest ready time moved forward.
        for _ in range(ready_added + rearm):
            if not self._waiters:
                break
            self._signal()

    def _push_ready(self, it: _PItem[T]) -> None:
        heapq.heappush(self._ready, (-it.priority, it.counter, it.key))
        self._ready_count += 1

    def _push_waiting(self, it: _PItem[T]) -> bool:
        """File a waiting item; True if it is now the earliest (sleepers must re-arm)."""
        assert it.ready_at is not None
        earliest = self._next_ready_at()
        heapq.heappush(self._waiting, (it.ready_at, -it.priority, it.counter, it.key))
        return earliest is None or it.ready_at < earliest

    def add(self, item: T) -> None:
        self.add_with_opts(item)

    def add_after(self, item: T, seconds: float) -> None:
        self.add_with_opts(item, after=seconds)

    def add_rate_limited(self, item: T) -> None:
        self.add_with_opts(item, rate_limited=True)

    def forget(self, item: T) -> None:
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    # ------------------------------------------------------------------ ready / waiting
    def _live_ready(self, entry: tuple[int, int, T]) -> bool:
        it = self._items.get(entry[2])
        return it is not None and it.ready_at is None and it.counter == entry[1]

    def _next_ready_at(self) -> float | None:
        waiting = self._waiting
        items = self._items
        while waiting:
            ready_at, _, counter, key = waiting[0]
            it = items.get(key)
            if it is not None and it.ready_at == ready_at and it.counter == counter:
                return ready_at
            heapq.heappop(waiting)
        return None

    def _promote_ready(self) -> None:
        now = self._clock.now()
        waiting = self._waiting
        items = self._items
        while waiting and waiting[0][0] <= now:
            ready_at, _, counter, key = heapq.heappop(waiting)
            it = items.get(key)
            if it is None or it.ready_at != ready_at or it.counter != counter:
                continue
            it.ready_at = None
            it.counter = self._counter
            self._counter += 1
            self._push_ready(it)
            self._metrics_add(key, it.priority, ready_at)
            if self._waiters:
                # Wake a getter for it: the one promoting may be busy with another key, and
                # getters that slept without a deadline would otherwise never see it.
                self._signal()

    def _take(self) -> _PItem[T] | None:
        """Pop the best ready key that is not being processed."""
        ready = self._ready
        skipped: list[tuple[int, int, T]] = []
        found: _PItem[T] | None = None
        while ready:
            entry = heapq.heappop(ready)
            if not self._live_ready(entry):
                continue
            if entry[2] in self._locked:
                skipped.append(entry)
                continue
            found = self._items.pop(entry[2])
            self._ready_count -= 1
            break
        for entry in skipped:
            heapq.heappush(ready, entry)
        return found

    # ------------------------------------------------------------------ getting
    async def get_with_priority(self) -> tuple[T | None, int, bool]:
        """Wait for the best ready key: ``(key, priority, False)`` or ``(None, 0, True)`` after
        shutdown. The caller must call ``done(key)``."""
        if self._shutting_down:
            return None, 0, True
        if self._waiting:
            self._promote_ready()
        if self._ready_count > len(self._locked):
            self._fast_gets += 1
            if self._fast_gets >= _YIELD_EVERY:
                self._fast_gets = 0
                await anyio.lowlevel.checkpoint()
        while True:
            if self._shutting_down:
                return None, 0, True
            if self._waiting:
                self._promote_ready()
            it = self._take()
            if it is not None:
                break
            await self._wait()
        key = it.key
        self._locked.add(key)
        m = self._metrics
        if m is not None:
            self._depth(it.priority).dec()
            now = m.clock.now()
            m.processing_start[key] = now
            t = m.add_times.pop(key, None)
            if t is not None:
                m.latency.observe(now - t)
        return key, it.priority, False

    async def get(self) -> tuple[T | None, bool]:
        key, _, shutdown = await self.get_with_priority()
        return key, shutdown

    async def _wait(self) -> None:
        ev = anyio.Event()
        self._waiters.append(ev)
        try:
            nxt = self._next_ready_at()
            await self._clock.wait_event(ev, None if nxt is None else nxt - self._clock.now())
        except BaseException:
            if ev.is_set() and self._ready_count:
                self._signal()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(ev)
            raise
        if not ev.is_set():
            with contextlib.suppress(ValueError):
                self._waiters.remove(ev)

    def _signal(self) -> None:
        waiters = self._waiters
        while waiters:
            ev = waiters.popleft()
            if not ev.is_set():
                ev.set()
                return

    def done(self, item: T) -> None:
        self._locked.discard(item)
        m = self._metrics
        if m is not None:
            t = m.processing_start.pop(item, None)
            if t is not None:
                m.work_duration.observe(m.clock.now() - t)
        if self._waiters and item in self._items:
            self._signal()  # it may have been re-added while locked

    # ------------------------------------------------------------------ lifecycle
    def shut_down(self) -> None:
        self._shutting_down = True
        waiters = self._waiters
        while waiters:
            waiters.popleft().set()

    async def shut_down_with_drain(self) -> None:
        """Same as ``shut_down`` (as in controller-runtime's priority queue)."""
        self.shut_down()
        await anyio.lowlevel.checkpoint()

    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Ready keys, including re-added keys waiting for their processing to finish."""
        if self._waiting:
            self._promote_ready()
        return self._ready_count

    def len(self) -> int:
        return self.__len__()

    @property
    def processing(self) -> int:
        return len(self._locked)

    @property
    def waiting(self) -> int:
        return sum(1 for it in self._items.values() if it.ready_at is not None)

    async def __aiter__(self) -> AsyncIterator[T]:
        while True:
            item, shutdown = await self.get()
            if shutdown:
                return
            yield cast(T, item)

    def __repr__(self) -> str:
        return (
            f"PriorityQueue(name={self.name!r}, ready={self._ready_count}, "
            f"processing={len(self._locked)}, shutting_down={self._shutting_down})"
        )
