"""TrainedModel (and InferenceGraph) controller benchmark on a real API server (envtest with
the KServe CRDs, or ``$BENCH_KUBECONFIG`` with them installed).

10 multi-model InferenceServices (status Ready written by the benchmark: the InferenceService
controller is not run) with their ``modelconfig-<isvc>-0`` ConfigMaps; 200 TrainedModels (20
per predictor) are created at once by a separate client and the TrainedModel controller
(in-process ``runtime.manager.Manager``, default concurrency) places them.

Figures:

* ``trainedmodel_converge_200_s``: from the first create until every model is Ready and in its
  ``models.json`` (and ``trainedmodel_converge_per_s``);
* ``trainedmodel_writes_per_model``: the controller's write requests (POST/PUT/PATCH/DELETE,
  from ``rest_client_requests_total``) during convergence / 200; upstream makes 5 in a
  model's first reconcile (finalizer update, allocated-label update, two status updates, a
  ConfigMap update);
* ``trainedmodel_configmap_writes``: ``models.json`` writes seen by a watch (upstream: one per
  model, 200);
* ``trainedmodel_reconciles_per_model``;
* ``trainedmodel_delete_200_s``: deleting all 200 until every ``models.json`` is ``[]`` and
  the models are gone (finalizers done), and ``trainedmodel_delete_configmap_writes`` (models
  deleted together leave in fewer writes than one per model);
* ``trainedmodel_noop_reconcile_requests`` / ``inferencegraph_noop_reconcile_requests``: API
  requests made by reconciling every converged object once more with a fresh reconciler
  (nothing to do: must be 0).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from bench._common import ROOT, cluster, create_all
from bench._results import print_table, record

ISVCS = 10
PER_ISVC = 20
MODELS = ISVCS * PER_ISVC
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _cluster() -> contextlib.AbstractContextManager[str]:
    return cluster([str(ROOT / "config" / "crd" / "full")])


def _requests(methods: tuple[str, ...] | None = None) -> float:
    from runtime import metrics

    return sum(s.value for m in metrics.REGISTRY.collect() if m.name == "rest_client_requests"
               for s in m.samples if s.name == "rest_client_requests_total"
               and (methods is None or s.labels.get("method") in methods))


def _reconciles(controller: str) -> float:
    from runtime import metrics

    return sum(s.value for m in metrics.REGISTRY.collect()
               if m.name == "controller_runtime_reconcile" for s in m.samples
               if s.name == "controller_runtime_reconcile_total"
               and s.labels.get("controller") == controller)


async def _until(condition: Callable[[], Awaitable[bool]], within: float,
                 interval: float = 0.1) -> None:
    """Poll ``condition`` until it is true; TimeoutError after ``within`` seconds."""
    with anyio.fail_after(within):
        while True:
            if await condition():
                return
            await anyio.sleep(interval)


def _tm(i: int, ns: str) -> dict[str, Any]:
    isvc = f"mms-{i % ISVCS}"
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "TrainedModel",
            "metadata": {"name": f"model-{i:03d}", "namespace": ns},
            "spec": {"inferenceService": isvc, "model": {
                "storageUri": f"gs://models/model-{i:03d}", "framework": "sklearn",
                "memory": "100Mi"}}}


async def _run(kubeconfig: str) -> dict[str, float]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap, Namespace
    from lightkube.types import PatchType

    from apis.serving.v1alpha1.inference_graph import InferenceGraph
    from apis.serving.v1alpha1.trained_model import TrainedModel
    from apis.serving.v1beta1.inference_service import InferenceService
    from controllers.config import CONFIG_MAP_NAME, ConfigSource
    from controllers.inferencegraph import controller as igc
    from controllers.trainedmodel import controller as tmc
    from runtime.manager import Manager
    from runtime.reconcile import Request
    from runtime.testing.eventually import eventually
    from runtime.transport import http_client

    ns = f"bench-tm-{uuid.uuid4().hex[:6]}"
    kube = AsyncClient(KubeConfig.from_file(kubeconfig), field_manager="bench")
    await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    await kube.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns), data={
        "router": json.dumps({"image": "kserve/router:v0.16.0", "memoryRequest": "100Mi",
                              "memoryLimit": "500Mi", "cpuRequest": "100m", "cpuLimit": "1"}),
        "deploy": json.dumps({"defaultDeploymentMode": "Standard"})}))
    for i in range(ISVCS):
        await kube.create(ConfigMap(metadata=ObjectMeta(name=f"modelconfig-mms-{i}-0",
                                                        namespace=ns),
                                    data={"models.json": "[]"}))

    mgr = Manager(kubeconfig, metrics_bind_address="0", health_probe_bind_address="0")
    source = ConfigSource(mgr.client, ns)
    tmc.setup(mgr, source)
    igc.setup(mgr, source)
    client = mgr.client
    figures: dict[str, float] = {}
    cm_writes = 0

    async def count_cm_writes() -> None:
        nonlocal cm_writes
        watcher = AsyncClient(KubeConfig.from_file(kubeconfig))
        async for op, cm in watcher.watch(ConfigMap, namespace=ns):
            name = (cm.metadata.name if cm.metadata else None) or ""
            if op == "MODIFIED" and name.startswith("modelconfig-"):
                cm_writes += 1

    async def models_in(i: int) -> int:
        cm = await kube.get(ConfigMap, f"modelconfig-mms-{i}-0", namespace=ns)
        return len(json.loads((cm.data or {}).get("models.json") or "[]"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set() and all(
            inf.has_synced() for inf in mgr.cache.informers()), within=60)
        for i in range(ISVCS):
            name = f"mms-{i}"
            await client.create(InferenceService.model_validate({
                "metadata": {"name": name, "namespace": ns},
                "spec": {"predictor": {"sklearn": {"name": "kserve-container", "resources": {
                    "limits": {"memory": "4Gi"}}}}}}))
            await client.patch_status(InferenceService, name, {"status": {
                "url": f"http://{name}-{ns}.example.com",
                "address": {"url": f"http://{name}-predictor.{ns}.svc.cluster.local"},
                "conditions": [{"type": "Ready", "status": "True"}]}}, namespace=ns)
        tg.start_soon(count_cm_writes)
        await anyio.sleep(1.0)

        writes0, rec0, cm0 = _requests(WRITE_METHODS), _reconciles("trainedmodel"), cm_writes
        t0 = time.perf_counter()
        await create_all(http_client(kube), f"/apis/serving.kserve.io/v1alpha1/namespaces/{ns}"
                         "/trainedmodels", lambda i: _tm(i, ns), MODELS, 20)

        async def converged() -> bool:
            counts = [await models_in(i) for i in range(ISVCS)]
            return counts == [PER_ISVC] * ISVCS

        await _until(converged, within=600)
        elapsed = time.perf_counter() - t0
        await anyio.sleep(1.0)  # let the last status writes land before counting
        ready = [tm for tm in await client.list(TrainedModel, ns)
                 if tm.status and any(c.type == "Ready" and c.status == "True"
                                      for c in tm.status.conditions or [])]
        assert len(ready) == MODELS, f"{len(ready)} of {MODELS} TrainedModels are Ready"
        figures["trainedmodel_converge_200_s"] = round(elapsed, 2)
        figures["trainedmodel_converge_per_s"] = round(MODELS / elapsed, 1)
        figures["trainedmodel_writes_per_model"] = round(
            (_requests(WRITE_METHODS) - writes0) / MODELS, 2)
        figures["trainedmodel_configmap_writes"] = cm_writes - cm0
        figures["trainedmodel_reconciles_per_model"] = round(
            (_reconciles("trainedmodel") - rec0) / MODELS, 2)

        # a no-op reconcile of every model (fresh reconciler: the cache decides alone)
        rec = tmc.TrainedModelReconciler(mgr)
        saved_refresh = mgr.rest_mapper.refresh_interval
        mgr.rest_mapper.refresh_interval = 0.0  # a discovery request would count too
        before = _requests()
        for i in range(MODELS):
            await rec.reconcile(Request(ns, f"model-{i:03d}"))
        figures["trainedmodel_noop_reconcile_requests"] = _requests() - before
        mgr.rest_mapper.refresh_interval = saved_refresh

        # the same for an InferenceGraph over two of the InferenceServices, once Ready
        await client.create(InferenceGraph.model_validate({
            "metadata": {"name": "graph", "namespace": ns},
            "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
                {"serviceName": "mms-0"}, {"serviceName": "mms-1"}]}}}}))

        async def deployment() -> Any:
            try:
                return await kube.get(Deployment, "graph", namespace=ns)
            except Exception:
                return None

        await eventually(deployment, within=60)
        await kube.patch(Deployment.Status, "graph", {"status": {"conditions": [
            {"type": "Available", "status": "True"}]}}, namespace=ns,
            patch_type=PatchType.MERGE)

        async def graph_ready() -> bool:
            g = await client.api_reader.get(InferenceGraph, "graph", ns)
            return bool(g.status and any(c.type == "Ready" and c.status == "True"
                                         for c in g.status.conditions or []))

        await _until(graph_ready, within=60)
        await anyio.sleep(1.0)
        ig_rec = igc.InferenceGraphReconciler(mgr, source)
        mgr.rest_mapper.refresh_interval = 0.0
        before = _requests()
        await ig_rec.reconcile(Request(ns, "graph"))
        figures["inferencegraph_noop_reconcile_requests"] = _requests() - before
        mgr.rest_mapper.refresh_interval = saved_refresh

        # delete them all: removed from models.json, finalizers released
        t0, cm0 = time.perf_counter(), cm_writes

        async def delete(i: int) -> None:
            await client.delete(TrainedModel, f"model-{i:03d}", ns)

        async with anyio.create_task_group() as dg:
            for i in range(MODELS):
                dg.start_soon(delete, i)

        async def emptied() -> bool:
            counts = [await models_in(i) for i in range(ISVCS)]
            left = await client.list(TrainedModel, ns)
            return counts == [0] * ISVCS and not left

        await _until(emptied, within=600)
        figures["trainedmodel_delete_200_s"] = round(time.perf_counter() - t0, 2)
        await anyio.sleep(0.5)
        figures["trainedmodel_delete_configmap_writes"] = cm_writes - cm0
        mgr.stop()
        tg.cancel_scope.cancel()
    with anyio.CancelScope(shield=True):
        await kube.delete(Namespace, ns)
        await kube.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    del argv
    with _cluster() as kubeconfig:
        figures = anyio.run(_run, kubeconfig)
    print_table(figures, f"trainedmodel: {MODELS} TrainedModels on {ISVCS} multi-model "
                         "predictors (envtest)")
    for name in ("trainedmodel_noop_reconcile_requests",
                 "inferencegraph_noop_reconcile_requests"):
        if figures[name] != 0:
            raise AssertionError(f"{name} = {figures[name]}: a no-op reconcile made requests")
    record(figures)


if __name__ == "__main__":
    main(sys.argv[1:])
