"""runtime.leaderelection: client-go's algorithm, step by step on a FakeClock.

The Lease store here is an in-memory stand-in with the apiserver's optimistic concurrency
(resourceVersion, 404, 409); the real apiserver is exercised in
tests/integration/test_leaderelection.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any, cast

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta, Status
from lightkube.resources.coordination_v1 import Lease

from runtime import metrics
from runtime.clock import FakeClock
from runtime.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionError,
    LeaderElectionRecord,
    LeaderElector,
    default_identity,
)

pytestmark = pytest.mark.anyio

NS = "ns"
NAME = "lock"


def api_error(code: int, reason: str) -> ApiError:
    return ApiError(status=Status(code=code, reason=reason, message=reason))


class LeaseStore:
    """get/create/replace of one namespace's Leases with resourceVersion checks."""

    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        self.rv = 0
        self.writes = 0
        self.down = False  # every call fails with 503, like an unreachable apiserver

    def _check_up(self) -> None:
        if self.down:
            raise api_error(503, "ServiceUnavailable")

    def _bump(self, lease: Lease) -> Lease:
        self.rv += 1
        self.writes += 1
        assert lease.metadata is not None
        lease.metadata.resourceVersion = str(self.rv)
        self.leases[lease.metadata.name or ""] = copy.deepcopy(lease)
        return copy.deepcopy(lease)

    async def get(self, res: Any, name: str, *, namespace: str | None = None) -> Lease:
        assert res is Lease and namespace == NS
        self._check_up()
        if name not in self.leases:
            raise api_error(404, "NotFound")
        return copy.deepcopy(self.leases[name])

    async def create(self, obj: Lease) -> Lease:
        assert obj.metadata is not None and obj.metadata.name
        self._check_up()
        if obj.metadata.name in self.leases:
            raise api_error(409, "AlreadyExists")
        return self._bump(copy.deepcopy(obj))

    async def replace(self, obj: Lease) -> Lease:
        assert obj.metadata is not None and obj.metadata.name
        self._check_up()
        cur = self.leases.get(obj.metadata.name)
        if cur is None:
            raise api_error(404, "NotFound")
        assert cur.metadata is not None
        if obj.metadata.resourceVersion != cur.metadata.resourceVersion:
            raise api_error(409, "Conflict")
        return self._bump(copy.deepcopy(obj))

    def spec(self) -> LeaseSpec:
        spec = self.leases[NAME].spec
        assert spec is not None
        return spec

    def put_foreign(self, holder: str, *, renew: dt.datetime, duration: int = 15) -> None:
        """Another host writes the lease (its renewTime from its own clock)."""
        cur = self.leases.get(NAME)
        transitions = cur.spec.leaseTransitions if cur is not None and cur.spec else 0
        self._bump(
            Lease(
                metadata=ObjectMeta(name=NAME, namespace=NS),
                spec=LeaseSpec(
                    holderIdentity=holder,
                    leaseDurationSeconds=duration,
                    acquireTime=renew,
                    renewTime=renew,
                    leaseTransitions=transitions,
                ),
            )
        )


def elector(store: LeaseStore, clock: FakeClock, identity: str, **kw: Any) -> LeaderElector:
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity=identity, **kw)
    return LeaderElector(cast(AsyncClient, store), cfg, clock=clock)


# --------------------------------------------------------------------------- config


def test_defaults_are_controller_runtime_s() -> None:
    cfg = LeaderElectionConfig(lease_name="x", namespace="y")
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.request_timeout == 5.0  # max(renew_deadline / 2, 1 s)
    assert cfg.name == "x"
    assert cfg.release_on_cancel is False
    host, _, uid = cfg.identity.rpartition("_")
    assert host and len(uid) == 36
    assert default_identity() != default_identity()
    assert LeaderElectionConfig("x", "y", renew_deadline=1.5, retry_period=1).request_timeout == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"lease_duration": 10.0}, "lease_duration must be greater than renew_deadline"),
        ({"retry_period": 9.0}, "renew_deadline must be greater than retry_period"),
        ({"identity": ""}, "identity"),
        ({"lease_duration": 0.9, "renew_deadline": 0.5, "retry_period": 0.1}, "at least 1 s"),
        ({"retry_period": 0.0}, "retry_period"),
    ],
)
def test_invalid_configs_are_rejected(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(LeaderElectionError, match=message):
        LeaderElectionConfig(lease_name="x", namespace="y", **kw)


def test_record_round_trips_through_lease_spec() -> None:
    t = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    rec = LeaderElectionRecord("me", 15, t, t, 3)
    assert LeaderElectionRecord.from_spec(rec.to_spec()) == rec
    assert LeaderElectionRecord.from_spec(None) == LeaderElectionRecord()
    # an empty holder is written explicitly (release), not omitted
    assert LeaderElectionRecord().to_spec().to_dict()["holderIdentity"] == ""


# --------------------------------------------------------------------------- algorithm


async def test_first_candidate_creates_the_lease() -> None:
    store, clock = LeaseStore(), FakeClock()
    a = elector(store, clock, "a")
    assert await a.try_acquire_or_renew()
    spec = store.spec()
    assert spec.holderIdentity == "a"
    assert spec.leaseDurationSeconds == 15
    assert spec.leaseTransitions == 0
    assert a.is_leader() and a.get_leader() == "a"


async def test_held_lease_expires_by_the_observers_clock_not_the_holders() -> None:
    """A renewTime from a host whose clock is a day behind does not make the lease look
    expired: expiry counts from when we observed the record, exactly lease_duration later."""
    store, clock = LeaseStore(), FakeClock()
    ancient = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    store.put_foreign("ghost", renew=ancient, duration=15)
    b = elector(store, clock, "b")
    assert not await b.try_acquire_or_renew()  # observed now (t=1000)
    assert b.get_leader() == "ghost"
    observed = clock.now()
    clock.set_time(observed + 14.999)
    assert not await b.try_acquire_or_renew()
    clock.set_time(observed + 15)  # valid while observed + 15 s is after now: expired now
    assert await b.try_acquire_or_renew()
    assert store.spec().holderIdentity == "b"
    assert store.spec().leaseTransitions == 1


async def test_renewals_by_the_holder_reset_the_observed_time() -> None:
    store, clock = LeaseStore(), FakeClock()
    now = dt.datetime.now(dt.UTC)
    store.put_foreign("ghost", renew=now, duration=15)
    b = elector(store, clock, "b")
    assert not await b.try_acquire_or_renew()
    for i in range(1, 5):
        clock.step(10)
        store.put_foreign("ghost", renew=now + dt.timedelta(seconds=10 * i), duration=15)
        assert not await b.try_acquire_or_renew()  # 40 s in, never expired: it keeps renewing
    clock.step(15.001)
    assert await b.try_acquire_or_renew()


async def test_an_empty_holder_is_acquired_at_once() -> None:
    store, clock = LeaseStore(), FakeClock()
    store.put_foreign("", renew=dt.datetime.now(dt.UTC), duration=15)
    b = elector(store, clock, "b")
    assert await b.try_acquire_or_renew()
    assert store.spec().holderIdentity == "b"


async def test_renew_keeps_acquire_time_and_transitions() -> None:
    store, clock = LeaseStore(), FakeClock()
    a = elector(store, clock, "a")
    assert await a.try_acquire_or_renew()
    first = store.spec()
    clock.step(2)
    writes = store.writes
    assert await a.try_acquire_or_renew()  # fast path: one write, no read
    assert store.writes == writes + 1
    spec = store.spec()
    assert spec.acquireTime == first.acquireTime
    assert spec.leaseTransitions == first.leaseTransitions
    assert spec.renewTime is not None and first.renewTime is not None
    assert spec.renewTime >= first.renewTime


async def test_conflicting_fast_path_falls_back_to_the_slow_path() -> None:
    store, clock = LeaseStore(), FakeClock()
    label = {"name": "lock-slowpath"}
    a = elector(store, clock, "a", name="lock-slowpath")
    assert await a.try_acquire_or_renew()
    before = metrics.REGISTRY.get_sample_value("leader_election_slowpath_total", label) or 0.0
    # someone rewrites the lease with us still as holder (new resourceVersion)
    spec = store.spec()
    assert spec.renewTime is not None
    store.put_foreign("a", renew=spec.renewTime, duration=15)
    clock.step(2)
    assert await a.try_acquire_or_renew()
    assert metrics.REGISTRY.get_sample_value("leader_election_slowpath_total", label) == (
        before + 1
    )


async def test_lost_race_to_take_over_returns_false() -> None:
    store, clock = LeaseStore(), FakeClock()
    store.put_foreign("", renew=dt.datetime.now(dt.UTC))
    b = elector(store, clock, "b")
    c = elector(store, clock, "c")
    # both read the free lease, c writes first: b's update must conflict
    _, rec_b = await b._get()
    assert rec_b.holder_identity == ""
    assert await c.try_acquire_or_renew()
    orig_get = store.get

    async def stale_get(res: Any, name: str, *, namespace: str | None = None) -> Lease:
        return copy.deepcopy(b._lease) if b._lease is not None else await orig_get(res, name)

    store.get = stale_get  # type: ignore[method-assign]
    assert not await b.try_acquire_or_renew()
    store.get = orig_get  # type: ignore[method-assign]
    assert store.spec().holderIdentity == "c"


async def test_release_clears_only_our_own_lease() -> None:
    store, clock = LeaseStore(), FakeClock()
    a = elector(store, clock, "a")
    assert await a.try_acquire_or_renew()
    transitions = store.spec().leaseTransitions
    assert await a.release()
    spec = store.spec()
    assert spec.holderIdentity == ""
    assert spec.leaseDurationSeconds == 1
    assert spec.leaseTransitions == transitions

    b = elector(store, clock, "b")
    assert await b.try_acquire_or_renew()
    assert await a.release()  # not ours any more: nothing written
    assert store.spec().holderIdentity == "b"


async def test_check_reports_a_leader_that_stopped_renewing() -> None:
    store, clock = LeaseStore(), FakeClock()
    a = elector(store, clock, "a")
    assert await a.try_acquire_or_renew()
    clock.step(15 + 5)
    a.check(5.0)  # at the limit: fine
    clock.step(0.001)
    with pytest.raises(LeaderElectionError):
        a.check(5.0)
    b = elector(store, clock, "b")
    b.check(0.0)  # not the leader: never unhealthy


class NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


async def test_run_loses_leadership_exactly_after_the_renew_deadline() -> None:
    """Last renewal at T; renewal rounds start every retry_period; the round starting at
    T + 2 s gives up at T + 2 s + renew_deadline (10 s)."""
    store, clock = LeaseStore(), FakeClock()
    events: list[str] = []

    async def started() -> None:
        events.append("started")
        try:
            await anyio.sleep_forever()
        finally:
            events.append("work-cancelled")

    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="a", name="lock-run")
    a = LeaderElector(
        cast(AsyncClient, store),
        cfg,
        on_started_leading=started,
        on_stopped_leading=lambda: events.append("stopped"),
        clock=clock,
        rng=NoJitter(),
    )
    gauge = {"name": "lock-run"}
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await anyio.wait_all_tasks_blocked()
        assert a.leading and events == ["started"]
        assert metrics.REGISTRY.get_sample_value("leader_election_master_status", gauge) == 1
        t_renewed = clock.now()
        await clock.advance(2.0)  # renewed again at T + 2
        renew_time = store.spec().renewTime
        store.down = True
        t_last = t_renewed + 2.0
        for _ in range(5):  # the next round starts at t_last + 2 and fails every 2 s
            await clock.advance(2.0)
            assert a.leading
        assert clock.now() == t_last + 10.0
        await clock.advance(1.999)
        assert a.leading
        await clock.advance(0.001)
        assert not a.leading
        assert events == ["started", "work-cancelled", "stopped"]
        assert metrics.REGISTRY.get_sample_value("leader_election_master_status", gauge) == 0
        assert store.spec().renewTime == renew_time
    assert a.elected.is_set()


async def test_lost_leadership_is_reported_before_the_leader_work_has_stopped() -> None:
    """client-go sets leader_election_master_status to 0 when renewal fails, without waiting
    for OnStartedLeading to return; a slowly stopping leader must not claim to lead."""
    store, clock = LeaseStore(), FakeClock()
    stopping = anyio.Event()

    async def started() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stopping.set()
            with anyio.CancelScope(shield=True):
                await clock.sleep(5)  # a graceful shutdown of the controllers

    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="a", name="lock-slowstop")
    a = LeaderElector(
        cast(AsyncClient, store), cfg, on_started_leading=started, clock=clock, rng=NoJitter()
    )
    gauge = {"name": "lock-slowstop"}
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await anyio.wait_all_tasks_blocked()
        assert a.leading
        store.down = True
        while not stopping.is_set():
            await clock.advance(1.0)
        # while the leader work is still stopping:
        seen = (
            a.leading,
            metrics.REGISTRY.get_sample_value("leader_election_master_status", gauge),
        )
        await clock.advance(5.0)
    assert seen == (False, 0.0)


class SlowLeaseStore(LeaseStore):
    """Every call takes ``delay`` seconds of the fake clock (a slow or struggling apiserver);
    the start time of each replace is recorded while ``delay`` is set."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.delay = 0.0
        self.replace_starts: list[float] = []

    async def get(self, res: Any, name: str, *, namespace: str | None = None) -> Lease:
        if self.delay:
            await self.clock.sleep(self.delay)
        return await super().get(res, name, namespace=namespace)

    async def replace(self, obj: Lease) -> Lease:
        if self.delay:
            self.replace_starts.append(self.clock.now())
            await self.clock.sleep(self.delay)
        return await super().replace(obj)


async def test_renewal_attempts_follow_a_ticker_when_requests_are_slow() -> None:
    """client-go's renew round is ``PollUntilContextTimeout(retry_period, renew_deadline,
    immediate)``: attempts start on a retry_period ticker from the round's start. An attempt
    that takes 3 s (fast-path PUT 1.5 s + GET 1.5 s, both failing) is followed at once by the
    next one (the tick that passed meanwhile), not by a further 2 s sleep: attempts at
    +0, +3, +6, +9 s of the 10 s deadline, not +0, +5."""
    clock = FakeClock()
    store = SlowLeaseStore(clock)
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="a", name="lock-ticker")
    a = LeaderElector(cast(AsyncClient, store), cfg, clock=clock, rng=NoJitter())
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await anyio.wait_all_tasks_blocked()
        assert a.leading  # acquired and renewed at once; next round in 2 s
        store.down = True
        store.delay = 1.5
        round_start = clock.now() + 2.0
        while a.leading and clock.now() < round_start + 30:
            await clock.advance(0.5)
        assert not a.leading
        assert [t - round_start for t in store.replace_starts] == [0.0, 3.0, 6.0, 9.0]


async def test_acquire_retries_every_retry_period_with_jitter_until_expiry() -> None:
    store, clock = LeaseStore(), FakeClock()
    store.put_foreign("ghost", renew=dt.datetime.now(dt.UTC), duration=15)
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="b")
    new_leaders: list[str] = []
    b = LeaderElector(
        cast(AsyncClient, store), cfg, clock=clock, rng=NoJitter(), on_new_leader=new_leaders.append
    )
    start = clock.now()
    async with anyio.create_task_group() as tg:
        tg.start_soon(b.run)
        await anyio.wait_all_tasks_blocked()
        assert new_leaders == ["ghost"]
        for _ in range(7):  # attempts at +2 .. +14 s: still held
            await clock.advance(2.0)
            assert not b.leading
        await clock.advance(2.0)  # +16 s: expired 15 s after it was first observed
        assert b.leading
        assert clock.now() - start == 16.0
        assert new_leaders == ["ghost", "b"]
        assert store.spec().leaseTransitions == 1
        tg.cancel_scope.cancel()


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str, str, str]] = []

    def event(self, regarding: Any, type: str, reason: str, action: str, note: str = "") -> None:
        assert isinstance(regarding, Lease) and regarding.metadata is not None
        self.recorded.append((regarding.metadata.name or "", type, reason, action, note))


async def test_became_and_stopped_leading_events_on_the_lease() -> None:
    store, clock = LeaseStore(), FakeClock()
    events = Events()
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="a")
    a = LeaderElector(cast(AsyncClient, store), cfg, clock=clock, event_recorder=events)
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await anyio.wait_all_tasks_blocked()
        assert events.recorded == [
            (NAME, "Normal", "LeaderElection", "LeaderElection", "a became leader")
        ]
        tg.cancel_scope.cancel()
    assert events.recorded[-1][-1] == "a stopped leading"


async def test_fence_counts_from_when_the_renewal_was_sent() -> None:
    """A renewal whose response takes 4 s stored the lease when it was *sent*; a peer may
    take over lease_duration after that, so the fence must not restart at the response."""
    clock = FakeClock()
    store = SlowLeaseStore(clock)
    a = elector(store, clock, "a")
    assert not a.renewed_within(100.0)  # never renewed
    assert await a.try_acquire_or_renew()
    assert a.renewed_within(0.001)
    clock.step(1.0)
    store.delay = 4.0
    sent = clock.now()
    results: list[bool] = []

    async def renew() -> None:
        results.append(await a.try_acquire_or_renew())

    async with anyio.create_task_group() as tg:
        tg.start_soon(renew)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(4.0)
    assert results == [True] and clock.now() == sent + 4.0
    assert not a.renewed_within(4.0)
    assert a.renewed_within(4.001)


async def test_renewal_stops_at_once_when_another_holder_took_the_lease() -> None:
    """Once a renewal attempt shows the lease held by someone else, the elector steps down
    at that attempt instead of retrying until the renew deadline (10 s)."""
    store, clock = LeaseStore(), FakeClock()
    cfg = LeaderElectionConfig(lease_name=NAME, namespace=NS, identity="a", name="lock-taken")
    a = LeaderElector(cast(AsyncClient, store), cfg, clock=clock, rng=NoJitter())
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await anyio.wait_all_tasks_blocked()
        assert a.leading
        store.put_foreign("b", renew=dt.datetime.now(dt.UTC))
        await clock.advance(2.0)  # the next renewal round
        assert not a.leading
        assert a.get_leader() == "b"
