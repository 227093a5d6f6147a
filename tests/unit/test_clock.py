"""runtime.clock: the fake clock is deterministic and wakes exactly at deadlines."""

from __future__ import annotations

import time

import anyio
import pytest

from runtime.clock import REAL_CLOCK, Clock, FakeClock, RealClock

pytestmark = pytest.mark.anyio


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(RealClock(), Clock)
    assert isinstance(FakeClock(), Clock)


def test_fake_clock_only_moves_when_stepped() -> None:
    c = FakeClock(start=10.0)
    assert c.now() == 10.0
    c.step(0.25)
    assert c.now() == 10.25
    c.set_time(20.0)
    assert c.now() == 20.0
    with pytest.raises(ValueError):
        c.step(-1)
    with pytest.raises(ValueError):
        c.set_time(19.0)


async def test_sleeper_wakes_exactly_at_its_deadline() -> None:
    c = FakeClock()
    woke: list[float] = []

    async def sleeper() -> None:
        await c.sleep(1.0)
        woke.append(c.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper)
        await anyio.wait_all_tasks_blocked()
        assert c.sleepers == 1
        assert c.next_deadline() == 1001.0
        await c.advance(0.999)
        assert woke == []
        await c.advance(0.001)
        assert woke == [1001.0]
    assert c.sleepers == 0


async def test_sleepers_wake_in_deadline_order() -> None:
    c = FakeClock()
    order: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await c.sleep(seconds)
        order.append(name)

    async with anyio.create_task_group() as tg:
        for name, seconds in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("a2", 1.0)]:
            tg.start_soon(sleeper, name, seconds)
        await anyio.wait_all_tasks_blocked()
        assert c.sleepers == 4
        await c.advance(10.0)  # one big step wakes all, in deadline order
    assert order == ["a", "a2", "b", "c"]


async def test_sleep_zero_or_negative_returns_without_a_step() -> None:
    c = FakeClock()
    with anyio.fail_after(1):
        await c.sleep(0)
        await c.sleep(-5)
    assert c.now() == 1000.0


async def test_wait_event_returns_true_when_set_false_on_timeout() -> None:
    c = FakeClock()
    results: list[bool] = []
    ev_set = anyio.Event()

    async def waiter(ev: anyio.Event, seconds: float | None) -> None:
        results.append(await c.wait_event(ev, seconds))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter, ev_set, 5.0)
        await anyio.wait_all_tasks_blocked()
        ev_set.set()
    assert results == [True]
    assert c.sleepers == 0  # a sleeper woken by its event is unregistered

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter, anyio.Event(), 5.0)
        await anyio.wait_all_tasks_blocked()
        await c.advance(5.0)
    assert results == [True, False]


async def test_cancelled_sleeper_is_unregistered() -> None:
    c = FakeClock()
    with anyio.CancelScope() as scope:

        async def cancel_soon() -> None:
            await anyio.wait_all_tasks_blocked()
            assert c.sleepers == 1
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_soon)
            await c.sleep(100)
    assert scope.cancelled_caught
    assert c.sleepers == 0
    assert c.next_deadline() is None


async def test_real_clock_sleep_and_wait_event() -> None:
    t0 = time.monotonic()
    assert abs(REAL_CLOCK.now() - t0) < 0.5
    await REAL_CLOCK.sleep(0.02)
    assert REAL_CLOCK.now() - t0 >= 0.019
    assert await REAL_CLOCK.wait_event(anyio.Event(), 0.01) is False
    ev = anyio.Event()
    ev.set()
    assert await REAL_CLOCK.wait_event(ev, 10) is True
    assert await REAL_CLOCK.wait_event(ev, None) is True
