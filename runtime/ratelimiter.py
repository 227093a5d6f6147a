"""client-go's work queue rate limiters (``util/workqueue/default_rate_limiters.go``).

A rate limiter answers "how long should this item wait before it is processed again":
``when(item)`` records a failure and returns the delay in seconds, ``forget(item)`` resets the
item (call it after a success), ``num_requeues(item)`` is the current failure count.

The maths is client-go's, to the nanosecond: delays are computed in integer nanoseconds and
truncated like ``time.Duration`` before being returned as float seconds, so
``ItemExponentialFailureRateLimiter(0.005, 1000)`` yields exactly 0.005, 0.01, 0.02, ...,
655.36 and then 1000.0.

Not thread-safe: like the rest of the framework it is used from one event loop.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, Generic, Protocol, TypeVar

from runtime.clock import REAL_CLOCK, Clock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "WithMaxWaitRateLimiter",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
]

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)

_NS = 1_000_000_000
_MAX_INT64 = 2**63 - 1


def _to_ns(seconds: float) -> int:
    """Seconds -> integer nanoseconds (like a Go ``time.Duration`` literal)."""
    return round(seconds * _NS)


class RateLimiter(Protocol[T_contra]):
    """client-go ``TypedRateLimiter``."""

    def when(self, item: T_contra) -> float:
        """Record a failure for ``item``; return how long (seconds) it should wait."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking ``item`` (it succeeded); its backoff starts over."""
        ...

    def num_requeues(self, item: T_contra) -> int:
        """How many failures ``item`` has had since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """Per-item exponential backoff: ``base * 2**failures``, capped at ``max_delay``.

    client-go ``NewItemExponentialFailureRateLimiter(baseDelay, maxDelay)``; the controller
    default is 5 ms .. 1000 s (5, 10, 20, 40 ms, ..., 655.36 s on the 18th failure, then 1000 s).
    """

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self._base_ns = _to_ns(base_delay)
        self._max_ns = _to_ns(max_delay)
        self._max = self._max_ns / _NS
        self._failures: dict[T, int] = {}

    @property
    def base_delay(self) -> float:
        return self._base_ns / _NS

    @property
    def max_delay(self) -> float:
        return self._max

    def when(self, item: T) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        # Go computes float64(base) * 2**exp and caps at MaxInt64 then maxDelay; Python ints are
        # exact, so do the same in integers (and never overflow).
        if self._base_ns == 0:
            return 0.0  # 0 * 2**exp: a zero base never backs off, however many failures
        if exp >= 63:
            return self._max
        backoff = self._base_ns << exp
        if backoff > _MAX_INT64 or backoff > self._max_ns:
            return self._max
        return backoff / _NS

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)


class ItemFastSlowRateLimiter(Generic[T]):
    """``fast_delay`` for the first ``max_fast_attempts`` failures of an item, then ``slow_delay``
    (client-go ``NewItemFastSlowRateLimiter``)."""

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        n = self._failures.get(item, 0) + 1
        self._failures[item] = n
        return self.fast_delay if n <= self.max_fast_attempts else self.slow_delay

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)


class BucketRateLimiter(Generic[T]):
    """A global token bucket: ``qps`` tokens per second, at most ``burst`` banked.

    Reproduces ``golang.org/x/time/rate.Limiter.Reserve().Delay()``: the bucket starts full;
    every ``when`` takes a token, going into debt if necessary, and returns how long until that
    token exists. With the controller default (10 qps, burst 100), 100 items pass at once, the
    101st waits 100 ms, the 102nd 200 ms, and so on. Per-item state: none (``num_requeues`` is
    0, ``forget`` is a no-op), as in client-go.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock = REAL_CLOCK) -> None:
        if qps < 0 or burst < 0:
            raise ValueError("qps and burst must be >= 0")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = 0.0
        self._last: float | None = None  # Go: zero time, i.e. the bucket starts full

    def _advance(self, now: float) -> float:
        last = self._last
        if last is None:
            return float(self.burst)
        if now < last:
            last = now
        tokens = self._tokens + (now - last) * self.qps
        return min(tokens, float(self.burst))

    def when(self, item: T) -> float:
        if math.isinf(self.qps):
            return 0.0
        now = self._clock.now()
        tokens = self._advance(now) - 1.0
        wait_ns = 0
        if tokens < 0:
            if self.qps == 0:
                return math.inf
            # Go: time.Duration(tokens / limit * 1e9), truncated towards zero.
            wait_ns = int((-tokens / self.qps) * _NS)
        if self.burst < 1:
            # rate.Reservation not ok: Delay() is InfDuration and no token is taken.
            return math.inf
        self._last = now
        self._tokens = tokens
        return wait_ns / _NS

    def num_requeues(self, item: T) -> int:
        return 0

    def forget(self, item: T) -> None:
        return None


class MaxOfRateLimiter(Generic[T]):
    """The longest delay of several limiters (each one's ``when`` is always called, so each
    records the failure); ``num_requeues`` is the max, ``forget`` forgets in all."""

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        self.limiters: tuple[RateLimiter[T], ...] = limiters

    def when(self, item: T) -> float:
        ret = 0.0
        for limiter in self.limiters:
            cur = limiter.when(item)
            if cur > ret:
                ret = cur
        return ret

    def num_requeues(self, item: T) -> int:
        ret = 0
        for limiter in self.limiters:
            cur = limiter.num_requeues(item)
            if cur > ret:
                ret = cur
        return ret

    def forget(self, item: T) -> None:
        for limiter in self.limiters:
            limiter.forget(item)


class WithMaxWaitRateLimiter(Generic[T]):
    """Caps another limiter's delay at ``max_delay`` (client-go ``NewWithMaxWaitRateLimiter``)."""

    def __init__(self, limiter: RateLimiter[T], max_delay: float) -> None:
        self.limiter = limiter
        self.max_delay = max_delay

    def when(self, item: T) -> float:
        return min(self.limiter.when(item), self.max_delay)

    def num_requeues(self, item: T) -> int:
        return self.limiter.num_requeues(item)

    def forget(self, item: T) -> None:
        self.limiter.forget(item)


def default_controller_rate_limiter(*, clock: Clock = REAL_CLOCK) -> MaxOfRateLimiter[Any]:
    """client-go ``DefaultControllerRateLimiter``: max of per-item exponential (5 ms .. 1000 s)
    and an overall 10 qps / burst 100 token bucket."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter[Any](0.005, 1000.0),
        BucketRateLimiter[Any](10.0, 100, clock=clock),
    )


def default_item_based_rate_limiter() -> ItemExponentialFailureRateLimiter[Any]:
    """client-go ``DefaultItemBasedRateLimiter``: exponential 1 ms .. 1000 s."""
    return ItemExponentialFailureRateLimiter[Any](0.001, 1000.0)
