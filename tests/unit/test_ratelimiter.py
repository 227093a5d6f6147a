"""runtime.ratelimiter: client-go's limiter maths, exact to the nanosecond."""

from __future__ import annotations

import math

import pytest

from runtime.clock import FakeClock
from runtime.ratelimiter import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
    default_item_based_rate_limiter,
)

# failure n (1-based) -> delay, for the controller default 5 ms .. 1000 s
EXPONENTIAL_DEFAULT = [
    (1, 0.005),
    (2, 0.010),
    (3, 0.020),
    (4, 0.040),
    (5, 0.080),
    (6, 0.160),
    (7, 0.320),
    (8, 0.640),
    (9, 1.280),
    (10, 2.560),
    (11, 5.120),
    (12, 10.240),
    (13, 20.480),
    (14, 40.960),
    (15, 81.920),
    (16, 163.840),
    (17, 327.680),
    (18, 655.360),
    (19, 1000.0),
    (20, 1000.0),
    (100, 1000.0),
    (5000, 1000.0),  # no float overflow however long an item keeps failing
]


def test_exponential_sequence_exact() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.005, 1000)
    got = {n: rl.when("a") for n in range(1, 5001)}
    for n, expected in EXPONENTIAL_DEFAULT:
        assert got[n] == expected, (n, got[n])
    assert rl.num_requeues("a") == 5000


def test_exponential_is_per_item_and_forget_resets() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.001, 1.0)
    assert [rl.when("a") for _ in range(3)] == [0.001, 0.002, 0.004]
    assert rl.when("b") == 0.001
    assert rl.num_requeues("a") == 3
    assert rl.num_requeues("b") == 1
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    assert rl.when("a") == 0.001
    assert rl.num_requeues("b") == 1
    # client-go's own test: base 1 ms, max 1 s -> 1, 2, 4, 8, 16 ms ... capped at 1 s
    rl.forget("a")
    seq = [rl.when("a") for _ in range(12)]
    assert seq[:5] == [0.001, 0.002, 0.004, 0.008, 0.016]
    assert seq[9] == 0.512
    assert seq[10:] == [1.0, 1.0]


def test_exponential_with_zero_base_never_backs_off() -> None:
    """Go: float64(0) * 2**exp is 0 for every failure count, so the delay stays 0 (it must
    not jump to max_delay once the failure count passes 63)."""
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.0, 1000)
    assert {rl.when("a") for _ in range(200)} == {0.0}
    assert rl.num_requeues("a") == 200


def test_default_item_based_limiter_starts_at_1ms() -> None:
    rl = default_item_based_rate_limiter()
    assert rl.when("x") == 0.001
    assert rl.max_delay == 1000.0


def test_fast_slow() -> None:
    rl: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.005, 10.0, 3)
    assert [rl.when("a") for _ in range(5)] == [0.005, 0.005, 0.005, 10.0, 10.0]
    assert rl.when("b") == 0.005
    assert rl.num_requeues("a") == 5
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    assert rl.when("a") == 0.005


def test_bucket_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    rl: BucketRateLimiter[int] = BucketRateLimiter(10, 100, clock=clock)
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    assert rl.when(100) == pytest.approx(0.1, abs=1e-9)  # the 101st waits 100 ms
    assert rl.when(101) == pytest.approx(0.2, abs=1e-9)
    assert rl.when(102) == pytest.approx(0.3, abs=1e-9)
    # the limiter is global, not per item; it keeps no per-item state
    assert rl.num_requeues(100) == 0
    rl.forget(100)
    assert rl.when(0) == pytest.approx(0.4, abs=1e-9)


def test_bucket_refills_with_time_up_to_burst() -> None:
    clock = FakeClock()
    rl: BucketRateLimiter[int] = BucketRateLimiter(10, 100, clock=clock)
    for i in range(100):
        rl.when(i)
    clock.step(0.1)  # one token back
    assert rl.when(0) == 0.0
    assert rl.when(0) == pytest.approx(0.1, abs=1e-9)
    clock.step(3600)  # refills to burst, no more
    assert [rl.when(i) for i in range(100)] == [0.0] * 100
    assert rl.when(0) == pytest.approx(0.1, abs=1e-9)


def test_bucket_debt_is_repaid_by_time() -> None:
    clock = FakeClock()
    rl: BucketRateLimiter[int] = BucketRateLimiter(10, 1, clock=clock)
    assert rl.when(0) == 0.0
    assert rl.when(0) == pytest.approx(0.1, abs=1e-9)
    assert rl.when(0) == pytest.approx(0.2, abs=1e-9)
    clock.step(0.15)
    assert rl.when(0) == pytest.approx(0.15, abs=1e-9)  # 0.3 - 0.15 already waited


def test_bucket_edge_limits() -> None:
    rl: BucketRateLimiter[int] = BucketRateLimiter(math.inf, 0, clock=FakeClock())
    assert rl.when(0) == 0.0
    assert BucketRateLimiter[int](10, 0, clock=FakeClock()).when(0) == math.inf
    with pytest.raises(ValueError):
        BucketRateLimiter(-1, 1)


def test_max_of_takes_the_longest_and_forgets_everywhere() -> None:
    a: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.001, 5.0, 2)
    b: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.002, 100)
    rl = MaxOfRateLimiter(a, b)
    assert [rl.when("k") for _ in range(4)] == [0.002, 0.004, 5.0, 5.0]
    assert rl.num_requeues("k") == 4
    rl.forget("k")
    assert a.num_requeues("k") == 0
    assert b.num_requeues("k") == 0


def test_with_max_wait_caps() -> None:
    rl = WithMaxWaitRateLimiter(ItemExponentialFailureRateLimiter[str](1.0, 1000), 3.0)
    assert [rl.when("k") for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    assert rl.num_requeues("k") == 4
    rl.forget("k")
    assert rl.num_requeues("k") == 0


def test_default_controller_rate_limiter() -> None:
    """MaxOf(exp 5 ms..1000 s, bucket 10 qps/100): per-item backoff until the bucket runs dry."""
    clock = FakeClock()
    rl = default_controller_rate_limiter(clock=clock)
    assert rl.when("a") == 0.005
    assert rl.when("a") == 0.010
    assert rl.when("b") == 0.005
    assert rl.num_requeues("a") == 2
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    # 3 tokens used; 97 more distinct first failures pass at 5 ms, then the bucket dominates
    assert [rl.when(f"x{i}") for i in range(97)] == [0.005] * 97
    assert rl.when("y") == pytest.approx(0.1, abs=1e-9)
    assert rl.when("z") == pytest.approx(0.2, abs=1e-9)
