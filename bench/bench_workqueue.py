"""Work queue throughput (design budget: add+get+done >= 50k ops/s).

Figures (one "op" = one key through add + get + done, i.e. three queue calls):

* ``workqueue_ops_per_s``: one worker, named queue (metrics on, as controllers run it).
* ``workqueue_ops_nometrics_per_s``: the same without metrics (the queue's own cost).
* ``workqueue_ops_8_workers_per_s``: a producer adding 10 keys per event-loop turn and 8
  concurrent workers, which mostly block in ``get`` (the wake-up path).
* ``workqueue_dedup_adds_per_s``: ``add`` of a key already queued (the informer-storm case).
* ``workqueue_rate_limited_adds_per_s``: ``add_rate_limited`` of distinct keys with the default
  controller rate limiter (exponential + bucket, heap insert).
* ``workqueue_add_after_ops_per_s``: ``add_after`` with an elapsed delay, then get + done (the
  delayed-promotion path).
* ``priorityqueue_ops_per_s``: controller-runtime's priority queue, one worker, metrics on,
  keys at two priorities.
"""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel

from bench._results import print_table, record
from runtime.clock import FakeClock
from runtime.workqueue import DelayingQueue, PriorityQueue, Queue, RateLimitingQueue

N = 200_000
BATCH = 1_000


async def _single_worker(q: Queue[int], n: int) -> float:
    t0 = time.perf_counter()
    for base in range(0, n, BATCH):
        for i in range(base, base + BATCH):
            q.add(i)
        for _ in range(BATCH):
            item, _shutdown = await q.get()
            q.done(item)  # type: ignore[arg-type]
    return n / (time.perf_counter() - t0)


async def _many_workers(n: int, workers: int) -> float:
    q: Queue[int] = Queue("bench-workers")
    processed = 0

    async def worker() -> None:
        nonlocal processed
        while True:
            item, shutdown = await q.get()
            if shutdown:
                return
            processed += 1
            q.done(item)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
        for base in range(0, n, 10):
            for i in range(base, base + 10):
                q.add(i)
            await anyio.lowlevel.checkpoint()  # let workers run, as an informer's handler would
        await q.shut_down_with_drain()
    elapsed = time.perf_counter() - t0
    assert processed == n, processed
    return n / elapsed


def _dedup_adds(n: int) -> float:
    q: Queue[str] = Queue("bench-dedup")
    q.add("same")
    t0 = time.perf_counter()
    for _ in range(n):
        q.add("same")
    return n / (time.perf_counter() - t0)


def _rate_limited_adds(n: int) -> float:
    q: RateLimitingQueue[int] = RateLimitingQueue(name="bench-ratelimited")
    t0 = time.perf_counter()
    for i in range(n):
        q.add_rate_limited(i)
    rate = n / (time.perf_counter() - t0)
    q.shut_down()
    return rate


async def _add_after(n: int) -> float:
    clock = FakeClock()
    q: DelayingQueue[int] = DelayingQueue("bench-delaying", clock=clock)
    t0 = time.perf_counter()
    for base in range(0, n, BATCH):
        for i in range(base, base + BATCH):
            q.add_after(i, 0.001 * (i % 7 + 1))
        clock.step(1.0)
        for _ in range(BATCH):
            item, _shutdown = await q.get()
            q.done(item)  # type: ignore[arg-type]
    return n / (time.perf_counter() - t0)


async def _priority(n: int) -> float:
    q: PriorityQueue[int] = PriorityQueue("bench-priority")
    t0 = time.perf_counter()
    for base in range(0, n, BATCH):
        for i in range(base, base + BATCH):
            q.add_with_opts(i, priority=-100 if i & 1 else 0)
        for _ in range(BATCH):
            item, _shutdown = await q.get()
            q.done(item)  # type: ignore[arg-type]
    return n / (time.perf_counter() - t0)


async def _run() -> dict[str, float]:
    figures: dict[str, float] = {}
    # warm-up (allocations, label children, code paths)
    await _single_worker(Queue("bench"), 20_000)
    figures["workqueue_ops_per_s"] = max(
        [await _single_worker(Queue("bench"), N) for _ in range(3)]
    )
    figures["workqueue_ops_nometrics_per_s"] = max(
        [await _single_worker(Queue(), N) for _ in range(3)]
    )
    figures["workqueue_ops_8_workers_per_s"] = max([await _many_workers(N, 8) for _ in range(3)])
    figures["workqueue_dedup_adds_per_s"] = max(_dedup_adds(N) for _ in range(3))
    figures["workqueue_rate_limited_adds_per_s"] = max(_rate_limited_adds(N) for _ in range(3))
    figures["workqueue_add_after_ops_per_s"] = max([await _add_after(N) for _ in range(3)])
    figures["priorityqueue_ops_per_s"] = max([await _priority(N) for _ in range(3)])
    return {k: round(v) for k, v in figures.items()}


def main() -> dict[str, float]:
    figures = anyio.run(_run, backend="asyncio")
    print_table(figures, title="work queue (best of 3, 200k keys each)")
    record(figures)
    return figures


if __name__ == "__main__":
    main()
