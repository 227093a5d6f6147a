"""Controllers on a real kube-apiserver (envtest): the example controller converges; an
exception in reconcile is retried with backoff and the worker survives; the same key never
reconciles concurrently with max_concurrent=4."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace

from examples import configmap_mirror as ex
from runtime import metrics
from runtime.builder import Builder
from runtime.manager import Manager
from runtime.predicate import new_predicate_funcs
from runtime.reconcile import Request, Result
from runtime.testing.eventually import eventually

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def value(metric: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(metric, labels) or 0.0


def depth(queue: str) -> float:
    """workqueue_depth of a queue, summed over its priority labels."""
    return sum(s.value for m in metrics.REGISTRY.collect() if m.name == "workqueue_depth"
               for s in m.samples if s.labels.get("name") == queue)



def manager(envtest: Any, namespace: str | None = None, **kw: Any) -> Manager:
    kw.setdefault("metrics_bind_address", "127.0.0.1:0")
    kw.setdefault("health_probe_bind_address", "127.0.0.1:0")
    return Manager(str(envtest.kubeconfig_path), namespace=namespace, **kw)


@asynccontextmanager
async def running(mgr: Manager) -> AsyncIterator[Manager]:
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        # controllers create their informers when they start: wait for them to sync
        await eventually(lambda: mgr.elected().is_set() and all(
            r.synced.is_set() for r in mgr.runnables() if hasattr(r, "synced")))
        yield mgr
        mgr.stop()


async def get_cm(kube: AsyncClient, name: str, ns: str) -> ConfigMap | None:
    try:
        return await kube.get(ConfigMap, name, namespace=ns)
    except Exception:
        return None


async def test_example_mirror_converges(envtest: Any, kube_client: AsyncClient,
                                        namespace: str) -> None:
    src_ns = namespace
    dst_ns = f"{namespace}-dst"
    await kube_client.create(Namespace(metadata=ObjectMeta(name=dst_ns)))
    mgr = manager(envtest)
    await ex.install_crd(mgr)
    ex.setup(mgr)
    async with running(mgr):
        await kube_client.create(ConfigMap(metadata=ObjectMeta(name="settings", namespace=src_ns),
                                           data={"a": "1"}))
        mirror = ex.ConfigMapMirror.model_validate({
            "metadata": {"name": "copy", "namespace": dst_ns},
            "spec": {"source": {"namespace": src_ns, "name": "settings"}}})
        await mgr.client.create(mirror)

        # 1. The copy appears, owned by the mirror; status says ready.
        copy = await eventually(lambda: get_cm(kube_client, "copy", dst_ns))
        assert copy.data == {"a": "1"}
        refs = copy.metadata.ownerReferences or []
        assert [(r.kind, r.name, r.controller) for r in refs] == [("ConfigMapMirror", "copy", True)]

        async def status() -> Any:
            m = await mgr.client.api_reader.get(ex.ConfigMapMirror, "copy", dst_ns)
            return m.status

        st = await eventually(status)
        assert st.ready and st.observed_generation == 1

        # 2. The source changes -> the copy follows (watches + async map fn + field index).
        await kube_client.patch(ConfigMap, "settings", {"data": {"a": "2", "b": "3"}},
                                namespace=src_ns)

        async def copied() -> bool:
            c = await get_cm(kube_client, "copy", dst_ns)
            return c is not None and c.data == {"a": "2", "b": "3"}

        await eventually(copied)

        # 3. Someone edits our copy -> restored (owns()).
        await kube_client.patch(ConfigMap, "copy", {"data": {"a": "tampered"}}, namespace=dst_ns)
        await eventually(copied)

        # 4. A mirror of a missing source: Ready false, a Warning event, requeue_after.
        before = value("controller_runtime_reconcile_total", controller="configmap-mirror",
                       result="requeue_after")
        await mgr.client.create(ex.ConfigMapMirror.model_validate({
            "metadata": {"name": "orphan", "namespace": dst_ns},
            "spec": {"source": {"namespace": src_ns, "name": "nope"}}}))

        async def orphan_status() -> Any:
            m = await mgr.client.api_reader.get(ex.ConfigMapMirror, "orphan", dst_ns)
            return m.status and m.status.message

        assert "not found" in await eventually(orphan_status)
        from lightkube.resources.events_v1 import Event

        async def warning() -> list[Any]:
            return [e async for e in kube_client.list(Event, namespace=dst_ns)
                    if e.reason == "SourceNotFound"]

        ev = (await eventually(warning))[0]
        assert ev.type == "Warning" and ev.regarding.name == "orphan"
        assert value("controller_runtime_reconcile_total", controller="configmap-mirror",
                     result="requeue_after") > before
        # 5. Synced events were recorded for the first mirror.
        assert [e async for e in kube_client.list(Event, namespace=dst_ns)
                if e.reason == "Synced" and e.regarding.name == "copy"]
    await kube_client.delete(Namespace, dst_ns)


class Flaky:
    """Fails the first ``failures`` reconciles of every key, then succeeds; records timing and
    the maximal per-key concurrency."""

    def __init__(self, failures: int, work: float = 0.0) -> None:
        self.failures = failures
        self.work = work
        self.calls: dict[Request, list[float]] = {}
        self.in_flight: dict[Request, int] = {}
        self.max_per_key = 0
        self.max_total = 0

    async def reconcile(self, req: Request) -> Result:
        self.calls.setdefault(req, []).append(anyio.current_time())
        self.in_flight[req] = self.in_flight.get(req, 0) + 1
        self.max_per_key = max(self.max_per_key, self.in_flight[req])
        self.max_total = max(self.max_total, sum(self.in_flight.values()))
        try:
            if self.work:
                await anyio.sleep(self.work)
            if len(self.calls[req]) <= self.failures:
                raise RuntimeError(f"transient failure #{len(self.calls[req])}")
            return Result()
        finally:
            self.in_flight[req] -= 1


def labelled(label: str) -> Any:
    return new_predicate_funcs(lambda o: (o.metadata.labels or {}).get("test") == label)


async def test_exception_is_retried_with_backoff_and_worker_survives(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    mgr = manager(envtest, namespace=namespace, metrics_bind_address="0",
                  health_probe_bind_address="0")
    rec = Flaky(failures=4)
    Builder(mgr, name="it-flaky").for_(ConfigMap).with_event_filter(labelled("flaky")).complete(rec)
    async with running(mgr):
        for name in ("x", "y"):
            await kube_client.create(ConfigMap(metadata=ObjectMeta(
                name=name, namespace=namespace, labels={"test": "flaky"})))
        await eventually(lambda: all(len(rec.calls.get(Request(namespace, n), [])) >= 5
                                for n in ("x", "y")))
        await anyio.sleep(0.3)
    times = rec.calls[Request(namespace, "x")]
    assert len(times) == 5  # 4 failures, then success, then no more retries
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 5, 10, 20, 40 ms (+ scheduling): each retry waits about twice as long as the previous.
    # The upper bound leaves room for a stalled loop on a busy machine; a delay of a second
    # (client-go's slow limiter, say) would still break it.
    for gap, expected in zip(gaps, (0.005, 0.01, 0.02, 0.04), strict=True):
        assert expected * 0.9 <= gap < expected + 0.75, gaps
    assert value("controller_runtime_reconcile_errors_total", controller="it-flaky") == 8
    assert value("controller_runtime_reconcile_total", controller="it-flaky",
                 result="success") == 2
    assert value("workqueue_retries_total", name="it-flaky", controller="it-flaky") >= 8


async def test_same_key_never_concurrent_with_max_concurrent_4(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    mgr = manager(envtest, namespace=namespace, metrics_bind_address="0",
                  health_probe_bind_address="0")
    rec = Flaky(failures=0, work=0.02)
    (Builder(mgr, name="it-conc").for_(ConfigMap).with_event_filter(labelled("conc"))
        .max_concurrent(4).complete(rec))
    names = [f"c{i}" for i in range(6)]

    async def patch(name: str, i: int) -> None:
        await kube_client.patch(ConfigMap, name, {"data": {"v": str(i)}}, namespace=namespace)
    async with running(mgr):
        for n in names:
            await kube_client.create(ConfigMap(metadata=ObjectMeta(
                name=n, namespace=namespace, labels={"test": "conc"}), data={"v": "0"}))
        # Hammer the same keys with updates while they are being reconciled.
        for i in range(1, 15):
            async with anyio.create_task_group() as tg:
                for n in names:
                    tg.start_soon(patch, n, i)
        await eventually(lambda: depth("it-conc") == 0 and not any(rec.in_flight.values()))
    assert rec.max_per_key == 1
    assert rec.max_total > 1  # the four workers did overlap on different keys
    assert value("controller_runtime_max_concurrent_reconciles", controller="it-conc") == 4
    assert sum(len(v) for v in rec.calls.values()) >= len(names)
