"""runtime.workqueue: client-go work queue semantics (queue.go, delaying_queue.go,
rate_limiting_queue.go) and metrics."""

from __future__ import annotations

import itertools
import random
from collections.abc import Hashable

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import metrics
from runtime.clock import FakeClock
from runtime.priorityqueue import PriorityQueue
from runtime.ratelimiter import ItemExponentialFailureRateLimiter
from runtime.workqueue import DelayingQueue, Queue, RateLimitingQueue

pytestmark = pytest.mark.anyio


async def take(q: Queue[str]) -> str:
    """get() that must not block and must not report shutdown."""
    with anyio.fail_after(1):
        item, shutdown = await q.get()
    assert not shutdown
    assert item is not None
    return item


async def drain_now(q: Queue[str]) -> list[str]:
    """Everything ready right now, each marked done."""
    out = []
    while len(q):
        item = await take(q)
        out.append(item)
        q.done(item)
    return out


# --------------------------------------------------------------------------- Queue


async def test_fifo_order() -> None:
    q: Queue[str] = Queue()
    for k in ["a", "b", "c"]:
        q.add(k)
    assert await drain_now(q) == ["a", "b", "c"]


async def test_key_added_twice_while_queued_is_handed_out_once() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert await drain_now(q) == ["a", "b"]  # position of the first add is kept
    assert len(q) == 0


async def test_readd_during_processing_runs_once_more_after_done() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    a = await take(q)
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a processing key is not queued again until done"
    q.add("b")
    assert await take(q) == "b"
    q.done("b")
    q.done(a)
    assert len(q) == 1
    assert await drain_now(q) == ["a"]
    assert len(q) == 0 and q.processing == 0


async def test_done_without_readd_does_not_requeue() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.done(await take(q))
    assert len(q) == 0


async def test_get_blocks_until_add() -> None:
    q: Queue[str] = Queue()
    got: list[str] = []

    async def worker() -> None:
        got.append(await take(q))

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        q.add("x")
    assert got == ["x"]


async def test_shutdown_hands_out_queued_then_reports_shutdown() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.shut_down()
    assert q.shutting_down()
    q.add("c")  # ignored
    assert await take(q) == "a"
    assert await take(q) == "b"
    with anyio.fail_after(1):
        assert await q.get() == (None, True)


async def test_shutdown_wakes_blocked_getters() -> None:
    q: Queue[str] = Queue()
    results: list[tuple[str | None, bool]] = []

    async def worker() -> None:
        results.append(await q.get())

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(worker)
            await anyio.wait_all_tasks_blocked()
            q.shut_down()
    assert results == [(None, True)] * 3


async def test_async_iteration_stops_at_shutdown() -> None:
    q: Queue[str] = Queue()
    for k in "abc":
        q.add(k)
    q.shut_down()
    seen = []
    with anyio.fail_after(1):
        async for k in q:
            seen.append(k)
            q.done(k)
    assert seen == ["a", "b", "c"]


async def test_shut_down_with_drain_waits_for_in_flight_items() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    a = await take(q)
    b = await take(q)
    drained = False

    async def drain() -> None:
        nonlocal drained
        await q.shut_down_with_drain()
        drained = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(drain)
        await anyio.wait_all_tasks_blocked()
        assert not drained
        q.add("c")  # shutting down: ignored
        q.done(a)
        await anyio.wait_all_tasks_blocked()
        assert not drained
        q.done(b)
    assert drained
    assert len(q) == 0


async def test_shut_down_ends_a_pending_drain() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    await take(q)
    with anyio.fail_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(q.shut_down_with_drain)
            await anyio.wait_all_tasks_blocked()
            q.shut_down()


async def test_shut_down_with_drain_returns_at_once_when_idle() -> None:
    q: Queue[str] = Queue()
    with anyio.fail_after(1):
        await q.shut_down_with_drain()
    assert q.shutting_down()


async def test_same_key_never_processed_concurrently_by_many_workers() -> None:
    """8 workers, 5 keys added at random while being processed: never two at once, and every
    key added after its last hand-out is processed again (nothing lost)."""
    rng = random.Random(42)
    q: Queue[str] = Queue()
    keys = [f"k{i}" for i in range(5)]
    in_flight: set[str] = set()
    # per key: adds seen since the last time a worker took it
    pending: dict[str, int] = dict.fromkeys(keys, 0)
    processed = 0

    async def worker() -> None:
        nonlocal processed
        while True:
            item, shutdown = await q.get()
            if shutdown:
                return
            assert item is not None
            assert item not in in_flight, f"{item} handed out twice at once"
            in_flight.add(item)
            pending[item] = 0
            for _ in range(rng.randint(0, 3)):
                await anyio.lowlevel.checkpoint()
            in_flight.discard(item)
            processed += 1
            q.done(item)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(worker)
            for _ in range(3000):
                k = rng.choice(keys)
                q.add(k)
                pending[k] += 1
                if rng.random() < 0.3:
                    await anyio.lowlevel.checkpoint()
            await q.shut_down_with_drain()
    assert all(n == 0 for n in pending.values()), pending
    assert 5 <= processed < 3000  # dedup happened


async def test_cancelled_getter_passes_its_wakeup_on() -> None:
    """A getter cancelled after being signalled must not strand the key."""
    q: Queue[str] = Queue()
    got: list[str] = []
    scope_a = anyio.CancelScope()

    async def getter_a() -> None:
        with scope_a:
            got.append(await take(q))

    async def getter_b() -> None:
        got.append(await take(q))

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(getter_a)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(getter_b)
            await anyio.wait_all_tasks_blocked()
            # A's cancellation is requested, then (before A runs again) the add signals A,
            # the first waiter: A must hand the wake-up on to B.
            scope_a.cancel()
            q.add("x")
    assert scope_a.cancelled_caught
    assert got == ["x"]


async def test_busy_worker_does_not_starve_the_event_loop() -> None:
    q: Queue[int] = Queue()
    for i in range(1000):
        q.add(i)
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.lowlevel.checkpoint()
        before = ticks
        for _ in range(1000):
            item, _ = await q.get()  # never blocks: items are ready
            assert item is not None
            q.done(item)
        assert ticks - before >= 10
        tg.cancel_scope.cancel()


# --------------------------------------------------------------- property: the model


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "get", "done"]), st.sampled_from(["a", "b", "c"])),
        max_size=60,
    )
)
def test_queue_matches_client_go_model(ops: list[tuple[str, str]]) -> None:
    """Random add/get/done sequences against client-go's dirty/processing/queue model."""

    async def run() -> None:
        q: Queue[str] = Queue()
        queue: list[str] = []
        dirty: set[str] = set()
        processing: set[str] = set()
        for op, key in ops:
            if op == "add":
                q.add(key)
                if key not in dirty:
                    dirty.add(key)
                    if key not in processing:
                        queue.append(key)
            elif op == "get":
                if not queue:
                    assert len(q) == 0
                    continue
                expected = queue.pop(0)
                item = await take(q)
                assert item == expected
                assert item not in processing
                processing.add(item)
                dirty.discard(item)
            elif key in processing:
                q.done(key)
                processing.discard(key)
                if key in dirty:
                    queue.append(key)
            # invariants: never queued and processing at once; dirty == queued + re-added
            assert not (set(queue) & processing)
            assert len(q) == len(queue)
            assert q.processing == len(processing)
            assert set(queue) <= dirty

    anyio.run(run, backend="asyncio")


# --------------------------------------------------------------------------- DelayingQueue


async def test_add_after_orders_by_ready_time() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("c", 0.3)
    q.add_after("a", 0.1)
    q.add_after("b", 0.2)
    assert len(q) == 0 and q.waiting == 3
    clock.step(0.099)
    assert len(q) == 0
    clock.step(0.001)
    assert await drain_now(q) == ["a"]
    clock.step(1.0)
    assert await drain_now(q) == ["b", "c"]


async def test_add_after_earliest_deadline_wins_for_duplicates() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 5.0)
    q.add_after("a", 1.0)  # earlier: wins
    q.add_after("a", 10.0)  # later: ignored
    assert q.waiting == 1
    clock.step(1.0)
    assert await drain_now(q) == ["a"]
    clock.step(20.0)
    assert await drain_now(q) == [], "the superseded 5 s and 10 s entries must not fire"


async def test_add_after_nonpositive_adds_now() -> None:
    q: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    q.add_after("a", 0)
    q.add_after("b", -1)
    assert await drain_now(q) == ["a", "b"]


async def test_add_after_of_queued_key_is_deduplicated_when_ready() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add("a")
    q.add_after("a", 1.0)
    clock.step(1.0)
    assert await drain_now(q) == ["a"]


async def test_ready_delayed_keys_keep_their_place_before_later_adds() -> None:
    """Like client-go's waiting loop: a key whose delay passed is queued at its ready time,
    before keys added afterwards."""
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("delayed", 1.0)
    clock.step(2.0)
    q.add("direct")
    assert await drain_now(q) == ["delayed", "direct"]


async def test_blocked_getter_wakes_exactly_at_ready_time() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    got: list[tuple[str, float]] = []

    async def worker() -> None:
        item = await take_blocking(q)
        got.append((item, clock.now()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        q.add_after("a", 0.5)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(0.499)
        assert got == []
        await clock.advance(0.001)
        assert got == [("a", 1000.5)]


async def test_earlier_add_after_rearms_a_sleeping_getter() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    got: list[str] = []

    async def worker() -> None:
        got.append(await take_blocking(q))

    async with anyio.create_task_group() as tg:
        q.add_after("late", 10.0)
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        q.add_after("early", 1.0)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(1.0)
        assert got == ["early"]
    clock.step(9.0)
    assert await drain_now(q) == ["late"]


async def test_add_after_with_real_clock() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("a", 0.02)
    with anyio.fail_after(2):
        item, shutdown = await q.get()
    assert (item, shutdown) == ("a", False)


async def test_shutdown_drops_waiting_keys() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 1.0)
    q.shut_down()
    q.add_after("b", 1.0)
    clock.step(5)
    with anyio.fail_after(1):
        assert await q.get() == (None, True)


async def take_blocking(q: Queue[str]) -> str:
    with anyio.fail_after(5):
        item, shutdown = await q.get()
    assert not shutdown and item is not None
    return item


# --------------------------------------------------------------------------- RateLimitingQueue


async def test_add_rate_limited_backs_off_exponentially_and_forget_resets() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    for expected_delay in [0.005, 0.010, 0.020, 0.040]:
        q.add_rate_limited("a")
        clock.step(expected_delay - 0.0005)
        assert len(q) == 0, expected_delay
        clock.step(0.0005)
        assert await drain_now(q) == ["a"], expected_delay
    assert q.num_requeues("a") == 4
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a")
    clock.step(0.005)
    assert await drain_now(q) == ["a"]


async def test_rate_limiting_queue_custom_limiter() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 4.0), clock=clock
    )
    delays = []
    for _ in range(4):
        q.add_rate_limited("k")
        start = clock.now()
        while len(q) == 0:
            clock.step(0.25)
        delays.append(clock.now() - start)
        await drain_now(q)
    assert delays == [1.0, 2.0, 4.0, 4.0]


# --------------------------------------------------------------------------- metrics


def sample(name: str, labels: dict[str, str]) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, labels)


async def test_metrics_follow_client_go() -> None:
    clock = FakeClock()
    name = "test-metrics-queue"
    lbl = {"name": name, "controller": name}
    q: RateLimitingQueue[str] = RateLimitingQueue(name=name, clock=clock)
    q.add("a")
    q.add("a")  # deduplicated: not counted
    q.add("b")
    assert sample("workqueue_adds_total", lbl) == 2
    assert sample("workqueue_depth", {**lbl, "priority": ""}) == 2
    clock.step(0.25)
    a = await take(q)
    assert sample("workqueue_depth", {**lbl, "priority": ""}) == 1
    assert sample("workqueue_queue_duration_seconds_count", lbl) == 1
    assert sample("workqueue_queue_duration_seconds_sum", lbl) == 0.25
    assert sample("workqueue_queue_duration_seconds_bucket", {**lbl, "le": "0.1"}) == 0
    assert sample("workqueue_queue_duration_seconds_bucket", {**lbl, "le": "1.0"}) == 1
    clock.step(2.0)
    assert sample("workqueue_unfinished_work_seconds", lbl) == 2.0
    assert sample("workqueue_longest_running_processor_seconds", lbl) == 2.0
    b = await take(q)
    clock.step(1.0)
    assert sample("workqueue_unfinished_work_seconds", lbl) == 4.0  # 3 + 1
    assert sample("workqueue_longest_running_processor_seconds", lbl) == 3.0
    q.done(a)
    q.done(b)
    assert sample("workqueue_work_duration_seconds_count", lbl) == 2
    assert sample("workqueue_work_duration_seconds_sum", lbl) == 4.0
    assert sample("workqueue_unfinished_work_seconds", lbl) == 0.0
    # every add_after / rate-limited add counts as a retry, as in client-go
    q.add_rate_limited("a")
    q.add_after("b", 1.0)
    q.add_after("c", 0)
    assert sample("workqueue_retries_total", lbl) == 3


async def test_unnamed_queue_records_no_metrics() -> None:
    before = metrics.exposition()
    q: Queue[Hashable] = Queue()
    q.add(("ns", "name"))
    item, _ = await q.get()
    q.done(item)
    assert metrics.exposition().count(b"workqueue_adds_total{") == before.count(
        b"workqueue_adds_total{"
    )


def test_workqueue_buckets_are_c_r_exponential_buckets() -> None:
    b = metrics.WORKQUEUE_BUCKETS
    assert len(b) == 12
    assert b[0] == 1e-8
    assert b[-1] == pytest.approx(1000.0)
    assert all(hi / lo == pytest.approx(10.0) for lo, hi in itertools.pairwise(b))


# --------------------------------------------------------------------------- PriorityQueue


async def pdrain(q: PriorityQueue[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    while True:
        if len(q) == 0:
            return out
        with anyio.fail_after(1):
            key, prio, shutdown = await q.get_with_priority()
        assert not shutdown and key is not None
        out.append((key, prio))
        q.done(key)


async def test_pq_higher_priority_first_fifo_within_a_priority() -> None:
    q: PriorityQueue[str] = PriorityQueue(clock=FakeClock())
    q.add_with_opts("low1", priority=-100)
    q.add("a")
    q.add_with_opts("low2", priority=-100)
    q.add_with_opts("hi", priority=10)
    q.add("b")
    assert await pdrain(q) == [("hi", 10), ("a", 0), ("b", 0), ("low1", -100), ("low2", -100)]


async def test_pq_dedup_keeps_highest_priority_and_moves_behind_that_priority() -> None:
    q: PriorityQueue[str] = PriorityQueue(clock=FakeClock())
    q.add_with_opts("x", priority=-100)
    q.add("a")
    q.add("x")  # priority 0 > -100: raised, queued after "a"
    q.add_with_opts("x", priority=-100)  # lower: ignored
    q.add("b")
    assert len(q) == 3
    assert await pdrain(q) == [("a", 0), ("x", 0), ("b", 0)]


async def test_pq_earliest_ready_time_and_ready_keys_are_never_delayed() -> None:
    clock = FakeClock()
    q: PriorityQueue[str] = PriorityQueue(clock=clock)
    q.add_after("a", 5.0)
    q.add_after("a", 1.0)
    q.add_after("a", 3.0)
    q.add("r")
    q.add_after("r", 10.0)  # already ready: stays ready
    assert await pdrain(q) == [("r", 0)]
    clock.step(0.999)
    assert len(q) == 0
    clock.step(0.001)
    assert await pdrain(q) == [("a", 0)]
    clock.step(10)
    assert await pdrain(q) == []


async def test_pq_waiting_keys_become_ready_in_ready_time_order() -> None:
    clock = FakeClock()
    q: PriorityQueue[str] = PriorityQueue(clock=clock)
    q.add_after("late", 0.2)
    q.add_after("early", 0.1)
    q.add("now")
    clock.step(1)
    assert [k for k, _ in await pdrain(q)] == ["now", "early", "late"]


async def test_pq_rate_limited_uses_exponential_backoff_and_min_with_after() -> None:
    clock = FakeClock()
    q: PriorityQueue[str] = PriorityQueue(clock=clock)
    q.add_rate_limited("a")  # 5 ms
    q.add_rate_limited("a")  # 10 ms, but the 5 ms entry is earlier and wins
    clock.step(0.005)
    assert await pdrain(q) == [("a", 0)]
    assert q.num_requeues("a") == 2
    q.add_with_opts("a", after=60.0, rate_limited=True)  # 20 ms < 60 s
    clock.step(0.020)
    assert await pdrain(q) == [("a", 0)]
    q.forget("a")
    assert q.num_requeues("a") == 0
    # no global token bucket: 200 distinct first failures all wait only 5 ms
    for i in range(200):
        q.add_rate_limited(f"k{i}")
    clock.step(0.005)
    assert len(q) == 200


async def test_pq_key_processing_is_not_handed_out_again_until_done() -> None:
    q: PriorityQueue[str] = PriorityQueue(clock=FakeClock())
    q.add("a")
    with anyio.fail_after(1):
        key, _ = await q.get()
    assert key == "a"
    q.add_with_opts("a", priority=5)
    q.add("b")
    assert len(q) == 2  # "a" is queued (and counted) but locked
    got: list[str] = []

    async def worker() -> None:
        for _ in range(2):
            with anyio.fail_after(2):
                k, shutdown = await q.get()
            assert not shutdown and k is not None
            got.append(k)
            if k == "b":
                q.done(k)

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        assert got == ["b"], "the higher-priority 'a' is skipped while locked"
        q.done("a")
    assert got == ["b", "a"]


async def test_pq_many_workers_never_share_a_key() -> None:
    rng = random.Random(7)
    q: PriorityQueue[str] = PriorityQueue(clock=FakeClock())
    keys = [f"k{i}" for i in range(4)]
    in_flight: set[str] = set()
    pending = dict.fromkeys(keys, 0)

    async def worker() -> None:
        while True:
            key, shutdown = await q.get()
            if shutdown:
                return
            assert key is not None and key not in in_flight
            in_flight.add(key)
            pending[key] = 0
            for _ in range(rng.randint(0, 2)):
                await anyio.lowlevel.checkpoint()
            in_flight.discard(key)
            q.done(key)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(worker)
            for _ in range(2000):
                k = rng.choice(keys)
                q.add_with_opts(k, priority=rng.choice([-100, 0, 0, 5]))
                pending[k] += 1
                if rng.random() < 0.3:
                    await anyio.lowlevel.checkpoint()
            while len(q) or q.processing:
                await anyio.lowlevel.checkpoint()
            q.shut_down()
    assert all(n == 0 for n in pending.values()), pending


async def test_pq_shutdown_stops_hand_outs_at_once() -> None:
    q: PriorityQueue[str] = PriorityQueue(clock=FakeClock())
    results: list[tuple[str | None, bool]] = []

    async def worker() -> None:
        results.append(await q.get())

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        q.shut_down()
    q.add("a")  # ignored
    assert results == [(None, True)]
    with anyio.fail_after(1):
        assert await q.get_with_priority() == (None, 0, True)
        await q.shut_down_with_drain()


async def test_pq_blocked_getter_wakes_at_ready_time() -> None:
    clock = FakeClock()
    q: PriorityQueue[str] = PriorityQueue(clock=clock)
    got: list[float] = []

    async def worker() -> None:
        with anyio.fail_after(5):
            await q.get()
        got.append(clock.now())

    async with anyio.create_task_group() as tg:
        q.add_after("a", 2.0)
        tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        q.add_after("b", 0.5)  # earlier: the sleeper re-arms
        await anyio.wait_all_tasks_blocked()
        await clock.advance(0.5)
    assert got == [1000.5]


async def test_pq_metrics_depth_by_priority() -> None:
    clock = FakeClock()
    name = "test-pq-metrics"
    lbl = {"name": name, "controller": name}
    q: PriorityQueue[str] = PriorityQueue(name, clock=clock)
    q.add_with_opts("a", priority=-100)
    q.add("b")
    q.add("b")  # already ready: not an add
    q.add_with_opts("a", priority=0)  # raised: depth moves between priority series
    assert sample("workqueue_adds_total", lbl) == 2
    assert sample("workqueue_depth", {**lbl, "priority": "-100"}) == 0
    assert sample("workqueue_depth", {**lbl, "priority": "0"}) == 2
    assert sample("workqueue_depth", {**lbl, "priority": ""}) is None
    q.add_after("c", 0)  # no delay: not a retry
    q.add_after("d", 1.0)
    assert sample("workqueue_retries_total", lbl) == 1
    clock.step(0.5)
    key, _ = await q.get()
    assert key == "b"
    assert sample("workqueue_queue_duration_seconds_sum", lbl) == 0.5
    for p in range(30):
        q.add_with_opts(f"p{p}", priority=p)
    assert sample("workqueue_depth", {**lbl, "priority": "exceeded_cardinality_limit"})


async def test_pq_keys_becoming_ready_together_reach_every_idle_worker() -> None:
    """c-r hands ready keys to every waiting getter. Keys that become ready at (nearly) the
    same time, or are added in one call, must run concurrently on idle workers instead of
    waiting for the one worker that happened to wake first."""
    clock = FakeClock()
    q: PriorityQueue[str] = PriorityQueue(clock=clock)
    in_flight: set[str] = set()
    release = anyio.Event()

    async def worker() -> None:
        while True:
            key, shutdown = await q.get()
            if shutdown:
                return
            assert key is not None
            in_flight.add(key)
            await release.wait()
            in_flight.discard(key)
            q.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker)
        await anyio.wait_all_tasks_blocked()
        for i in range(4):  # RequeueAfter 30 s for four keys, a few ms apart
            q.add_after(f"x{i}", 30 + i * 0.01)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(31)
        assert in_flight == {"x0", "x1", "x2", "x3"}
        release.set()
        await anyio.wait_all_tasks_blocked()
        release = anyio.Event()
        q.add_with_opts("a", "b", "c")
        await anyio.wait_all_tasks_blocked()
        assert in_flight == {"a", "b", "c"}
        release.set()
        await anyio.wait_all_tasks_blocked()
        q.shut_down()


@pytest.mark.parametrize("kind", ["fifo", "priority"])
async def test_queue_latency_of_a_delayed_key_counts_from_its_ready_time(kind: str) -> None:
    """client-go's waiting loop adds a delayed key when its time comes; the queue latency
    (the saturation signal) must include the time it then waited for a busy worker."""
    clock = FakeClock()
    name = f"test-delayed-latency-{kind}"
    lbl = {"name": name, "controller": name}
    q: RateLimitingQueue[str] | PriorityQueue[str] = (
        RateLimitingQueue(name=name, clock=clock)
        if kind == "fifo"
        else PriorityQueue(name, clock=clock)
    )
    q.add("busy")
    busy, _ = await q.get()
    assert busy == "busy"
    q.add_after("x", 1.0)
    clock.step(30.0)  # the only worker is busy for 30 s; "x" has been ready since 1 s
    q.done(busy)
    with anyio.fail_after(1):
        key, _ = await q.get()
    assert key == "x"
    assert sample("workqueue_queue_duration_seconds_sum", lbl) == 29.0


async def _settle() -> None:
    """Let every runnable task run until it blocks (cheaper than wait_all_tasks_blocked)."""
    for _ in range(200):
        await anyio.lowlevel.checkpoint()


@pytest.mark.parametrize("kind", ["fifo", "priority"])
@pytest.mark.parametrize("seed", range(4))
async def test_no_ready_key_waits_while_a_worker_is_idle(kind: str, seed: int) -> None:
    """Random adds, delayed adds, batches and requeues with 4 workers on a fake clock: at
    every quiet point, a ready key that is not being processed implies no idle worker."""
    rng = random.Random(seed)
    clock = FakeClock()
    pq: PriorityQueue[str] = PriorityQueue(clock=clock)
    fifo: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    q: PriorityQueue[str] | RateLimitingQueue[str] = pq if kind == "priority" else fifo
    idle = 0
    in_flight: set[str] = set()

    async def worker() -> None:
        nonlocal idle
        while True:
            idle += 1
            key, shutdown = await q.get()
            idle -= 1
            if shutdown:
                return
            assert key is not None and key not in in_flight
            in_flight.add(key)
            await clock.sleep(rng.choice([0, 0.5, 1, 3]))
            in_flight.discard(key)
            if rng.random() < 0.3:
                q.add_after(key, rng.choice([0.5, 1, 2]))
            q.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker)
        for step in range(150):
            for _ in range(rng.randint(0, 3)):
                key = f"k{rng.randint(0, 9)}"
                r = rng.random()
                if r < 0.4:
                    q.add(key)
                elif r < 0.8:
                    q.add_after(key, rng.choice([0.5, 1, 1.5, 2]))
                elif kind == "priority":
                    pq.add_with_opts(key, f"k{rng.randint(0, 9)}", priority=rng.choice([0, 5]))
                else:
                    fifo.add_rate_limited(key)
            await _settle()
            if idle and len(q):
                runnable = (
                    [e[2] for e in pq._ready if pq._live_ready(e) and e[2] not in pq._locked]
                    if kind == "priority"
                    else list(fifo._queue)
                )
                assert not runnable, (step, idle, runnable)
            clock.step(0.5)
            await _settle()
        q.shut_down()
        tg.cancel_scope.cancel()
