"""Per-handler delivery on a real kube-apiserver: a slow handler of one controller delays
neither the other controllers sharing the informer nor the lease renewals; async map
functions run with bounded concurrency; a controller is synced only once its initial
requests are queued."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from runtime.builder import Builder
from runtime.informer import DEFAULT_HANDLER_CONCURRENCY
from runtime.manager import Manager
from runtime.predicate import new_predicate_funcs
from runtime.reconcile import Request, Result
from runtime.testing.eventually import eventually

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Timed:
    """Records when each request was first reconciled."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    async def reconcile(self, req: Request) -> Result:
        self.first.setdefault(req.name, time.monotonic())
        return Result()


def labelled(value: str) -> Any:
    return new_predicate_funcs(lambda o: (o.metadata.labels or {}).get("test") == value)


def manager(envtest: Any, namespace: str) -> Manager:
    return Manager(str(envtest.kubeconfig_path), namespace=namespace, metrics_bind_address="0",
                   health_probe_bind_address="0", leader_election=True,
                   leader_election_id="delivery", leader_election_namespace=namespace,
                   lease_duration=4, renew_deadline=2, retry_period=0.5)


async def create_timed(kube: AsyncClient, namespace: str, names: list[str],
                       label: str) -> dict[str, float]:
    created: dict[str, float] = {}
    for n in names:
        await kube.create(ConfigMap(metadata=ObjectMeta(
            name=n, namespace=namespace, labels={"test": label})))
        created[n] = time.monotonic()
    return created


async def test_async_handler_sleeping_1s_per_event_delays_only_itself(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    """Controller "slow" maps every ConfigMap with an async function that sleeps 1 s;
    controller "fast" reconciles the same ConfigMaps. fast stays prompt while slow's buffer
    holds seconds of backlog, slow never runs more than the bound at once (one task per event
    used to be spawned), and the lease is never lost."""
    mgr = manager(envtest, namespace)
    in_flight = peak = 0
    mapped: list[str] = []

    async def slow_map(obj: Any) -> list[Request]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(1.0)
        in_flight -= 1
        mapped.append(obj.metadata.name)
        return [Request(namespace, "slow-" + obj.metadata.name)]

    slow, fast = Timed(), Timed()
    (Builder(mgr, name="delivery-slow").for_(ConfigMap, predicates=[labelled("never")])
        .watches(ConfigMap, slow_map, predicates=[labelled("s")]).complete(slow))
    fast_ctrl = (Builder(mgr, name="delivery-fast").for_(ConfigMap)
                 .with_event_filter(labelled("s")).complete(fast))
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: fast_ctrl.synced.is_set())
        names = [f"s{i:02d}" for i in range(16)]
        created = await create_timed(kube_client, namespace, names, "s")
        await eventually(lambda: len(fast.first) == len(names), within=10)
        latencies = [fast.first[n] - created[n] for n in names]
        # slow's backlog is 16 s / 4 at a time = 4 s; fast saw every object well before
        # (delivered inline, the last one would wait for 16 s of slow's map calls)
        assert max(latencies) < 2.5, latencies
        assert len(mapped) < len(names)  # slow is still working through its buffer
        await eventually(lambda: len(slow.first) == len(names), within=15)
        assert peak == DEFAULT_HANDLER_CONCURRENCY, peak
        assert mgr.holds_lease()
        mgr.stop()


async def test_blocking_handler_delays_other_controllers_by_one_event_at_most(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    """A map function that blocks the loop (a CPU-heavy predicate, a sync call: a bug, but
    it happens) for 0.25 s per event: its events are delivered one at a time with the loop
    handed back in between, so another controller on the same informer waits for at most
    about one of them per event, not for all of them (they used to run, per event, on the
    reflector's task: the other controller waited 0.25 s times the burst)."""
    mgr = manager(envtest, namespace)

    def blocking_map(obj: Any) -> list[Request]:
        time.sleep(0.25)  # deliberately blocking
        return []

    fast = Timed()
    (Builder(mgr, name="delivery-blocking").for_(ConfigMap, predicates=[labelled("never")])
        .watches(ConfigMap, blocking_map, predicates=[labelled("b")]).complete(Timed()))
    fast_ctrl = (Builder(mgr, name="delivery-fast2").for_(ConfigMap)
                 .with_event_filter(labelled("b")).complete(fast))
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: fast_ctrl.synced.is_set())
        names = [f"b{i:02d}" for i in range(12)]
        # created from another thread's event loop, so the burst reaches the watch at the
        # pace of the API server, not of this (deliberately blocked) loop
        created = await anyio.to_thread.run_sync(
            lambda: anyio.run(create_timed, kube_client_sync_factory(envtest), namespace,
                              names, "b"))
        await eventually(lambda: len(fast.first) == len(names), within=20)
        latencies = [fast.first[n] - created[n] for n in names]
        assert max(latencies) < 2.25, latencies  # 12 x 0.25 s = 3 s when delivered inline
        mgr.stop()


def kube_client_sync_factory(envtest: Any) -> AsyncClient:
    from lightkube import KubeConfig

    return AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="envtest")
