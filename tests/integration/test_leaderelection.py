"""Leader election on a real kube-apiserver (envtest).

Short timings keep the tests quick while preserving client-go's safety ordering:
lease_duration (4 s) > retry_period (0.5 s) + renew_deadline (2 s), so a leader that cannot
renew gives up before any peer can consider its lease expired.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.coordination_v1 import Lease

from runtime import metrics
from runtime.leaderelection import LeaderElectionConfig, LeaderElector

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

LEASE = 4.0
RENEW = 2.0
RETRY = 0.5
# worst case for a follower to notice and take over: two jittered retries
RETRY_MAX = RETRY * (1 + 1.2)


class PartitionableClient:
    """Delegates to a real client; ``partitioned = True`` makes every call hang, like a
    network partition (the elector's per-request timeout must cut it)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.partitioned = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if name not in ("get", "create", "replace"):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.partitioned:
                await anyio.sleep_forever()
            return await target(*args, **kwargs)

        return call


class Candidate:
    def __init__(
        self,
        client: AsyncClient,
        namespace: str,
        lease_name: str,
        label: str,
        *,
        release_on_cancel: bool = False,
    ) -> None:
        self.client = PartitionableClient(client)
        self.events: list[str] = []
        self.new_leaders: list[str] = []
        self.scope = anyio.CancelScope()
        self.finished = anyio.Event()
        self.elector = LeaderElector(
            cast(AsyncClient, self.client),
            LeaderElectionConfig(
                lease_name=lease_name,
                namespace=namespace,
                identity=f"{label}_{uuid.uuid4()}",
                lease_duration=LEASE,
                renew_deadline=RENEW,
                retry_period=RETRY,
                release_on_cancel=release_on_cancel,
                name=f"{lease_name}-{label}",  # separate gauge series per candidate
            ),
            on_started_leading=self._started,
            on_stopped_leading=lambda: self.events.append("stopped"),
            on_new_leader=self.new_leaders.append,
        )

    async def _started(self) -> None:
        self.events.append("started")
        try:
            await anyio.sleep_forever()
        finally:
            self.events.append("leader-work-cancelled")

    async def run(self) -> None:
        try:
            with self.scope:
                await self.elector.run()
        finally:
            self.finished.set()

    @property
    def leading(self) -> bool:
        return self.elector.leading

    def gauge(self) -> float | None:
        return metrics.REGISTRY.get_sample_value(
            "leader_election_master_status", {"name": self.elector.config.name}
        )


async def wait_until(cond: Callable[[], bool], within: float, step: float = 0.02) -> float:
    """Poll ``cond`` (plain attributes, no event to wait on); return the seconds it took,
    fail after ``within`` seconds."""
    t0 = time.monotonic()
    with anyio.fail_after(within):
        while not cond():
            await anyio.sleep(step)
    return time.monotonic() - t0


class Sampler:
    """Samples both candidates' ``leading`` continuously; records any overlap."""

    def __init__(self, *cands: Candidate) -> None:
        self.cands = cands
        self.overlaps = 0
        self.samples = 0

    async def run(self) -> None:
        while True:
            if sum(c.leading for c in self.cands) > 1:
                self.overlaps += 1
            self.samples += 1
            await anyio.sleep(0.005)


def lease_name() -> str:
    return f"le-{uuid.uuid4().hex[:8]}"


async def test_one_of_two_acquires_and_the_lease_says_so(
    kube_client: AsyncClient, namespace: str
) -> None:
    name = lease_name()
    a = Candidate(kube_client, namespace, name, "a")
    b = Candidate(kube_client, namespace, name, "b")
    sampler = Sampler(a, b)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler.run)
        tg.start_soon(a.run)
        tg.start_soon(b.run)
        await wait_until(lambda: a.leading or b.leading, within=10)
        await anyio.sleep(LEASE + RETRY_MAX)  # long enough for a wrongful takeover to show
        leader, follower = (a, b) if a.leading else (b, a)
        assert leader.leading and not follower.leading
        assert leader.events == ["started"]
        assert follower.events == []
        assert leader.gauge() == 1.0
        assert follower.gauge() == 0.0
        assert follower.elector.get_leader() == leader.elector.identity
        assert leader.elector.identity in follower.new_leaders

        lease = await kube_client.get(Lease, name, namespace=namespace)
        assert lease.spec is not None
        assert lease.spec.holderIdentity == leader.elector.identity
        assert lease.spec.leaseDurationSeconds == int(LEASE)
        assert lease.spec.leaseTransitions == 0  # created by the winner, nobody took over
        assert lease.spec.renewTime is not None and lease.spec.acquireTime is not None
        assert lease.spec.renewTime > lease.spec.acquireTime  # it has been renewing
        tg.cancel_scope.cancel()
    assert sampler.overlaps == 0 and sampler.samples > 100
    assert a.events[-1] == "stopped" and b.events[-1] == "stopped"


async def test_release_on_cancel_hands_over_quickly(
    kube_client: AsyncClient, namespace: str
) -> None:
    name = lease_name()
    a = Candidate(kube_client, namespace, name, "a", release_on_cancel=True)
    b = Candidate(kube_client, namespace, name, "b", release_on_cancel=True)
    sampler = Sampler(a, b)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler.run)
        tg.start_soon(a.run)
        await wait_until(lambda: a.leading, within=10)
        tg.start_soon(b.run)
        await anyio.sleep(2 * RETRY_MAX)
        assert not b.leading

        a.scope.cancel()
        with anyio.fail_after(RENEW + 1):
            await a.finished.wait()
        released = await kube_client.get(Lease, name, namespace=namespace)
        took = await wait_until(lambda: b.leading, within=LEASE + 5)
        assert took < RETRY_MAX + 1.0 < LEASE, f"takeover after release took {took:.2f} s"

        assert released.spec is not None
        # released (unless b was faster than our read): empty holder, 1 s lease
        if released.spec.holderIdentity != b.elector.identity:
            assert released.spec.holderIdentity == ""
            assert released.spec.leaseDurationSeconds == 1
        lease = await kube_client.get(Lease, name, namespace=namespace)
        assert lease.spec is not None
        assert lease.spec.holderIdentity == b.elector.identity
        assert lease.spec.leaseTransitions == 1
        assert a.events == ["started", "leader-work-cancelled", "stopped"]
        assert a.gauge() == 0.0 and b.gauge() == 1.0
        tg.cancel_scope.cancel()
    assert sampler.overlaps == 0


async def test_crashed_leader_is_replaced_within_the_lease_duration(
    kube_client: AsyncClient, namespace: str
) -> None:
    name = lease_name()
    a = Candidate(kube_client, namespace, name, "a", release_on_cancel=False)
    b = Candidate(kube_client, namespace, name, "b")
    sampler = Sampler(a, b)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler.run)
        tg.start_soon(a.run)
        await wait_until(lambda: a.leading, within=10)
        tg.start_soon(b.run)
        await anyio.sleep(2 * RETRY_MAX)

        a.scope.cancel()  # a "crash": no release, the lease just stops being renewed
        await a.finished.wait()
        lease = await kube_client.get(Lease, name, namespace=namespace)
        assert lease.spec is not None and lease.spec.holderIdentity == a.elector.identity

        took = await wait_until(lambda: b.leading, within=LEASE + 5)
        # b cannot judge the lease expired before LEASE after it last saw it change (which
        # was at most one jittered retry before the crash), and notices within a retry after.
        assert LEASE - RETRY_MAX - 0.2 <= took <= LEASE + RETRY_MAX + 1.0, took
        lease = await kube_client.get(Lease, name, namespace=namespace)
        assert lease.spec is not None
        assert lease.spec.holderIdentity == b.elector.identity
        assert lease.spec.leaseTransitions == 1
        tg.cancel_scope.cancel()
    assert sampler.overlaps == 0


async def test_partitioned_leader_stops_before_the_other_starts(
    kube_client: AsyncClient, namespace: str
) -> None:
    """The leader's requests hang (partition): it must give up after the renew deadline,
    strictly before the follower takes over; never both leading at once."""
    name = lease_name()
    a = Candidate(kube_client, namespace, name, "a")
    b = Candidate(kube_client, namespace, name, "b")
    sampler = Sampler(a, b)
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler.run)
        tg.start_soon(a.run)
        await wait_until(lambda: a.leading, within=10)
        tg.start_soon(b.run)
        await anyio.sleep(2 * RETRY_MAX)

        t0 = time.monotonic()
        a.client.partitioned = True
        lost = await wait_until(lambda: not a.leading, within=LEASE + 5)
        assert lost <= RETRY + RENEW + 1.0, f"partitioned leader kept leading {lost:.2f} s"
        assert not b.leading
        with anyio.fail_after(1):
            await a.finished.wait()  # run() returns when leadership is lost
        assert a.events == ["started", "leader-work-cancelled", "stopped"]
        assert a.gauge() == 0.0

        await wait_until(lambda: b.leading, within=LEASE + 5)
        took = time.monotonic() - t0
        # a's last renewal was at most one retry period before the partition and b judges
        # expiry from when it saw that renewal: b cannot lead earlier than this.
        assert took >= LEASE - RETRY - 0.2, f"b took over {took:.2f} s after the partition"
        tg.cancel_scope.cancel()
    assert sampler.overlaps == 0
    assert sampler.samples > 100


async def test_lease_created_by_the_first_candidate(
    kube_client: AsyncClient, namespace: str
) -> None:
    name = lease_name()
    a = Candidate(kube_client, namespace, name, "a", release_on_cancel=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(a.run)
        await wait_until(lambda: a.leading, within=10)
        assert a.elector.elected.is_set()
        assert a.new_leaders == [a.elector.identity]
        a.elector.check(0.0)  # freshly renewed: healthy
        tg.cancel_scope.cancel()
    lease = await kube_client.get(Lease, name, namespace=namespace)
    assert lease.spec is not None
    assert lease.spec.holderIdentity == ""  # released on cancel
    assert lease.spec.leaseDurationSeconds == 1
