"""Clocks: the real monotonic clock and a deterministic fake for tests.

Mirrors ``k8s.io/utils/clock`` in spirit: every time-dependent part of the framework (rate
limiters, the delaying work queue, leader election) takes a :class:`Clock`, so tests drive time
by hand with :class:`FakeClock` instead of sleeping.

Times are monotonic seconds as floats (``time.monotonic()`` for the real clock); only
differences between them are meaningful.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["REAL_CLOCK", "Clock", "FakeClock", "RealClock"]


@runtime_checkable
class Clock(Protocol):
    """What the framework needs from time."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend for ``seconds`` of this clock's time (returns at once if <= 0, after a
        checkpoint)."""
        ...

    async def wait_event(self, event: anyio.Event, seconds: float | None) -> bool:
        """Wait until ``event`` is set or ``seconds`` of this clock's time passed.

        Returns True if the event was set, False on timeout. ``seconds=None`` waits forever.
        The event must be private to the caller: an implementation may set it itself on
        timeout (the fake clock wakes waiters that way).
        This is the primitive behind "wait for work or until the next deadline" (the delaying
        queue's getters), which cannot be written with ``sleep`` alone without a task per wait.
        """
        ...


class RealClock:
    """The wall of reality: ``time.monotonic`` and the event loop's timers."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    async def wait_event(self, event: anyio.Event, seconds: float | None) -> bool:
        if seconds is None:
            await event.wait()
            return True
        with anyio.move_on_after(max(seconds, 0.0)):
            await event.wait()
        return event.is_set()


REAL_CLOCK: Clock = RealClock()
"""Shared default clock instance."""


class _Sleeper:
    __slots__ = ("active", "deadline", "event", "fired")

    def __init__(self, deadline: float, event: anyio.Event) -> None:
        self.deadline = deadline
        self.event = event
        self.fired = False
        self.active = True


class FakeClock:
    """A manually driven clock for deterministic tests.

    Time only moves with :meth:`step` (or :meth:`set_time`); sleepers whose deadline is reached
    are woken in deadline order (ties in registration order). Stepping does not run the woken
    tasks itself: they resume at the caller's next checkpoint. Use :meth:`advance` (async) to
    step and then let every task run until it blocks again.

    Like ``k8s.io/utils/clock/testing.FakeClock``, a sleeper registered with a deadline at or
    before the current time returns without waiting for a step.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._heap: list[tuple[float, int, _Sleeper]] = []
        self._seq = itertools.count()
        self._active = 0

    def now(self) -> float:
        return self._now

    @property
    def sleepers(self) -> int:
        """Number of tasks currently waiting on this clock (sleep or timed wait_event)."""
        return self._active

    def next_deadline(self) -> float | None:
        """Earliest pending sleeper deadline, or None."""
        self._drop_inactive()
        return self._heap[0][0] if self._heap else None

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` (>= 0) and wake every sleeper whose deadline passed."""
        if seconds < 0:
            raise ValueError("FakeClock cannot go backwards")
        self.set_time(self._now + seconds)

    def set_time(self, t: float) -> None:
        """Jump to time ``t`` (not before now) and wake due sleepers."""
        if t < self._now:
            raise ValueError("FakeClock cannot go backwards")
        self._now = t
        heap = self._heap
        while heap and heap[0][0] <= t:
            _, _, s = heapq.heappop(heap)
            if s.active:
                s.active = False
                s.fired = True
                self._active -= 1
                s.event.set()

    async def advance(self, seconds: float) -> None:
        """``step(seconds)`` then wait until all other tasks are blocked again."""
        self.step(seconds)
        await anyio.wait_all_tasks_blocked()

    def _drop_inactive(self) -> None:
        heap = self._heap
        while heap and not heap[0][2].active:
            heapq.heappop(heap)

    async def sleep(self, seconds: float) -> None:
        await self.wait_event(anyio.Event(), seconds)

    async def wait_event(self, event: anyio.Event, seconds: float | None) -> bool:
        if event.is_set():
            await anyio.lowlevel.checkpoint()
            return True
        if seconds is None:
            await event.wait()
            return True
        if math.isnan(seconds):
            raise ValueError("seconds is NaN")
        deadline = self._now + seconds
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return event.is_set()
        s = _Sleeper(deadline, event)
        heapq.heappush(self._heap, (deadline, next(self._seq), s))
        self._active += 1
        try:
            await event.wait()
        finally:
            if s.active:  # woken by the event (or cancelled), not by time
                s.active = False
                self._active -= 1
        return not s.fired
