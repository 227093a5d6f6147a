"""Our framework and kopf side by side on one envtest apiserver, the same trivial controller.

The controller (``bench/_kopf_operator.py`` for kopf, ``--child ours`` here): for every
ConfigMap labelled ``bench-kopf=parent``, server-side apply a child ConfigMap
``<name>-child`` owned by it with the parent's data. 1,000 parents (~1 KB each) exist in a
fresh namespace before the operator process is spawned; the clock runs from spawn until a
watch opened beforehand has seen all 1,000 children, so interpreter start, imports, the
initial list, every reconcile and every write count. Then, from ``/proc/<pid>``:

* ``<side>_converge_1000_s``: spawn -> 1,000 children exist.
* ``<side>_rss_mb``: ``VmRSS`` at convergence; ``<side>_rss_peak_mb``: ``VmHWM``.
* ``<side>_cpu_s``: user + system CPU seconds of the process at convergence.
* ``<side>_api_writes_per_object``: POST/PUT/PATCH/APPLY/DELETE requests the apiserver served
  during the run (``apiserver_request_total``), per parent: the child apply, plus whatever
  bookkeeping the framework writes (kopf: its ``last-handled-configuration`` annotation).

``kopf`` is the idiomatic kopf operator (``@kopf.on.create`` + ``@kopf.on.resume``: change
detection, which patches kopf's ``last-handled-configuration`` annotation onto every parent);
``kopf_event`` is the same controller as a bare ``@kopf.on.event`` handler, which persists
nothing, so ``kopf_event/ours`` is kopf's machinery without its bookkeeping (its
``api_writes_per_object`` should be 1.00, the child apply only).

``ours`` runs with ``max_concurrent(8)`` (kopf runs one worker per object, unbounded);
``ours_1worker_converge_1000_s`` is ours with controller-runtime's default of one worker.
Both sides log at WARNING and post no Events. Each figure is the median of
``BENCH_KOPF_REPEAT`` (default 3) runs, the sides alternating, after a warm-up of the
apiserver's apply path. Set ``BENCH_KUBECONFIG`` to use an existing cluster instead of
envtest.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
from prometheus_client.parser import text_string_to_metric_families

from bench._common import (
    BENCH_DIR,
    cluster,
    configmap_1kb,
    create_all,
    for_each,
    post_json,
    proc_stats,
    spawn_python,
    stop,
)
from bench._kopf_operator import CHILD_LABEL, FIELD_MANAGER, PARENT_LABEL, child_of
from bench._results import format_table, record

OBJECTS = 1000
CONCURRENCY = 32
REPEAT = int(os.environ.get("BENCH_KOPF_REPEAT", "3"))
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE"})  # APPLY: server-side apply


# --------------------------------------------------------------------------- our side


async def _ours(kubeconfig: str, namespace: str, workers: int) -> None:
    from lightkube.resources.core_v1 import ConfigMap

    from runtime.builder import Builder
    from runtime.client import is_not_found
    from runtime.log import setup_logging
    from runtime.manager import Manager
    from runtime.predicate import label_selector_predicate
    from runtime.reconcile import Request, Result

    setup_logging(logging.WARNING)
    mgr = Manager(kubeconfig, namespace=namespace, metrics_bind_address="0",
                  health_probe_bind_address="0", field_manager=FIELD_MANAGER)
    client = mgr.client

    class EnsureChild:
        async def reconcile(self, req: Request) -> Result:
            try:
                parent = await client.get(ConfigMap, req.name, req.namespace)
            except Exception as e:
                if is_not_found(e):
                    return Result()
                raise
            child = child_of(req.name, req.namespace, parent.metadata.uid, parent.data)
            await client.apply(ConfigMap.from_dict(child))
            return Result()

    (Builder(mgr, name="bench-kopf-ours").for_(ConfigMap)
        .with_event_filter(label_selector_predicate(PARENT_LABEL))
        .max_concurrent(workers).complete(EnsureChild()))
    await mgr.run()


# --------------------------------------------------------------------------- measuring


async def _writes(http: Any) -> float:
    """Mutating requests the apiserver has served so far (all resources)."""
    resp = await http.get("/metrics")
    resp.raise_for_status()
    total = 0.0
    for fam in text_string_to_metric_families(resp.text):
        if fam.name != "apiserver_request":
            continue
        for s in fam.samples:
            if s.name == "apiserver_request_total" and s.labels.get("verb") in WRITE_VERBS:
                total += s.value
    return total


def _spawn(side: str, kubeconfig: str, namespace: str, log: Path) -> subprocess.Popen[bytes]:
    env = {"KUBECONFIG": kubeconfig}
    if side in ("kopf", "kopf_event"):
        mode = "event" if side == "kopf_event" else "change"
        return spawn_python("bench._kopf_operator", namespace, mode, log=log, env=env)
    workers = "1" if side == "ours_1worker" else "8"
    return spawn_python("bench.bench_kopf", "--child", "--kubeconfig", kubeconfig,
                        "--namespace", namespace, "--workers", workers, log=log, env=env)


async def _converge(kubeconfig: str, side: str, logdir: Path) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.resources.core_v1 import ConfigMap

    from runtime.transport import http_client

    ns = f"bench-kopf-{side.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig))
    http = http_client(kube)
    (await post_json(http, "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})).raise_for_status()
    await create_all(http, f"/api/v1/namespaces/{ns}/configmaps",
                     lambda i: configmap_1kb(f"p-{i:04d}", ns, PARENT_LABEL), OBJECTS, CONCURRENCY)

    children: set[str] = set()
    done = anyio.Event()

    async def watch(task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        stream = kube.watch(ConfigMap, namespace=ns, labels=dict[str, Any](CHILD_LABEL))
        task_status.started()
        async for _, obj in stream:
            assert obj.metadata is not None and obj.metadata.name is not None
            children.add(obj.metadata.name)
            if len(children) >= OBJECTS:
                done.set()
                return

    writes0 = await _writes(http)
    proc: subprocess.Popen[bytes] | None = None
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(watch)
            await anyio.sleep(0.5)  # the watch request is open before the operator starts
            t0 = time.perf_counter()
            proc = _spawn(side, kubeconfig, ns, logdir / f"bench-kopf-{side}.log")
            with anyio.fail_after(600):
                while not done.is_set():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{side} exited with {proc.returncode}")
                    await anyio.sleep(0.01)
            elapsed = time.perf_counter() - t0
            st = proc_stats(proc.pid)
            tg.cancel_scope.cancel()
        writes = await _writes(http) - writes0
        # Both sides must have built the same children.
        sample = await kube.get(ConfigMap, "p-0007-child", namespace=ns)
        parent = await kube.get(ConfigMap, "p-0007", namespace=ns)
        assert sample.metadata is not None and sample.metadata.ownerReferences
        assert sample.data == parent.data and sample.metadata.ownerReferences[0].name == "p-0007"
    finally:
        if proc is not None:
            stop(proc)
        await http.delete(f"/api/v1/namespaces/{ns}")
        await kube.close()
    if side == "ours_1worker":
        return {"ours_1worker_converge_1000_s": round(elapsed, 2)}
    return {
        f"{side}_converge_1000_s": round(elapsed, 2),
        f"{side}_rss_mb": round(st.rss_mb, 1),
        f"{side}_rss_peak_mb": round(st.peak_mb, 1),
        f"{side}_cpu_s": round(st.cpu_s, 2),
        f"{side}_api_writes_per_object": round(writes / OBJECTS, 2),
    }


async def _warm_up(kubeconfig: str) -> None:
    """Server-side apply 200 ConfigMaps once, so the first side measured does not pay for
    the apiserver's cold paths (type converters, watch cache, etcd) alone."""
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Namespace

    ns = f"bench-kopf-warm-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig), field_manager=FIELD_MANAGER)
    await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    await for_each(200, CONCURRENCY, lambda i: kube.apply(
        ConfigMap(metadata=ObjectMeta(name=f"w-{i}", namespace=ns), data={"k": "v" * 900})))
    await kube.delete(Namespace, ns)
    await kube.close()


async def _all(kubeconfig: str, logdir: Path) -> dict[str, float]:
    """Every figure is the median of REPEAT runs; the sides alternate, so a burst of load
    from elsewhere on the machine does not land on one side only."""
    await _warm_up(kubeconfig)
    runs: dict[str, list[float]] = {}
    for _ in range(REPEAT):
        for side in ("ours", "kopf", "kopf_event", "ours_1worker"):
            for name, value in (await _converge(kubeconfig, side, logdir)).items():
                runs.setdefault(name, []).append(value)
    if REPEAT > 1:
        print("   runs: " + ", ".join(f"{k}={v}" for k, v in runs.items()
                                      if k.endswith("converge_1000_s")), flush=True)
    return {name: statistics.median(values) for name, values in runs.items()}


def comparison_table(figures: dict[str, float]) -> str:
    """ours | kopf | kopf/ours | kopf on.event | kopf on.event/ours, per measure."""
    rows = [("converge 1,000 (s)", "converge_1000_s"), ("RSS at convergence (MB)", "rss_mb"),
            ("peak RSS (MB)", "rss_peak_mb"), ("CPU (s)", "cpu_s"),
            ("API writes per object", "api_writes_per_object")]
    lines = [f"{'measure':<26}{'ours':>9}{'kopf':>9}{'kopf/ours':>11}"
             f"{'on.event':>10}{'on.event/ours':>15}", "-" * 80]
    for label, key in rows:
        o = figures.get(f"ours_{key}")
        if o is None:
            continue
        cells = f"{label:<26}{o:>9.2f}"
        for side, (w1, w2) in (("kopf", (9, 11)), ("kopf_event", (10, 15))):
            k = figures.get(f"{side}_{key}")
            if k is None:
                cells += f"{'-':>{w1}}{'-':>{w2}}"
            else:
                ratio = f"{k / o:.2f}x" if o else "-"
                cells += f"{k:>{w1}.2f}{ratio:>{w2}}"
        lines.append(cells)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child", action="store_true")
    p.add_argument("--kubeconfig")
    p.add_argument("--namespace")
    p.add_argument("--workers", type=int, default=8)
    args = p.parse_args(argv if argv is not None else [])
    if args.child:
        anyio.run(_ours, args.kubeconfig, args.namespace, args.workers)
        return
    with cluster() as kubeconfig:
        figures = anyio.run(_all, kubeconfig, BENCH_DIR)
    print(format_table(figures, "ours vs kopf: trivial child-ConfigMap controller, 1,000 parents"))
    print()
    print(comparison_table(figures), flush=True)
    record(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
