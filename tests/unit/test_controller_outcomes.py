"""The reconcile outcome table (framework-anchors §1.2), worker survival, concurrency,
start/stop order and builder validation: controllers fed by an in-memory channel source,
with the real RateLimitingQueue driven by a FakeClock where timing matters."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import pytest

from runtime import metrics
from runtime.builder import Builder
from runtime.clock import FakeClock
from runtime.controller import Controller, WorkQueue
from runtime.handler import EnqueueRequestsFromMapFunc
from runtime.log import JSONFormatter
from runtime.priorityqueue import PriorityQueue
from runtime.reconcile import Request, Result, TerminalError, current
from runtime.source import Channel
from runtime.testing.eventually import eventually
from runtime.workqueue import RateLimitingQueue

pytestmark = pytest.mark.anyio

Action = Result | BaseException | Callable[[Request], Awaitable[Result]] | None


def obj(name: str, ns: str = "ns") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}}


def sample(name: str, controller: str, **labels: str) -> float:
    v = metrics.REGISTRY.get_sample_value(name, {"controller": controller, **labels})
    return v or 0.0


def total(controller: str, result: str) -> float:
    return sample("controller_runtime_reconcile_total", controller, result=result)


class RecordingQueue(RateLimitingQueue[Request]):
    """The real queue, recording the controller's post-reconcile calls."""

    def __init__(self, clock: Any = None, name: str = "") -> None:
        super().__init__(name=name, clock=clock) if clock is not None else super().__init__(
            name=name)
        self.calls: list[tuple[Any, ...]] = []

    def forget(self, item: Request) -> None:
        self.calls.append(("forget", item))
        super().forget(item)

    def add_after(self, item: Request, seconds: float) -> None:
        self.calls.append(("add_after", item, seconds))
        super().add_after(item, seconds)

    def add_rate_limited(self, item: Request) -> None:
        self.calls.append(("add_rate_limited", item))
        # Bypass our add_after recording: the limiter computes the delay.
        RateLimitingQueue.add_after(self, item, self.rate_limiter.when(item))


class Scripted:
    """A reconciler playing back actions; records every call and its reconcile id."""

    def __init__(self, *actions: Action, default: Action = None) -> None:
        self.actions = list(actions)
        self.default = default if default is not None else Result()
        self.calls: list[Request] = []
        self.ids: list[str] = []

    async def reconcile(self, req: Request) -> Result:
        self.calls.append(req)
        ctx = current()
        assert ctx is not None and ctx.request == req
        self.ids.append(ctx.reconcile_id)
        action = self.actions.pop(0) if self.actions else self.default
        if isinstance(action, BaseException):
            raise action
        if callable(action):
            return await action(req)
        return action  # type: ignore[return-value]


@asynccontextmanager
async def running(ctrl: Controller) -> AsyncIterator[anyio.abc.ObjectSendStream[Any]]:
    send, recv = anyio.create_memory_object_stream[Any](100)
    ctrl.watch(Channel(recv))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        yield send
        stopping.set()


def make(name: str, rec: Any, clock: FakeClock | None = None, **kw: Any
         ) -> tuple[Controller, RecordingQueue]:
    q = RecordingQueue(clock)
    return Controller(name, rec, queue=q, **kw), q


async def settle() -> None:
    await anyio.wait_all_tasks_blocked()



R = Request("ns", "a")


class ConfigMapT:
    """A resource type for Kind sources over the fake caches."""

    __group__ = ""
    __version__ = "v1"
    __kind__ = "ConfigMap"


async def test_zero_result_forgets_and_counts_success() -> None:
    rec = Scripted(Result())
    ctrl, q = make("oc-success", rec, FakeClock())
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
    assert rec.calls == [R]
    assert q.calls == [("forget", R)]
    assert total("oc-success", "success") == 1
    for r in ("error", "requeue", "requeue_after"):
        assert total("oc-success", r) == 0  # pre-initialised series exist at 0
    assert sample("controller_runtime_reconcile_time_seconds_count", "oc-success") == 1
    assert sample("controller_runtime_active_workers", "oc-success") == 0


async def test_requeue_after_forgets_then_adds_after() -> None:
    clock = FakeClock()
    rec = Scripted(Result(requeue_after=30), Result())
    ctrl, q = make("oc-after", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        assert q.calls == [("forget", R), ("add_after", R, 30)]
        await clock.advance(29.9)
        assert len(rec.calls) == 1
        await clock.advance(0.1)
        assert len(rec.calls) == 2
    assert total("oc-after", "requeue_after") == 1
    assert total("oc-after", "success") == 1


async def test_requeue_after_resets_backoff() -> None:
    clock = FakeClock()
    rec = Scripted(RuntimeError("x"), RuntimeError("y"), Result(requeue_after=1))
    ctrl, q = make("oc-reset", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        await clock.advance(0.005)
        await clock.advance(0.010)
        assert len(rec.calls) == 3
        assert q.num_requeues(R) == 0  # forgotten by the requeue_after outcome


async def test_requeue_true_is_rate_limited() -> None:
    clock = FakeClock()
    rec = Scripted(Result(requeue=True), Result())
    ctrl, q = make("oc-requeue", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        assert q.calls == [("add_rate_limited", R)]
        assert q.num_requeues(R) == 1
        await clock.advance(0.005)
    assert len(rec.calls) == 2
    assert total("oc-requeue", "requeue") == 1


async def test_exception_retried_with_exponential_backoff_and_worker_survives() -> None:
    clock = FakeClock()
    rec = Scripted(ValueError("boom1"), ValueError("boom2"), ValueError("boom3"), Result())
    ctrl, q = make("oc-error", rec, clock)
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(JSONFormatter())
    logger = logging.getLogger("runtime.controller")
    logger.addHandler(h)
    try:
        async with running(ctrl) as send:
            await send.send(obj("a"))
            await settle()
            assert len(rec.calls) == 1
            # 5 ms, 10 ms, 20 ms: client-go's per-item exponential backoff.
            for delay, calls in ((0.005, 2), (0.010, 3), (0.020, 4)):
                await clock.advance(delay - 0.0001)
                assert len(rec.calls) == calls - 1
                await clock.advance(0.0001)
                assert len(rec.calls) == calls
            # The same worker goes on serving other keys.
            await send.send(obj("b"))
            await settle()
            assert rec.calls[-1] == Request("ns", "b")
    finally:
        logger.removeHandler(h)
    assert q.calls[:3] == [("add_rate_limited", R)] * 3
    assert total("oc-error", "error") == 3
    assert sample("controller_runtime_reconcile_errors_total", "oc-error") == 3
    assert sample("controller_runtime_reconcile_panics_total", "oc-error") == 0
    assert total("oc-error", "success") == 2
    errors = [json.loads(line) for line in buf.getvalue().splitlines()
              if '"Reconciler error' in line]
    assert len(errors) == 3
    assert [e["reconcileID"] for e in errors] == rec.ids[:3]
    assert len(set(rec.ids)) == len(rec.ids)  # a fresh id per reconcile
    assert errors[0]["controller"] == "oc-error" and errors[0]["name"] == "a"
    assert "boom1" in errors[0]["error"]


async def test_terminal_error_is_not_requeued() -> None:
    clock = FakeClock()
    rec = Scripted(TerminalError("bad spec"), Result())
    ctrl, q = make("oc-terminal", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        await clock.advance(2000)
        assert rec.calls == [R]
        assert q.calls == []
        # A new event for the object reconciles it again.
        await send.send(obj("a"))
        await settle()
        assert len(rec.calls) == 2
    assert total("oc-terminal", "error") == 1
    assert sample("controller_runtime_terminal_reconcile_errors_total", "oc-terminal") == 1
    assert sample("controller_runtime_reconcile_errors_total", "oc-terminal") == 1


async def test_panics_are_counted_and_retried() -> None:
    clock = FakeClock()

    async def returns_none(req: Request) -> Result:
        return None  # type: ignore[return-value]

    rec = Scripted(AttributeError("no attr"), returns_none, Result())
    ctrl, q = make("oc-panic", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        await clock.advance(0.005)
        await clock.advance(0.010)
    assert len(rec.calls) == 3
    assert sample("controller_runtime_reconcile_panics_total", "oc-panic") == 2
    assert total("oc-panic", "error") == 2
    assert q.calls[:2] == [("add_rate_limited", R)] * 2


async def test_reconcile_timeout() -> None:
    async def hang(req: Request) -> Result:
        await anyio.sleep(30)
        return Result()

    rec = Scripted(hang, Result())
    ctrl, q = make("oc-timeout", rec, reconcile_timeout=0.05)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await eventually(lambda: len(rec.calls) >= 2)
    assert sample("controller_runtime_reconcile_timeouts_total", "oc-timeout") == 1
    assert total("oc-timeout", "error") == 1
    assert q.calls[0] == ("add_rate_limited", R)


async def test_same_key_never_concurrent_with_four_workers() -> None:
    in_flight: dict[Request, int] = {}
    max_per_key = 0
    max_total = 0
    done = 0

    async def work(req: Request) -> Result:
        nonlocal max_per_key, max_total, done
        in_flight[req] = in_flight.get(req, 0) + 1
        max_per_key = max(max_per_key, in_flight[req])
        max_total = max(max_total, sum(in_flight.values()))
        assert sample("controller_runtime_active_workers", "oc-conc") >= 1
        await anyio.sleep(random.uniform(0, 0.01))
        in_flight[req] -= 1
        done += 1
        return Result()

    rec = Scripted(default=work)
    ctrl, _ = make("oc-conc", rec, max_concurrent_reconciles=4)
    rnd = random.Random(7)
    async with running(ctrl) as send:
        for _ in range(300):
            await send.send(obj(rnd.choice("abcdef")))
            if rnd.random() < 0.3:
                await anyio.sleep(0.001)
        q: Any = ctrl.queue
        await eventually(lambda: not len(q) and not q.processing, 10)
    assert max_per_key == 1
    assert max_total > 1  # the workers did run in parallel
    assert done == len(rec.calls) > 6
    assert sample("controller_runtime_max_concurrent_reconciles", "oc-conc") == 4
    assert sample("controller_runtime_active_workers", "oc-conc") == 0


async def test_shutdown_waits_for_in_flight_reconcile() -> None:
    started, release = anyio.Event(), anyio.Event()
    finished: list[Request] = []

    async def slow(req: Request) -> Result:
        started.set()
        await release.wait()
        finished.append(req)
        return Result()

    ctrl, _ = make("oc-drain", Scripted(default=slow))
    send, recv = anyio.create_memory_object_stream[Any](10)
    ctrl.watch(Channel(recv))
    stopping = anyio.Event()
    returned = anyio.Event()

    async def run() -> None:
        await ctrl.start(stopping)
        returned.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await send.send(obj("a"))
        with anyio.fail_after(5):
            await started.wait()
        stopping.set()
        await settle()
        assert not returned.is_set()  # still waiting for the in-flight reconcile
        assert ctrl.queue.shutting_down()
        release.set()
        with anyio.fail_after(5):
            await returned.wait()
    assert finished == [R]


class GatedSource:
    """A syncing source that syncs only when told to."""

    def __init__(self) -> None:
        self.synced = anyio.Event()
        self.queue: WorkQueue | None = None

    async def start(self, tg: anyio.abc.TaskGroup, queue: WorkQueue) -> None:
        self.queue = queue

    async def wait_for_sync(self) -> None:
        await self.synced.wait()


async def test_workers_start_only_after_sources_synced() -> None:
    rec = Scripted()
    ctrl, _ = make("oc-sync", rec)
    src = GatedSource()
    ctrl.watch(src)
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        await settle()
        assert src.queue is not None  # sources were started first
        src.queue.add(R)
        await anyio.sleep(0.05)
        assert rec.calls == []
        src.synced.set()
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        await eventually(lambda: bool(rec.calls))
        stopping.set()
    assert rec.calls == [R]


async def test_cache_sync_timeout_fails_start() -> None:
    ctrl, _ = make("oc-synctimeout", Scripted(), cache_sync_timeout=0.05)
    ctrl.watch(GatedSource())
    with pytest.raises(TimeoutError):
        await ctrl.start(anyio.Event())


async def test_stop_before_sync_returns() -> None:
    ctrl, _ = make("oc-stopearly", Scripted())
    ctrl.watch(GatedSource())
    stopping = anyio.Event()
    stopping.set()
    with anyio.fail_after(5):
        await ctrl.start(stopping)
    assert not ctrl.synced.is_set()


async def test_bad_map_function_does_not_stop_delivery() -> None:
    rec = Scripted(default=Result())

    def map_fn(o: Any) -> list[Request]:
        if o["metadata"]["name"] == "bad":
            raise KeyError("oops")
        return [Request("ns", "mapped-" + o["metadata"]["name"])]

    ctrl, _ = make("oc-map", rec)
    send, recv = anyio.create_memory_object_stream[Any](10)
    ctrl.watch(Channel(recv, EnqueueRequestsFromMapFunc(map_fn)))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        await send.send(obj("bad"))
        await send.send(obj("good"))
        await eventually(lambda: bool(rec.calls))
        stopping.set()
    assert rec.calls == [Request("ns", "mapped-good")]


# --------------------------------------------------------------------------- builder


class FakeCache:
    def __init__(self) -> None:
        self.informers: list[tuple[Any, bool]] = []

    async def informer_for(self, resource: Any, metadata_only: bool = False) -> Any:
        self.informers.append((resource, metadata_only))
        return FakeInformer()


class FakeManager:
    def __init__(self) -> None:
        self.cache = FakeCache()
        self.runnables: list[Any] = []
        self.names: set[str] = set()

    def register_controller_name(self, name: str) -> None:
        if name in self.names:
            raise ValueError(f"controller with name {name!r} already exists")
        self.names.add(name)

    def add(self, r: Any) -> None:
        self.runnables.append(r)


def test_builder_rejects_owns_without_for() -> None:
    from lightkube.resources.core_v1 import ConfigMap

    with pytest.raises(ValueError, match="owns"):
        Builder(FakeManager(), name="x").owns(ConfigMap).complete(Scripted())


def test_builder_rejects_duplicate_names_and_double_for() -> None:
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap

    mgr = FakeManager()
    c = Builder(mgr).for_(Deployment).owns(ConfigMap).complete(Scripted())
    assert c.name == "deployment"  # default name: lowercase kind
    with pytest.raises(ValueError, match="already exists"):
        Builder(mgr).for_(Deployment).complete(Scripted())
    with pytest.raises(ValueError, match="once"):
        Builder(mgr, name="y").for_(Deployment).for_(ConfigMap).complete(Scripted())
    with pytest.raises(ValueError, match="name"):
        Builder(mgr).watches(ConfigMap, lambda o: []).complete(Scripted())
    with pytest.raises(ValueError, match="no watches"):
        Builder(mgr, name="empty").complete(Scripted())
    assert mgr.runnables == [c]


def test_builder_wires_sources_and_predicates() -> None:
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap, Secret

    from runtime.handler import EnqueueRequestForObject, EnqueueRequestForOwner
    from runtime.predicate import GenerationChangedPredicate, LabelChangedPredicate
    from runtime.source import Kind

    gen, lab = GenerationChangedPredicate(), LabelChangedPredicate()
    mgr = FakeManager()
    c = (Builder(mgr, name="wired")
         .for_(Deployment).with_predicates(gen)
         .owns(ConfigMap, metadata_only=True)
         .watches(Secret, lambda o: [])
         .with_event_filter(lab)
         .max_concurrent(3)
         .reconcile_timeout(9)
         .complete(Scripted()))
    kinds = [s for s in c._sources if isinstance(s, Kind)]
    assert [k.resource for k in kinds] == [Deployment, ConfigMap, Secret]
    assert isinstance(kinds[0].handler, EnqueueRequestForObject)
    assert isinstance(kinds[1].handler, EnqueueRequestForOwner)
    assert kinds[1].handler.kind == "Deployment" and kinds[1].handler.only_controller
    assert isinstance(kinds[2].handler, EnqueueRequestsFromMapFunc)
    assert kinds[0].predicates == [lab, gen]
    assert kinds[1].predicates == [lab] and kinds[1].metadata_only
    assert c.max_concurrent_reconciles == 3 and c.reconcile_timeout == 9
    assert c.watched_resources() == [(Deployment, False), (ConfigMap, True), (Secret, False)]
    assert (c.kind, c.group) == ("Deployment", "apps")


async def test_async_map_function_runs_in_source_group() -> None:
    rec = Scripted(default=Result())

    async def map_fn(o: Any) -> list[Request]:
        await anyio.sleep(0.001)  # e.g. a cache read
        return [Request("ns", "owner-of-" + o["metadata"]["name"])]

    ctrl, _ = make("oc-amap", rec)
    send, recv = anyio.create_memory_object_stream[Any](10)
    ctrl.watch(Channel(recv, EnqueueRequestsFromMapFunc(map_fn)))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        await send.send(obj("x"))
        await eventually(lambda: bool(rec.calls))
        stopping.set()
    assert rec.calls == [Request("ns", "owner-of-x")]


async def test_informers_are_created_when_the_controller_starts() -> None:
    """Not when the controller is built: the manager's cache may start without them, and the
    controller's start (bounded by its cache_sync_timeout) is where a missing kind shows."""
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap

    mgr = FakeManager()
    ctrl = (Builder(mgr).for_(Deployment).owns(ConfigMap, metadata_only=True)
            .complete(Scripted()))
    assert mgr.cache.informers == []
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        stopping.set()
    assert sorted(mgr.cache.informers, key=repr) == sorted(
        [(Deployment, False), (ConfigMap, True)], key=repr)


async def test_logs_carry_controller_runtime_keys_and_redact_secrets() -> None:
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(JSONFormatter())
    user = logging.getLogger("test.user")
    user.addHandler(h)
    user.setLevel(logging.INFO)

    async def logs(req: Request) -> Result:
        user.info("working", extra={"replicas": 3, "api_token": "s3cr3t", "password": "pw"})
        return Result()

    rec = Scripted(logs)
    q = RecordingQueue(FakeClock())
    ctrl = Controller("oc-log", rec, queue=q, kind="Deployment", group="apps")
    try:
        async with running(ctrl) as send:
            await send.send(obj("a"))
            await settle()
    finally:
        user.removeHandler(h)
    line = json.loads(buf.getvalue().splitlines()[0])
    assert line["msg"] == "working" and line["level"] == "info" and line["logger"] == "test.user"
    assert line["controller"] == "oc-log"
    assert line["controllerKind"] == "Deployment" and line["controllerGroup"] == "apps"
    assert line["Deployment"] == {"name": "a", "namespace": "ns"}
    assert (line["namespace"], line["name"]) == ("ns", "a")
    assert line["reconcileID"] == rec.ids[0]
    assert line["replicas"] == 3
    assert line["api_token"] == "<redacted>" and line["password"] == "<redacted>"
    assert "s3cr3t" not in buf.getvalue()


async def test_no_new_reconcile_starts_after_shutdown() -> None:
    started, release = anyio.Event(), anyio.Event()
    seen: list[Request] = []

    async def slow(req: Request) -> Result:
        seen.append(req)
        started.set()
        await release.wait()
        return Result()

    ctrl, q = make("oc-noqueue", Scripted(default=slow))
    send, recv = anyio.create_memory_object_stream[Any](10)
    ctrl.watch(Channel(recv))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        await send.send(obj("a"))
        with anyio.fail_after(5):
            await started.wait()
        await send.send(obj("b"))  # queued behind the single worker
        await settle()
        assert len(q) == 1
        stopping.set()
        await settle()
        release.set()
    assert seen == [R]  # "b" was dropped at shutdown, not reconciled


# --------------------------------------------------------------------------- priority queue


class RecordingPQ(PriorityQueue[Request]):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__("", clock=clock)
        self.calls: list[tuple[Any, ...]] = []

    def forget(self, item: Request) -> None:
        self.calls.append(("forget", item))
        super().forget(item)

    def add_with_opts(self, *items: Request, after: float = 0.0, rate_limited: bool = False,
                      priority: int | None = None) -> None:
        self.calls.append(("add_with_opts", items, after, rate_limited, priority))
        super().add_with_opts(*items, after=after, rate_limited=rate_limited, priority=priority)


class FakeInformer:
    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def add_event_handler(self, h: Any, concurrency: int = 4) -> None:
        self.handlers.append(h)

    async def wait_for_sync(self) -> None:
        return None


class OneInformerCache:
    def __init__(self) -> None:
        self.informer = FakeInformer()

    async def informer_for(self, resource: Any, metadata_only: bool = False) -> FakeInformer:
        return self.informer


def test_priority_queue_is_the_default() -> None:
    assert isinstance(Controller("oc-default-q", Scripted()).queue, PriorityQueue)
    assert isinstance(Controller("oc-fifo-q", Scripted(), use_priority_queue=False).queue,
                      RateLimitingQueue)


async def test_priority_queue_outcomes_keep_priority() -> None:
    from runtime.handler import LOW_PRIORITY, EnqueueRequestForObject
    from runtime.source import Kind

    clock = FakeClock()
    rec = Scripted(RuntimeError("x"), Result(requeue_after=7), Result(requeue=True), Result())
    q = RecordingPQ(clock)
    ctrl = Controller("oc-pq", rec, queue=q)
    cache = OneInformerCache()
    ctrl.watch(Kind(cache, ConfigMapT, EnqueueRequestForObject()))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        (h,) = cache.informer.handlers
        h.on_add(obj("a"), True)  # initial list: low priority
        await settle()
        await clock.advance(0.005)  # backoff after the error
        await clock.advance(7)  # requeue_after
        await clock.advance(0.005)  # requeue=True: rate limited
        stopping.set()
    assert len(rec.calls) == 4
    assert q.calls == [
        ("add_with_opts", (R,), 0.0, False, LOW_PRIORITY),  # the event
        ("add_with_opts", (R,), 0.0, True, LOW_PRIORITY),  # error: rate limited, same priority
        ("forget", R), ("add_with_opts", (R,), 7, False, LOW_PRIORITY),  # requeue_after
        ("add_with_opts", (R,), 0.0, True, LOW_PRIORITY),  # requeue
        ("forget", R),  # success
    ]


async def test_initial_list_and_resync_yield_to_new_events() -> None:
    from runtime.handler import EnqueueRequestForObject
    from runtime.source import Kind

    order: list[str] = []
    gate = anyio.Event()

    async def first(req: Request) -> Result:
        order.append(req.name)
        await gate.wait()
        return Result()

    async def record(req: Request) -> Result:
        order.append(req.name)
        return Result()

    ctrl = Controller("oc-pq-order", Scripted(first, default=record),
                      queue=PriorityQueue[Request]("", clock=FakeClock()))
    cache = OneInformerCache()
    ctrl.watch(Kind(cache, ConfigMapT, EnqueueRequestForObject()))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        (h,) = cache.informer.handlers
        h.on_add(obj("busy"), False)
        await settle()  # the single worker is now blocked on "busy"
        for i in range(3):
            h.on_add(obj(f"old{i}"), True)
        same = {"metadata": {"name": "resync", "namespace": "ns", "resourceVersion": "5"}}
        h.on_update(same, dict(same))
        newer = {"metadata": {"name": "changed", "namespace": "ns", "resourceVersion": "6"}}
        h.on_update(same, newer)
        h.on_add(obj("new"), False)
        gate.set()
        await settle()
        stopping.set()
    assert order == ["busy", "changed", "new", "old0", "old1", "old2", "resync"]


async def test_leader_fence_holds_reconciles_back() -> None:
    from runtime.controller import FENCE_RETRY

    clock = FakeClock()
    rec = Scripted(default=Result())
    ctrl, q = make("oc-fence", rec, clock)
    leading = False
    ctrl.set_leader_fence(lambda: leading)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        assert rec.calls == []  # not sure we lead: no reconcile starts
        assert q.calls == [("add_after", R, FENCE_RETRY)]
        await clock.advance(FENCE_RETRY)
        assert rec.calls == []  # still fenced: retried again
        leading = True
        await clock.advance(FENCE_RETRY)
        assert rec.calls == [R]
    assert total("oc-fence", "success") == 1
    assert sample("controller_runtime_reconcile_time_seconds_count", "oc-fence") == 1


# --------------------------------------------------------------------------- panics


def _raised(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as e:
        return e
    raise AssertionError("did not raise")


class _Own:
    """A reconciler of this (uninstalled) test package."""


@pytest.mark.parametrize(
    ("make_error", "panic"),
    [
        # the program's own bugs: Go would have panicked
        (lambda: None.name, True),  # type: ignore[attr-defined]  # nil dereference
        (lambda: [][1], True),  # index out of range
        (lambda: 1 // 0, True),
        (lambda: len(None), True),  # type: ignore[arg-type]
        (lambda: _assert_false(), True),
        # failed operations and refused input: errors, whatever the type
        (lambda: {}["missing"], False),  # a map miss is no panic in Go either
        (lambda: int("x"), False),  # ValueError
        (lambda: _raise(RuntimeError("apiserver said no")), False),
        # a library refusing an argument: its TypeError is an error, not our panic
        (lambda: __import__("httpx2").URL(123), False),
        (lambda: __import__("json").dumps(object()), False),  # stdlib TypeError
    ],
)
def test_what_counts_as_a_panic(make_error: Any, panic: bool) -> None:
    from runtime.controller import is_panic

    assert is_panic(_raised(make_error), _Own()) is panic


def _assert_false() -> None:
    raise AssertionError("unreachable")


def _raise(e: Exception) -> None:
    raise e


async def test_a_library_type_error_is_an_error_not_a_panic() -> None:
    """Before: every TypeError/AttributeError counted as a panic, a library's included."""
    import json

    clock = FakeClock()

    async def library_refuses(req: Request) -> Result:
        json.dumps(object())  # TypeError from the standard library
        return Result()

    rec = Scripted(library_refuses, Result())
    ctrl, _q = make("oc-libtypeerror", rec, clock)
    async with running(ctrl) as send:
        await send.send(obj("a"))
        await settle()
        await clock.advance(0.005)
    assert sample("controller_runtime_reconcile_errors_total", "oc-libtypeerror") == 1
    assert sample("controller_runtime_reconcile_panics_total", "oc-libtypeerror") == 0
    assert len(rec.calls) == 2  # retried with backoff
