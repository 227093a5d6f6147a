"""The cluster tier (kube-controller-manager, scheduler, kwok): the InferenceGraph and
TrainedModel controllers running in-process against a cluster where Deployments get Ready
pods and namespaces are really deleted.

- A Sequence graph over two InferenceServices is not Ready while they are not, and becomes
  Ready after they do: the router's pods run (kwok) and its Deployment turns Available.
- Three TrainedModels on one multi-model predictor (2Gi limit): the two that fit appear in
  ``models.json`` (sorted), the one over the limit is refused with its condition and a
  Warning event; deleting one removes it from ``models.json``.
- Deleting the namespace completes: the TrainedModels' finalizers do not wedge it; no
  reconcile of either controller fails along the way.

The InferenceService controller is written in parallel and is not run here: the test writes
the InferenceServices' status (address, Ready) and the ``modelconfig-<isvc>-0`` ConfigMap
that controller would create, by hand.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Event, Namespace, Pod

from apis.serving.v1alpha1.inference_graph import InferenceGraph
from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferencegraph import controller as igc
from controllers.trainedmodel import controller as tmc
from runtime import metrics
from runtime.manager import Manager
from runtime.testing.eventually import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

CONFIG = {
    "router": json.dumps({"image": "kserve/router:v0.16.0", "memoryRequest": "100Mi",
                          "memoryLimit": "500Mi", "cpuRequest": "100m", "cpuLimit": "100m"}),
    "deploy": json.dumps({"defaultDeploymentMode": "Standard"}),
}
RESOURCES = {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}


def errors() -> float:
    return sum(metrics.REGISTRY.get_sample_value(
        "controller_runtime_reconcile_errors_total", {"controller": c}) or 0.0
        for c in ("inferencegraph", "trainedmodel"))


def cond(obj: Any, ctype: str) -> Any:
    st = obj.status if obj is not None else None
    return next((c for c in (st.conditions if st else None) or [] if c.type == ctype), None)


async def test_graph_and_trained_models_on_a_cluster(cluster_env: Any,
                                                     cluster_client: AsyncClient) -> None:
    kube = cluster_client
    errors_before = errors()
    ns = f"igtm-{uuid.uuid4().hex[:8]}"
    await kube.create(Namespace(metadata=ObjectMeta(name=ns)))
    await kube.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns),
                                data=CONFIG))
    mgr = Manager(str(cluster_env.kubeconfig_path), metrics_bind_address="0",
                  health_probe_bind_address="0")
    source = ConfigSource(mgr.client, ns)
    igc.setup(mgr, source)
    tmc.setup(mgr, source)
    client = mgr.client
    reader = client.api_reader

    async def get(kind: Any, name: str) -> Any:
        try:
            return await reader.get(kind, name, ns)
        except Exception:
            return None

    async def models_json() -> str | None:
        cm = await get(ConfigMap, "modelconfig-isvc-b-0")
        return (cm.data or {}).get("models.json") if cm is not None else None

    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set() and all(
            inf.has_synced() for inf in mgr.cache.informers()), within=60)

        # --- two InferenceServices, not ready yet; a Sequence graph over them ---------------
        await client.create(InferenceService.model_validate({
            "metadata": {"name": "isvc-a", "namespace": ns},
            "spec": {"predictor": {"sklearn": {"storageUri": "gs://kfserving/sklearn/iris",
                                               "resources": RESOURCES}}}}))
        await client.create(InferenceService.model_validate({  # multi-model: no storageUri
            "metadata": {"name": "isvc-b", "namespace": ns},
            "spec": {"predictor": {"tensorflow": {"name": "kserve-container",
                                                  "resources": RESOURCES}}}}))
        await client.create(InferenceGraph.model_validate({
            "metadata": {"name": "pipeline", "namespace": ns},
            "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
                {"name": "first", "serviceName": "isvc-a"},
                {"name": "second", "serviceName": "isvc-b", "data": "$response"}]}}}}))

        async def graph_ready_reason() -> str | None:
            c = cond(await get(InferenceGraph, "pipeline"), "Ready")
            return None if c is None else (c.reason or c.status)

        await eventually(lambda: _eq(graph_ready_reason(), "InferenceServiceNotReady"))
        assert await get(Deployment, "pipeline") is None

        # what the InferenceService controller would write once their predictors are up
        for name in ("isvc-a", "isvc-b"):
            await client.patch_status(InferenceService, name, {"status": {
                "url": f"http://{name}-{ns}.example.com",
                "address": {"url": f"http://{name}-predictor.{ns}.svc.cluster.local"},
                "conditions": [{"type": "Ready", "status": "True"},
                               {"type": "PredictorReady", "status": "True"},
                               {"type": "IngressReady", "status": "True"}]}}, namespace=ns)

        # the router runs (kwok plays the kubelet), its Deployment turns Available, the graph
        # is Ready; nobody touched the Deployment's status
        graph = await eventually(lambda: _ready(get(InferenceGraph, "pipeline")), within=90)
        assert graph.status.url == f"http://pipeline-{ns}.example.com"
        assert graph.status.deployment_mode == "Standard"
        pods = [p async for p in kube.list(Pod, namespace=ns,
                                           labels={"app": "isvc.pipeline"})]
        assert pods and all(p.status.phase == "Running" for p in pods)
        args = json.loads(pods[0].spec.containers[0].args[1])
        assert [s["serviceUrl"] for s in args["nodes"]["root"]["steps"]] == [
            f"http://isvc-a-predictor.{ns}.svc.cluster.local/v1/models/isvc-a:predict",
            f"http://isvc-b-predictor.{ns}.svc.cluster.local",  # multi-model: no path
        ]

        # --- three TrainedModels on the multi-model predictor -----------------------------
        await kube.create(ConfigMap(metadata=ObjectMeta(name="modelconfig-isvc-b-0",
                                                        namespace=ns),
                                    data={"models.json": "[]"}))
        for name, memory in (("model-small", "500Mi"), ("model-mid", "700Mi"),
                             ("model-huge", "3Gi")):
            await client.create(TrainedModel.model_validate({
                "metadata": {"name": name, "namespace": ns},
                "spec": {"inferenceService": "isvc-b", "model": {
                    "storageUri": f"gs://models/{name}", "framework": "tensorflow",
                    "memory": memory}}}))

        def entry(name: str, memory: str) -> dict[str, Any]:
            return {"modelName": name, "modelSpec": {"storageUri": f"gs://models/{name}",
                                                     "framework": "tensorflow",
                                                     "memory": memory}}

        both = json.dumps([entry("model-mid", "700Mi"), entry("model-small", "500Mi")],
                          separators=(",", ":"))
        await eventually(lambda: _eq(models_json(), both), within=60)
        huge = await eventually(lambda: _refused(get(TrainedModel, "model-huge")))
        assert cond(huge, "MemoryResourceAvailable").reason == "MemoryResourceNotAvailable"
        assert cond(huge, "Ready").status == "False"

        async def refusal_events() -> list[Event]:  # the recorder sends after the status
            return [e async for e in kube.list(Event, namespace=ns)
                    if e.reason == "MemoryResourceNotAvailable"
                    and e.involvedObject.name == "model-huge"]

        assert await eventually(refusal_events)
        small = await get(TrainedModel, "model-small")
        assert cond(small, "Ready").status == "True"
        assert small.status.url == (f"http://isvc-b-{ns}.example.com"
                                    "/v1/models/model-small:predict")

        # deleting one removes it from models.json
        await client.delete(TrainedModel, "model-small", ns)
        only_mid = json.dumps([entry("model-mid", "700Mi")], separators=(",", ":"))
        await eventually(lambda: _eq(models_json(), only_mid), within=60)
        await eventually(lambda: _eq(get(TrainedModel, "model-small"), None))

        # --- deleting the namespace completes (finalizers included) -----------------------
        await kube.delete(Namespace, ns)

        async def gone() -> bool:
            try:
                await kube.get(Namespace, ns)
            except Exception:
                return True
            return False

        await eventually(gone, within=120, interval=0.5)
        mgr.stop()
    # nothing along the way was an error (waiting, refusing, namespace deletion)
    assert errors() == errors_before


async def _eq(aw: Any, want: Any) -> bool:
    return bool(await aw == want)


async def _ready(aw: Any) -> Any:
    obj = await aw
    c = cond(obj, "Ready")
    return obj if c is not None and c.status == "True" else None


async def _refused(aw: Any) -> Any:
    obj = await aw
    c = cond(obj, "MemoryResourceAvailable")
    return obj if c is not None and c.status == "False" else None
