"""1,000 InferenceServices in Standard mode: upstream's baseline scenario, our manager.

The cluster tier (etcd, kube-apiserver, kube-controller-manager without its HPA controller at
``--kube-api-qps 200 --kube-api-burst 400``, kube-scheduler, kwok) with 10 simulated nodes; the
shipped ``inferenceservice-config`` with ``deploy.defaultDeploymentMode: Standard`` and
Ingress routing; the shipped ClusterServingRuntimes; the manager as a subprocess
(``python -m controllers``, webhooks off, 8 workers); 1,000 InferenceServices
``{predictor: {model: {modelFormat: {name: sklearn}, storageUri: gs://...}}}`` in 10
namespaces created by 8 concurrent clients. Figures (upstream's, measured on this kind of
machine, in brackets):

* ``isvc_1000_deployments_s``: first create -> all 1,000 Deployments exist (106-112 s);
* ``isvc_1000_ready_s``: first create -> all Ready (140-151 s; goal <= 70 s);
* ``isvc_writes_per_isvc``: the manager's POST/PUT/PATCH/DELETE while converging, per
  InferenceService, Events apart (12 + 3 dry-run PUTs; goal <= 7, 0 dry-run);
  ``isvc_event_writes_per_isvc``: the Events it wrote;
* ``isvc_manager_gets_while_converging``: the manager's GETs other than its list/watches
  (upstream: 20 uncached GETs of ``inferenceservice-config`` per InferenceService; goal 0);
* ``isvc_manager_cpu_s``: manager CPU seconds to all Ready (43-47; goal <= 45);
* ``isvc_manager_rss_peak_mb`` / ``isvc_manager_rss_idle_mb`` (168 / 135 MiB; goal <= 150 /
  <= 120 MB);
* ``isvc_config_rollout_s``: a ``deploymentRolloutStrategy`` change in
  ``inferenceservice-config`` -> all 1,000 Deployments carry it (upstream: never without a
  restart; goal <= 10 s);
* ``isvc_restart_writes`` and ``isvc_restart_synced_s``: a manager restart with nothing
  changed (22.7 s, 2,002 writes; goal 0 writes, caches synced <= 5 s);
* ``isvc_delete_1000_s``: delete all 1,000 -> all gone (47.4 s; goal <= 47 s).

``BENCH_ISVC_COUNT`` scales the run down (e.g. 100 for a quick look). :class:`Variant` is
what another run of the same scenario changes (``bench_isvc_webhooks``: the webhooks on).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml

from bench._common import (
    BENCH_DIR,
    ROOT,
    WRITES,
    ManagerProcess,
    ensure_assets,
    for_each,
    manager_event_writes,
    proc_stats,
)
from bench._results import format_table, record
from runtime.testing.eventually import eventually

LOG_LEVEL = os.environ.get("BENCH_ISVC_LOG_LEVEL", "warn")

COUNT = int(os.environ.get("BENCH_ISVC_COUNT", "1000"))
NAMESPACES = 10
CLIENTS = 8
WORKERS = int(os.environ.get("BENCH_ISVC_WORKERS", "8"))
KSERVE_NS = "kserve"
STORAGE_URI = "gs://kfserving-examples/models/sklearn/1.0/model"
NODE_CAPACITY = {"cpu": "256", "memory": "1Ti", "pods": "250", "ephemeral-storage": "1Ti",
                 "nvidia.com/gpu": "8"}


def sklearn_isvc(i: int) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": f"sklearn-{i}", "namespace": f"bench-{i % NAMESPACES}"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                             "storageUri": STORAGE_URI}}}}


@dataclass(frozen=True)
class Variant:
    """What a run changes over the baseline: the manager's webhook flags, a step once the
    config and runtimes exist and before the manager starts (``before_manager(env)``), and
    figures taken when all are Ready (``converged(kube, scrape_before, scrape_after)``,
    named ``isvc_*`` like the others)."""

    name: str = "isvc"  # the manager log is bench_<name>_manager.log
    manager_flags: tuple[str, ...] = ("--webhooks=false",)
    before_manager: Callable[[Any], Awaitable[None]] | None = None
    converged: Callable[[Any, dict[str, float], dict[str, float]],
                        Awaitable[dict[str, float]]] | None = None


def _manager(env: Any, log: Path, variant: Variant) -> ManagerProcess:
    return ManagerProcess(str(env.kubeconfig_path), log, flags=variant.manager_flags,
                          workers=WORKERS, namespace=KSERVE_NS, log_level=LOG_LEVEL)


async def _run(env: Any, variant: Variant | None = None) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap, Namespace

    isvc_res = create_namespaced_resource("serving.kserve.io", "v1beta1", "InferenceService",
                                          "inferenceservices")
    csr_res = create_global_resource_csr()
    kube = AsyncClient(KubeConfig.from_file(env.kubeconfig_path), field_manager="bench")
    figures: dict[str, float] = {}
    for ns in [KSERVE_NS, *(f"bench-{i}" for i in range(NAMESPACES))]:
        await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    cm = yaml.safe_load((ROOT / "config/configmap/inferenceservice.yaml").read_text())
    cm["data"]["deploy"] = json.dumps({"defaultDeploymentMode": "Standard"})
    await kube.create(ConfigMap(metadata=ObjectMeta(name="inferenceservice-config",
                                                    namespace=KSERVE_NS), data=cm["data"]))
    for path in sorted((ROOT / "config/runtimes").glob("kserve-*.yaml")):
        await kube.create(csr_res.from_dict(yaml.safe_load(path.read_text())))
    variant = variant or Variant()
    if variant.before_manager is not None:
        await variant.before_manager(env)

    log = BENCH_DIR / f"bench_{variant.name}_manager.log"
    log.unlink(missing_ok=True)
    mgr = _manager(env, log, variant)
    try:
        await eventually(mgr.ready, within=120, interval=0.1)
        before = mgr.scrape()
        pids = env.pids()
        cpu0 = {name: proc_stats(pid).cpu_s for name, pid in pids.items()}
        # progress is followed with two watches (a list every second would load the
        # apiserver more than the manager does)
        ready: set[str] = set()
        deployments: set[str] = set()
        all_deployments, all_ready = anyio.Event(), anyio.Event()

        async def watch_isvcs() -> None:
            async for _, obj in kube.watch(isvc_res, namespace="*"):
                conds = (obj.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                    ready.add(key_of(obj))
                    if len(ready) >= COUNT:
                        all_ready.set()

        async def watch_deployments() -> None:
            async for _, dep in kube.watch(Deployment, namespace="*",
                                           labels={"component": "predictor"}):
                deployments.add(key_of(dep))
                if len(deployments) >= COUNT:
                    all_deployments.set()

        async with anyio.create_task_group() as watchers:
            watchers.start_soon(watch_isvcs)
            watchers.start_soon(watch_deployments)
            await anyio.sleep(1)  # the watches are open
            t0 = time.perf_counter()

            async def create(i: int) -> None:
                await kube.create(isvc_res.from_dict(sklearn_isvc(i)))

            await for_each(COUNT, CLIENTS, create)
            figures["isvc_create_all_s"] = time.perf_counter() - t0
            with anyio.fail_after(900):
                await all_deployments.wait()
                figures["isvc_1000_deployments_s"] = time.perf_counter() - t0
                await all_ready.wait()
                figures["isvc_1000_ready_s"] = time.perf_counter() - t0
            watchers.cancel_scope.cancel()
        stats = proc_stats(mgr.proc.pid)
        after = mgr.scrape()
        figures["isvc_manager_cpu_s"] = stats.cpu_s
        figures["isvc_manager_rss_peak_mb"] = stats.peak_mb
        event_writes = await manager_event_writes(kube)
        writes = sum(after.get(m, 0) - before.get(m, 0) for m in WRITES) - event_writes
        figures["isvc_writes_per_isvc"] = writes / COUNT
        figures["isvc_event_writes_per_isvc"] = event_writes / COUNT
        figures["isvc_manager_gets_while_converging"] = after.get("GET", 0) - before.get("GET", 0)
        for name, pid in pids.items():
            figures[f"isvc_converge_cpu_{name}_s"] = proc_stats(pid).cpu_s - cpu0[name]

        def mean(metric: str) -> float:
            n = after.get(f"{metric}_count", 0) - before.get(f"{metric}_count", 0)
            total = after.get(f"{metric}_sum", 0) - before.get(f"{metric}_sum", 0)
            return total / n * 1000 if n else 0.0

        figures["isvc_reconcile_mean_ms"] = mean("controller_runtime_reconcile_time_seconds")
        figures["isvc_queue_wait_mean_ms"] = mean("workqueue_queue_duration_seconds")
        figures["isvc_reconciles_per_isvc"] = (
            after.get("reconciles", 0) - before.get("reconciles", 0)) / COUNT
        if variant.converged is not None:
            figures.update(await variant.converged(kube, before, after))
        await anyio.sleep(20)
        figures["isvc_manager_rss_idle_mb"] = proc_stats(mgr.proc.pid).rss_mb

        # a rollout-strategy change in the config reaches every Deployment, no restart
        cm["data"]["deploy"] = json.dumps({
            "defaultDeploymentMode": "Standard",
            "deploymentRolloutStrategy": {"defaultRollout": {"maxSurge": "1",
                                                             "maxUnavailable": "0"}}})
        rolled: set[str] = set()
        all_rolled = anyio.Event()

        async def watch_rollout() -> None:
            async for _, dep in kube.watch(Deployment, namespace="*",
                                           labels={"component": "predictor"}):
                if _max_surge(dep) == 1:
                    rolled.add(key_of(dep))
                    if len(rolled) >= COUNT:
                        all_rolled.set()

        async with anyio.create_task_group() as watcher:
            watcher.start_soon(watch_rollout)
            await anyio.sleep(1)  # the watch is open
            t1 = time.perf_counter()
            await kube.patch(ConfigMap, "inferenceservice-config", {"data": cm["data"]},
                             namespace=KSERVE_NS)
            with anyio.fail_after(300):
                await all_rolled.wait()
            watcher.cancel_scope.cancel()
        figures["isvc_config_rollout_s"] = time.perf_counter() - t1
        await anyio.sleep(5)
    finally:
        mgr.stop()

    # restart with nothing changed
    mgr = _manager(env, log, variant)
    try:
        t2 = time.perf_counter()
        await eventually(mgr.ready, within=120)
        figures["isvc_restart_synced_s"] = time.perf_counter() - t2
        await eventually(lambda: mgr.scrape().get("reconciles", 0) >= COUNT, within=300,
                         interval=0.5)
        await anyio.sleep(5)
        counts = mgr.scrape()
        figures["isvc_restart_writes"] = sum(counts.get(m, 0) for m in WRITES)

        t3 = time.perf_counter()

        async def delete(i: int) -> None:
            body = sklearn_isvc(i)
            await kube.delete(isvc_res, body["metadata"]["name"],
                              namespace=body["metadata"]["namespace"])

        await for_each(COUNT, CLIENTS, delete)
        while len([1 async for _ in kube.list(isvc_res, namespace="*")]) > 0:
            if time.perf_counter() - t3 > 600:
                raise TimeoutError("InferenceServices not deleted after 600 s")
            await anyio.sleep(0.5)
        figures["isvc_delete_1000_s"] = time.perf_counter() - t3
    finally:
        mgr.stop()
        await kube.close()
    return figures


def key_of(obj: Any) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"


def _max_surge(d: Any) -> Any:
    strategy = d.spec.strategy if d.spec is not None else None
    rolling = strategy.rollingUpdate if strategy is not None else None
    return rolling.maxSurge if rolling is not None else None


def create_global_resource_csr() -> Any:
    from lightkube.generic_resource import create_global_resource

    return create_global_resource("serving.kserve.io", "v1alpha1", "ClusterServingRuntime",
                                  "clusterservingruntimes")


def run(variant: Variant | None = None) -> dict[str, float]:
    """The scenario on a fresh cluster tier; its figures (``1000`` in their names replaced
    by the count when ``BENCH_ISVC_COUNT`` differs)."""
    ensure_assets()
    from runtime.testing import Environment

    env = Environment(
        crd_paths=[str(ROOT / "config/crd/full")], cluster=True, nodes=10,
        node_capacity=NODE_CAPACITY,
        extra_controller_manager_args=["--controllers=*,-horizontalpodautoscaling",
                                       "--kube-api-qps=200", "--kube-api-burst=400"],
    )
    with env:
        figures = anyio.run(_run, env, variant)
    if COUNT != 1000:
        figures = {k.replace("1000", str(COUNT)): v for k, v in figures.items()}
    return figures


def main() -> None:
    figures = run()
    print(format_table(figures, title=f"{COUNT} InferenceServices, Standard mode"))
    record(figures)


if __name__ == "__main__":
    main()
