"""Controller benchmarks on envtest (a real etcd + kube-apiserver), ours side by side with kopf.

Figures:

* ``event_to_reconcile_p50_ms`` / ``_p99_ms`` / ``_max_ms``: a producer *process* creates
  ConfigMaps at 100/s (1,000 in all), each carrying its send time (wall clock, same host);
  the controller (this process, ``runtime.manager.Manager``) takes ``now - sent`` when
  ``reconcile()`` is entered. So a figure covers the API write, the watch delivery, the
  informer, predicates, the work queue and the worker hand-off. Design budget: p99 <= 50 ms.
* ``controller_converge_1000_s`` / ``kopf_converge_1000_s``: 1,000 labelled ConfigMaps exist;
  the controller process is started and the clock runs until every one carries the annotation
  ``bench/done`` that the trivial reconcile patches in (one merge patch per object). Measured
  from process spawn, so interpreter start, imports, the initial list and all writes count.
  Ours runs with ``max_concurrent(8)``; kopf with its defaults (a worker per object), except
  that its event posting is off so neither writes Events.
* ``controller_rss_mb`` / ``kopf_rss_mb`` (peak RSS, VmHWM) and ``controller_cpu_s`` /
  ``kopf_cpu_s`` (user + system) of that process at convergence.
* ``controller_noop_reconcile_us``: the framework's own cost per reconcile, no API server:
  100k events through a channel source, handler, priority queue (metrics on) and one worker
  calling a no-op reconciler (Go's floor for the same path is ~50 us of work-queue time per
  item in a large scale test, framework-anchors §7).

Finding (envtest on 2 shared cores): converging is bound by API writes through lightkube's
HTTP stack (httpx2 over anyio TLS): 1,000 bare ``patch`` calls take about as long as our whole
convergence, at any concurrency; kopf's aiohttp transport is faster there.

Both controllers are this file run as a child (``--child ours|kopf|producer``), so each is
measured alone. Set ``BENCH_KUBECONFIG`` to use an existing cluster instead of envtest.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from bench._results import print_table, record

ROOT = Path(__file__).resolve().parent.parent
RATE = 100.0
EVENTS = 1000
OBJECTS = 1000
DONE = "bench/done"
WORKERS = int(os.environ.get("BENCH_CONTROLLER_WORKERS", "8"))


# --------------------------------------------------------------------------- children


def _producer(kubeconfig: str, namespace: str, rate: float, count: int) -> None:
    from lightkube import Client, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap

    client = Client(KubeConfig.from_file(kubeconfig), field_manager="bench")
    t0 = time.monotonic() + 0.2
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client.create(ConfigMap(
            metadata=ObjectMeta(name=f"ev-{i}", namespace=namespace, labels={"bench": "latency"}),
            data={"sent": repr(time.time())}))
    client.close()


async def _ours(kubeconfig: str, namespace: str) -> None:
    from lightkube.resources.core_v1 import ConfigMap

    from runtime.controller import Builder
    from runtime.manager import Manager
    from runtime.predicate import label_selector_predicate
    from runtime.reconcile import Request, Result

    mgr = Manager(kubeconfig, namespace=namespace, metrics_bind_address="0",
                  health_probe_bind_address="0", field_manager="bench")
    client = mgr.client

    class Done:
        async def reconcile(self, req: Request) -> Result:
            cm = await client.get(ConfigMap, req.name, req.namespace)
            if (cm.metadata.annotations or {}).get(DONE) != "true":
                await client.patch(ConfigMap, req.name,
                                   {"metadata": {"annotations": {DONE: "true"}}},
                                   namespace=req.namespace)
            return Result()

    (Builder(mgr, name="bench-converge").for_(ConfigMap)
        .with_event_filter(label_selector_predicate({"bench": "converge"}))
        .max_concurrent(WORKERS).complete(Done()))
    await mgr.run()


def _kopf(namespace: str) -> None:
    import asyncio

    import kopf

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False

    @kopf.on.resume("configmaps", labels={"bench": "converge"})
    @kopf.on.create("configmaps", labels={"bench": "converge"})
    async def done(patch: kopf.Patch, **_: Any) -> None:
        patch.metadata.annotations[DONE] = "true"

    asyncio.run(kopf.operator(standalone=True, namespaces=[namespace]))


# --------------------------------------------------------------------------- measuring


def _proc_figures(pid: int) -> tuple[float, float]:
    """(peak RSS MB, CPU seconds) of a running process, from /proc."""
    hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return hwm, cpu


def _child(kind: str, kubeconfig: str, namespace: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KUBECONFIG": kubeconfig, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.bench_controller", "--child", kind,
         "--kubeconfig", kubeconfig, "--namespace", namespace, *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _latency(kubeconfig: str) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Namespace

    from runtime.controller import Builder
    from runtime.manager import Manager
    from runtime.predicate import label_selector_predicate
    from runtime.reconcile import Request, Result

    ns = f"bench-lat-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig))
    await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    mgr = Manager(kubeconfig, namespace=ns, metrics_bind_address="0",
                  health_probe_bind_address="0")
    client = mgr.client
    lat: list[float] = []

    class Measure:
        async def reconcile(self, req: Request) -> Result:
            now = time.time()
            cm = await client.get(ConfigMap, req.name, req.namespace)
            lat.append((now - float(cm.data["sent"])) * 1000)
            return Result()

    (Builder(mgr, name="bench-latency").for_(ConfigMap)
        .with_event_filter(label_selector_predicate({"bench": "latency"})).complete(Measure()))
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        with anyio.fail_after(60):
            await mgr.elected().wait()
        await anyio.sleep(0.5)
        producer = await anyio.open_process(
            [sys.executable, "-m", "bench.bench_controller", "--child", "producer",
             "--kubeconfig", kubeconfig, "--namespace", ns],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        with anyio.fail_after(EVENTS / RATE + 60):
            await producer.wait()
            for _ in itertools.count():
                if len(lat) >= EVENTS:
                    break
                await anyio.sleep(0.05)
        mgr.stop()
    await kube.delete(Namespace, ns)
    await kube.close()
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {
        "event_to_reconcile_p50_ms": round(statistics.median(lat), 2),
        "event_to_reconcile_p99_ms": round(q[98], 2),
        "event_to_reconcile_max_ms": round(max(lat), 2),
    }


async def _converge(kubeconfig: str, kind: str) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Namespace

    ns = f"bench-conv-{kind}-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig))
    await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    limiter = anyio.Semaphore(16)

    async def create(i: int) -> None:
        async with limiter:
            await kube.create(ConfigMap(
                metadata=ObjectMeta(name=f"obj-{i}", namespace=ns, labels={"bench": "converge"}),
                data={"i": str(i)}))

    async with anyio.create_task_group() as tg:
        for i in range(OBJECTS):
            tg.start_soon(create, i)

    async def done_count() -> int:
        n = 0
        async for cm in kube.list(ConfigMap, namespace=ns, labels={"bench": "converge"}):
            if cm.metadata and (cm.metadata.annotations or {}).get(DONE) == "true":
                n += 1
        return n

    t0 = time.perf_counter()
    proc = _child(kind, kubeconfig, ns)
    try:
        with anyio.fail_after(600):
            for _ in itertools.count():
                if await done_count() >= OBJECTS:
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"{kind} controller exited with {proc.returncode}")
                await anyio.sleep(0.1)
        elapsed = time.perf_counter() - t0
        rss, cpu = _proc_figures(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    await kube.delete(Namespace, ns)
    await kube.close()
    prefix = "controller" if kind == "ours" else "kopf"
    return {
        f"{prefix}_converge_1000_s": round(elapsed, 2),
        f"{prefix}_rss_mb": round(rss, 1),
        f"{prefix}_cpu_s": round(cpu, 2),
    }


async def _noop() -> dict[str, float]:
    from runtime.controller import Channel, Controller
    from runtime.reconcile import Request, Result

    n = 100_000
    count = 0
    finished = anyio.Event()

    class Noop:
        async def reconcile(self, req: Request) -> Result:
            nonlocal count
            count += 1
            if count == n:
                finished.set()
            return Result()

    ctrl = Controller("bench-noop", Noop())
    send, recv = anyio.create_memory_object_stream[Any](1000)
    ctrl.watch(Channel(recv))
    stopping = anyio.Event()
    objs = [{"metadata": {"name": f"o{i}", "namespace": "ns"}} for i in range(n)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        await ctrl.synced.wait()
        t0 = time.perf_counter()
        for o in objs:
            await send.send(o)
        await finished.wait()
        elapsed = time.perf_counter() - t0
        stopping.set()
    return {"controller_noop_reconcile_us": round(elapsed / n * 1e6, 2)}


async def _all(kubeconfig: str) -> dict[str, float]:
    figures: dict[str, float] = await _noop()
    figures.update(await _latency(kubeconfig))
    figures.update(await _converge(kubeconfig, "ours"))
    figures.update(await _converge(kubeconfig, "kopf"))
    return figures


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", choices=["ours", "kopf", "producer"])
    p.add_argument("--kubeconfig")
    p.add_argument("--namespace")
    args = p.parse_args(argv if argv is not None else [])
    if args.child == "producer":
        _producer(args.kubeconfig, args.namespace, RATE, EVENTS)
        return
    if args.child == "ours":
        anyio.run(_ours, args.kubeconfig, args.namespace)
        return
    if args.child == "kopf":
        _kopf(args.namespace)
        return
    kubeconfig = os.environ.get("BENCH_KUBECONFIG")
    env = None
    if not kubeconfig:
        if not os.environ.get("KUBEBUILDER_ASSETS"):
            out = subprocess.run(["bash", str(ROOT / "hack" / "build-k8s.sh")], check=True,
                                 capture_output=True, text=True)
            os.environ["KUBEBUILDER_ASSETS"] = out.stdout.strip().splitlines()[-1]
        from runtime.testing import Environment

        env = Environment()
        env.start()
        kubeconfig = str(env.kubeconfig_path)
    try:
        figures = anyio.run(_all, kubeconfig)
    finally:
        if env is not None:
            env.stop()
    record(figures)
    print_table(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
