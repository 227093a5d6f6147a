"""LocalModel benchmark on a real API server (envtest with the KServe CRDs): 50
LocalModelCaches on a node group of 10 nodes.

The LocalModel manager (``python -m controllers.localmodel``) and one node agent per node
(``python -m controllers.localmodelnode --node-name node-<i>``, each with its own models
folder) run as child processes, as in a cluster (a Deployment and a DaemonSet). envtest runs
no Job controller and no kubelet: the benchmark plays both for the download Jobs (a new
Job's model folder is created in its node's folder, then the Job is marked succeeded).

Figures:

* ``localmodel_converge_50x10_s``: from the first cache created until all 50 report 10
  available copies;
* ``localmodel_manager_requests_per_cache`` / ``localmodel_manager_writes_per_cache``: the
  manager's API requests (``rest_client_requests_total`` from its ``/metrics``) during
  convergence / 50 (per cache: finalizer, download PV and PVC, status as the nodes report;
  the LocalModelNodes' lists are written per node, see ``localmodel_localmodelnode_writes``);
* ``localmodel_localmodelnode_writes``: writes of the 10 LocalModelNodes' ``spec`` (the sum of
  their ``generation``; upstream patches each node once per cache: 500);
* ``localmodel_agent_requests_per_cache``: all agents' requests / 50 (per node and cache: the
  Job, the status);
* ``localmodel_idle_requests_10s``: requests of the manager and every agent in 10 s once
  converged (the agents re-check their folders every 2 s here): must be 0;
* ``localmodel_agent_rss_mb`` (mean) / ``localmodel_agent_rss_max_mb``,
  ``localmodel_manager_rss_mb``: after convergence;
* ``localmodel_delete_50x10_s``: deleting every cache until each is gone and every
  LocalModelNode lists nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from bench._common import (
    BENCH_DIR,
    ROOT,
    cluster,
    create_all,
    free_port,
    proc_stats,
    spawn_python,
    stop,
)
from bench._results import print_table, record

CACHES = 50
NODES = 10
LABEL = "bench.kserve.io/localmodel"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _cluster() -> contextlib.AbstractContextManager[str]:
    return cluster([str(ROOT / "config" / "crd" / "full")])


def _scrape(port: int) -> dict[str, float]:
    """``rest_client_requests_total`` of a child, by method."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("rest_client_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            method = labels.split('method="', 1)[1].split('"', 1)[0]
            out[method] = out.get(method, 0.0) + float(value)
    return out


async def _requests(ports: list[int], methods: tuple[str, ...] | None = None) -> float:
    total = 0.0
    for port in ports:
        counts = await anyio.to_thread.run_sync(_scrape, port)
        total += sum(v for m, v in counts.items() if methods is None or m in methods)
    return total


async def _until(condition: Callable[[], Awaitable[bool]], within: float,
                 interval: float = 0.2) -> None:
    with anyio.fail_after(within):
        while True:
            if await condition():
                return
            await anyio.sleep(interval)


def _cache(i: int, group: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
            "metadata": {"name": f"bench-model-{i:02d}"},
            "spec": {"sourceModelUri": f"s3://bench/model-{i:02d}", "modelSize": "1Gi",
                     "nodeGroups": [group]}}


async def _run(kubeconfig: str, work: Path) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.batch_v1 import Job
    from lightkube.resources.core_v1 import ConfigMap, Namespace, Node

    from apis.serving.v1alpha1 import LocalModelCache, LocalModelNode, LocalModelNodeGroup
    from controllers.config import CONFIG_MAP_NAME
    from runtime.client import Client
    from runtime.transport import http_client

    tag = uuid.uuid4().hex[:6]
    config_ns, jobs_ns = f"bench-lm-{tag}", f"bench-lm-jobs-{tag}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig), field_manager="bench")
    client = Client(kube)
    for ns in (config_ns, jobs_ns):
        await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    await kube.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=config_ns),
                                data={"localModel": json.dumps({
                                    "enabled": True, "jobNamespace": jobs_ns,
                                    "reconcilationFrequencyInSecs": 2, "fsGroup": 1000}),
                                      "storageInitializer": json.dumps({
                                          "image": "kserve/storage-initializer:latest",
                                          "cpuRequest": "100m", "cpuLimit": "1",
                                          "memoryRequest": "200Mi", "memoryLimit": "1Gi"})}))
    group = f"bench-group-{tag}"
    nodes = [f"bench-node-{tag}-{i}" for i in range(NODES)]
    await client.create(LocalModelNodeGroup.model_validate({
        "metadata": {"name": group}, "spec": {
            "storageLimit": "100Gi",
            "persistentVolumeSpec": {
                "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "100Gi"},
                "hostPath": {"path": "/models", "type": "DirectoryOrCreate"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": LABEL, "operator": "In", "values": [tag]}]}]}}},
            "persistentVolumeClaimSpec": {"accessModes": ["ReadWriteOnce"],
                                          "resources": {"requests": {"storage": "1Gi"}}}}}))
    for name in nodes:
        await client.create(Node.from_dict({"metadata": {"name": name,
                                                         "labels": {LABEL: tag}}}))
        await kube.patch(Node.Status, name, {"status": {"conditions": [
            {"type": "Ready", "status": "True"}]}})
    roots = {n: work / n / "models" for n in nodes}

    env = {"KUBECONFIG": kubeconfig, "POD_NAMESPACE": config_ns}
    logs = BENCH_DIR / "localmodel"
    manager_port = free_port()
    children = [spawn_python("controllers.localmodel", "--metrics-addr",
                             f"127.0.0.1:{manager_port}", "--health-probe-addr", "0",
                             log=logs / "manager.log", env=env)]
    agent_ports = []
    for name in nodes:
        port = free_port()
        agent_ports.append(port)
        children.append(spawn_python(
            "controllers.localmodelnode", "--node-name", name, "--models-root",
            str(roots[name]), "--metrics-addr", f"127.0.0.1:{port}", "--health-probe-addr", "0",
            log=logs / f"{name}.log", env=env))
    figures: dict[str, float] = {}
    jobs_done: set[str] = set()

    async def play_jobs() -> None:
        """The Job controller and the download container, for the agents' Jobs."""
        while True:
            for job in await client.api_reader.list(Job, jobs_ns):
                name = job.metadata.name
                if name in jobs_done:
                    continue
                node = job.metadata.labels["node"]
                sub = job.spec.template.spec.containers[0].volumeMounts[0].subPath
                (roots[node] / sub.removeprefix("models/")).mkdir(parents=True, exist_ok=True)
                await client.patch_status(Job, name, {"status": {"succeeded": 1}},
                                          namespace=jobs_ns)
                jobs_done.add(name)
            await anyio.sleep(0.2)

    async def available() -> int:
        done = 0
        for c in await client.api_reader.list(LocalModelCache):
            if not c.metadata.name.startswith("bench-model-"):
                continue
            copies = c.status.model_copies if c.status else None
            done += int(copies is not None and copies.available == NODES)
        return done

    try:
        async def up() -> bool:
            try:
                await _requests([manager_port, *agent_ports])
                return True
            except OSError:
                return False

        await _until(up, within=180, interval=0.5)
        await anyio.sleep(2.0)  # informers synced
        mgr0 = await _requests([manager_port])
        mgr_w0 = await _requests([manager_port], WRITE_METHODS)
        agents0 = await _requests(agent_ports)
        async with anyio.create_task_group() as tg:
            tg.start_soon(play_jobs)
            t0 = time.perf_counter()
            await create_all(http_client(kube), "/apis/serving.kserve.io/v1alpha1/"
                             "localmodelcaches", lambda i: _cache(i, group), CACHES, 10)

            async def converged() -> bool:
                return await available() == CACHES

            await _until(converged, within=300, interval=0.5)
            figures["localmodel_converge_50x10_s"] = round(time.perf_counter() - t0, 2)
            await anyio.sleep(3.0)
            figures["localmodel_manager_requests_per_cache"] = round(
                (await _requests([manager_port]) - mgr0) / CACHES, 2)
            figures["localmodel_manager_writes_per_cache"] = round(
                (await _requests([manager_port], WRITE_METHODS) - mgr_w0) / CACHES, 2)
            figures["localmodel_agent_requests_per_cache"] = round(
                (await _requests(agent_ports) - agents0) / CACHES, 2)
            lmns = [await client.api_reader.get(LocalModelNode, n) for n in nodes]
            assert all(len(x.spec.local_models) == CACHES for x in lmns)
            figures["localmodel_localmodelnode_writes"] = sum(
                int(x.metadata.generation or 0) for x in lmns)
            assert len(jobs_done) == CACHES * NODES, len(jobs_done)

            before = await _requests([manager_port, *agent_ports])
            await anyio.sleep(10.0)
            figures["localmodel_idle_requests_10s"] = (
                await _requests([manager_port, *agent_ports]) - before)
            rss = [proc_stats(p.pid).rss_mb for p in children[1:]]
            figures["localmodel_agent_rss_mb"] = round(sum(rss) / len(rss), 1)
            figures["localmodel_agent_rss_max_mb"] = round(max(rss), 1)
            figures["localmodel_manager_rss_mb"] = round(proc_stats(children[0].pid).rss_mb, 1)

            t0 = time.perf_counter()
            for i in range(CACHES):
                await client.delete(LocalModelCache, f"bench-model-{i:02d}")

            async def deleted() -> bool:
                left = [c for c in await client.api_reader.list(LocalModelCache)
                        if c.metadata.name.startswith("bench-model-")]
                lmns = [await client.api_reader.get(LocalModelNode, n) for n in nodes]
                return not left and all(not x.spec.local_models for x in lmns)

            await _until(deleted, within=600, interval=0.5)
            figures["localmodel_delete_50x10_s"] = round(time.perf_counter() - t0, 2)
            tg.cancel_scope.cancel()
    finally:
        for p in children:
            stop(p, timeout=15)
        with anyio.CancelScope(shield=True):
            for name in nodes:
                with contextlib.suppress(Exception):
                    await kube.delete(Node, name)
                with contextlib.suppress(Exception):
                    await client.delete(LocalModelNode, name)
            with contextlib.suppress(Exception):
                await client.delete(LocalModelNodeGroup, group)
            await kube.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    del argv
    work = Path(tempfile.mkdtemp(prefix="bench-localmodel-"))
    try:
        with _cluster() as kubeconfig:
            figures = anyio.run(_run, kubeconfig, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(figures, f"localmodel: {CACHES} LocalModelCaches x {NODES} nodes (envtest; "
                         "manager and agents as processes)")
    if figures["localmodel_idle_requests_10s"] != 0:
        raise AssertionError("converged LocalModel controllers kept making requests")
    record(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
