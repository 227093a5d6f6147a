"""200 InferenceServices in Knative mode, against Knative Serving's own controller,
autoscaler and webhook.

The cluster tier as in ``bench_isvc`` (etcd, kube-apiserver, kube-controller-manager without
its HPA controller at ``--kube-api-qps 200 --kube-api-burst 400``, kube-scheduler, kwok with
10 simulated nodes) plus :class:`runtime.testing.knative.KnativeServing` (Knative's binaries
from ``KNATIVE_ASSETS``, the KIngress status stand-in for a networking layer) and Istio's
VirtualService CRD; the shipped ``inferenceservice-config`` with
``deploy.defaultDeploymentMode: Knative`` and the shipped ClusterServingRuntimes; our manager
as a subprocess (``python -m controllers --controllers=inferenceservice``, webhooks off, 8
workers); ``BENCH_KNATIVE_N`` (default 200) InferenceServices
``{predictor: {model: {modelFormat: {name: sklearn}, storageUri: gs://...}}}`` in 10
namespaces created by 8 concurrent clients. An InferenceService is Ready here only because
Knative made its Knative Service Ready, which needs its Revision Ready, which needs the
Revision's Deployment's pod Running (kwok). Figures (``200`` is the count):

* ``knative_isvc_create_all_s``: the creates themselves;
* ``knative_isvc_ksvcs_200_s``: first create -> all Knative Services exist (our writes);
* ``knative_isvc_ready_200_s``: first create -> all InferenceServices Ready;
* ``knative_ksvcs_ready`` / ``knative_revisions_ready`` / ``knative_pods_running``: counted
  once all are Ready (each must be the count);
* ``knative_writes_per_isvc``: the manager's POST/PUT/PATCH/DELETE while converging, per
  InferenceService, its Events apart (``knative_event_writes_per_isvc``);
  ``knative_manager_gets_while_converging``: its GETs other than list/watch;
  ``knative_reconciles_per_isvc``;
* ``knative_<process>_cpu_s``: CPU seconds from the first create to all Ready (+1 s), for our
  manager and for each process the tier runs (Knative's ``controller``, ``autoscaler``,
  ``webhook``; ``apiserver``, ``etcd``, ``kcm``, ``scheduler``, ``kwok``), from
  ``/proc/<pid>/stat``; ``knative_manager_cpu_total_s`` includes the manager's start;
* ``knative_manager_rss_mb`` / ``knative_manager_rss_peak_mb``;
* ``knative_kingress_status_writes``: the networking stand-in's status writes;
* ``knative_idle_writes_10s`` / ``knative_idle_requests_10s``: the manager's writes / all its
  requests in the 10 s after all are Ready (Knative still settles status then): must be 0 /
  only discovery; ``knative_idle_manager_cpu_s`` / ``knative_idle_knative_controller_cpu_s``.

The autoscaler's stats port (:8080) is fixed: do not run this next to the Knative test tier.
"""

from __future__ import annotations

import json
import os
import time
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
from bench.bench_isvc import NODE_CAPACITY, create_global_resource_csr, key_of, sklearn_isvc
from runtime.testing.eventually import eventually
from runtime.testing.processes import ensure_built

COUNT = int(os.environ.get("BENCH_KNATIVE_N", "200"))
NAMESPACES = 10
CLIENTS = 8
WORKERS = 8
IDLE_S = 10
READY_WITHIN = float(os.environ.get("BENCH_KNATIVE_TIMEOUT", "900"))
KSERVE_NS = "kserve"
VIRTUAL_SERVICE_CRD = ROOT / "tests/data/crds/networking.istio.io_virtualservices.yaml"
REVISION_LABEL = "serving.knative.dev/revision"
_CPU_NAMES = {"kube-controller-manager": "kcm", "kube-scheduler": "scheduler",
              "kube-apiserver": "apiserver"}


def _ready(obj: Any) -> bool:
    body = obj.to_dict() if hasattr(obj, "to_dict") else obj
    conds = (body.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: proc_stats(pid).cpu_s for name, pid in pids.items()}


async def _run(env: Any, knative: Any) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig, operators
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod

    isvc_res = create_namespaced_resource("serving.kserve.io", "v1beta1", "InferenceService",
                                          "inferenceservices")
    ksvc_res = create_namespaced_resource("serving.knative.dev", "v1", "Service", "services")
    revision_res = create_namespaced_resource("serving.knative.dev", "v1", "Revision",
                                              "revisions")
    kube = AsyncClient(KubeConfig.from_file(env.kubeconfig_path), field_manager="bench")
    figures: dict[str, float] = {}
    for ns in [KSERVE_NS, *(f"bench-{i}" for i in range(NAMESPACES))]:
        await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    cm = yaml.safe_load((ROOT / "config/configmap/inferenceservice.yaml").read_text())
    cm["data"]["deploy"] = json.dumps({"defaultDeploymentMode": "Knative"})
    await kube.create(ConfigMap(metadata=ObjectMeta(name="inferenceservice-config",
                                                    namespace=KSERVE_NS), data=cm["data"]))
    csr_res = create_global_resource_csr()
    for path in sorted((ROOT / "config/runtimes").glob("kserve-*.yaml")):
        await kube.create(csr_res.from_dict(yaml.safe_load(path.read_text())))

    log = BENCH_DIR / "bench_knative_manager.log"
    log.unlink(missing_ok=True)
    mgr = ManagerProcess(str(env.kubeconfig_path), log, workers=WORKERS, namespace=KSERVE_NS,
                         log_level=os.environ.get("BENCH_KNATIVE_LOG_LEVEL", "warn"))
    try:
        await eventually(mgr.ready, within=120, interval=0.1)
        tier = {_CPU_NAMES.get(n, n): pid for n, pid in env.pids().items()}
        tier.update(knative.pids())
        pids = {"manager": mgr.proc.pid, **tier}
        before, cpu0 = mgr.scrape(), _cpu(pids)
        kingress0 = knative.ingress_writer.writes

        # progress is followed with watches (a list every second would load the apiserver)
        ready: set[str] = set()
        ksvcs: set[str] = set()
        all_ksvcs, all_ready = anyio.Event(), anyio.Event()

        async def watch_isvcs() -> None:
            async for _, obj in kube.watch(isvc_res, namespace="*"):
                if _ready(obj):
                    ready.add(key_of(obj))
                    if len(ready) >= COUNT:
                        all_ready.set()

        async def watch_ksvcs() -> None:
            async for _, obj in kube.watch(ksvc_res, namespace="*"):
                ksvcs.add(key_of(obj))
                if len(ksvcs) >= COUNT:
                    all_ksvcs.set()

        async with anyio.create_task_group() as watchers:
            watchers.start_soon(watch_isvcs)
            watchers.start_soon(watch_ksvcs)
            await anyio.sleep(1)  # the watches are open
            t0 = time.perf_counter()

            async def create(i: int) -> None:
                await kube.create(isvc_res.from_dict(sklearn_isvc(i)))

            await for_each(COUNT, CLIENTS, create)
            figures["knative_isvc_create_all_s"] = time.perf_counter() - t0
            try:
                with anyio.fail_after(READY_WITHIN):
                    await all_ksvcs.wait()
                    figures["knative_isvc_ksvcs_200_s"] = time.perf_counter() - t0
                    await all_ready.wait()
                    figures["knative_isvc_ready_200_s"] = time.perf_counter() - t0
            except TimeoutError:
                raise TimeoutError(
                    f"after {READY_WITHIN:.0f} s: {len(ksvcs)} Knative Services, {len(ready)} "
                    f"of {COUNT} InferenceServices Ready (exited: "
                    f"{knative.exited_components()})") from None
            watchers.cancel_scope.cancel()
        # the last status write is seen by the watch before the manager has counted its
        # response: take the figures a second later
        await anyio.sleep(1)
        cpu1, after = _cpu(pids), mgr.scrape()
        event_writes = await manager_event_writes(kube)
        stats = proc_stats(mgr.proc.pid)
        for name in pids:
            figures[f"knative_{name}_cpu_s"] = cpu1[name] - cpu0[name]
        figures["knative_manager_cpu_total_s"] = stats.cpu_s
        figures["knative_manager_rss_mb"] = stats.rss_mb
        figures["knative_manager_rss_peak_mb"] = stats.peak_mb

        # the idle window: Knative settles status; the manager must write nothing
        await anyio.sleep(IDLE_S)
        idle, cpu2 = mgr.scrape(), _cpu(pids)
        figures["knative_idle_writes_10s"] = sum(idle.get(m, 0) - after.get(m, 0)
                                                 for m in WRITES)
        figures["knative_idle_event_writes_10s"] = (
            await manager_event_writes(kube) - event_writes)
        figures["knative_idle_requests_10s"] = sum(
            v - after.get(k, 0) for k, v in idle.items() if k.isupper())
        figures["knative_idle_manager_cpu_s"] = cpu2["manager"] - cpu1["manager"]
        figures["knative_idle_knative_controller_cpu_s"] = cpu2["controller"] - cpu1["controller"]

        writes = sum(after.get(m, 0) - before.get(m, 0) for m in WRITES) - event_writes
        figures["knative_writes_per_isvc"] = writes / COUNT
        figures["knative_event_writes_per_isvc"] = event_writes / COUNT
        figures["knative_manager_gets_while_converging"] = (
            after.get("GET", 0) - before.get("GET", 0))
        figures["knative_reconciles_per_isvc"] = (
            after.get("reconciles", 0) - before.get("reconciles", 0)) / COUNT
        figures["knative_kingress_status_writes"] = knative.ingress_writer.writes - kingress0

        # what made them Ready: Knative's objects and kwok's pods
        figures["knative_ksvcs_ready"] = sum(
            [1 async for o in kube.list(ksvc_res, namespace="*") if _ready(o)])
        figures["knative_revisions_ready"] = sum(
            [1 async for o in kube.list(revision_res, namespace="*") if _ready(o)])
        figures["knative_pods_running"] = sum(
            [1 async for p in kube.list(Pod, namespace="*",
                                        labels={REVISION_LABEL: operators.exists()})
             if p.status is not None and p.status.phase == "Running"])
    finally:
        mgr.stop()
        await kube.close()
    return figures


def run() -> dict[str, float]:
    """The scenario on a fresh cluster tier with Knative Serving; its figures (``200`` in
    their names replaced by the count when ``BENCH_KNATIVE_N`` differs)."""
    ensure_assets()
    ensure_built("KNATIVE_ASSETS", ROOT / "hack" / "build-knative.sh")
    from runtime.testing import Environment
    from runtime.testing.knative import KnativeServing

    env = Environment(
        crd_paths=[str(ROOT / "config/crd/full"), str(VIRTUAL_SERVICE_CRD)], cluster=True,
        nodes=10, node_capacity=NODE_CAPACITY,
        extra_controller_manager_args=["--controllers=*,-horizontalpodautoscaling",
                                       "--kube-api-qps=200", "--kube-api-burst=400"],
    )
    with env, KnativeServing(env) as knative:
        figures = anyio.run(_run, env, knative)
        figures["knative_tier_start_s"] = knative.start_seconds or 0.0
    if COUNT != 200:
        figures = {k.replace("200", str(COUNT)): v for k, v in figures.items()}
    return figures


def main() -> None:
    figures = run()
    print(format_table(figures, title=f"{COUNT} InferenceServices, Knative mode "
                                      "(Knative Serving's controller, autoscaler, webhook)"))
    record(figures)


if __name__ == "__main__":
    main()
