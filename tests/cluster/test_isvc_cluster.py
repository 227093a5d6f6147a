"""The InferenceService controller on the cluster tier (kube-controller-manager, scheduler,
kwok nodes): InferenceServices become Ready because their pods do, as on a real cluster.

- sklearn with the shipped ClusterServingRuntime: the Deployment's pods are scheduled on the
  simulated nodes and run (kwok), the Deployment turns Available, the InferenceService is
  Ready with the whole status upstream writes (modelStatus Loaded from the Ready pod);
- a transformer: both Deployments' pods run, the address is the transformer's;
- a canary: the canary's pods run, the stable Deployment shrinks by the canary's replicas;
- deleting each InferenceService leaves no object it owned (the garbage collector removes
  Deployments, ReplicaSets, pods, Services, HPAs, the Ingress).

The manager runs in-process with the controller (no webhooks: the pods carry no storage
initializer, which kwok would not run anyway).
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Pod, Service
from lightkube.resources.networking_v1 import Ingress
from lightkube.types import CascadeType

from apis.serving.v1alpha1 import ClusterServingRuntime
from apis.serving.v1beta1.inference_service import InferenceService
from runtime.testing.eventually import eventually
from tests.integration.isvc_env import (
    ISVC,
    diff,
    isvc_manager,
    isvc_status,
    runtime,
    shipped_config,
)

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

READY_WITHIN = 90
SKLEARN_URI = "gs://kfserving-examples/models/sklearn/1.0/model"


async def ensure_sklearn_runtime(client: Any) -> None:
    """The shipped ``kserve-sklearnserver`` ClusterServingRuntime (cluster-scoped, shared by
    the session's tests)."""
    try:
        await client.api_reader.get(ClusterServingRuntime, "kserve-sklearnserver")
    except Exception:
        await client.create(ClusterServingRuntime.model_validate(runtime("sklearnserver")))


def sklearn(name: str, ns: str, **spec: Any) -> InferenceService:
    predictor = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": SKLEARN_URI}}
    return InferenceService.model_validate({
        "metadata": {"name": name, "namespace": ns},
        "spec": {"predictor": {**predictor, **spec.pop("predictor", {})}, **spec}})


async def ready_status(kube: AsyncClient, name: str, ns: str) -> dict[str, Any] | None:
    st = await isvc_status(kube, name, ns)
    conds = {c["type"]: c["status"] for c in (st or {}).get("conditions") or ()}
    return st if conds.get("Ready") == "True" else None


async def owned_leftovers(kube: AsyncClient, name: str, uid: str, ns: str) -> list[str]:
    """Objects still controlled by the InferenceService, and its pods."""
    left = []
    for kind in (Deployment, Service, HorizontalPodAutoscaler, Ingress):
        async for obj in kube.list(kind, namespace=ns):
            if any(r.uid == uid for r in obj.metadata.ownerReferences or ()):
                left.append(f"{kind.__name__}/{obj.metadata.name}")
    async for rs in kube.list(ReplicaSet, namespace=ns,
                              labels={"serving.kserve.io/inferenceservice": name}):
        left.append(f"ReplicaSet/{rs.metadata.name}")
    async for pod in kube.list(Pod, namespace=ns,
                               labels={"serving.kserve.io/inferenceservice": name}):
        left.append(f"Pod/{pod.metadata.name}")
    return left


async def delete_and_collect(kube: AsyncClient, name: str, ns: str) -> None:
    uid = (await kube.get(ISVC, name, namespace=ns)).metadata.uid
    assert await owned_leftovers(kube, name, uid, ns)
    await kube.delete(ISVC, name, namespace=ns, cascade=CascadeType.BACKGROUND)

    async def collected() -> bool:
        return not await owned_leftovers(kube, name, uid, ns)

    await eventually(collected, within=READY_WITHIN)


async def running_pods(kube: AsyncClient, ns: str, app: str) -> list[Any]:
    return [p async for p in kube.list(Pod, namespace=ns, labels={"app": app})
            if p.status is not None and p.status.phase == "Running" and p.spec.nodeName]


async def test_sklearn_ready_because_its_pods_are(cluster_env: Any, cluster_client: AsyncClient,
                                                  cluster_namespace: str) -> None:
    kube, ns, name = cluster_client, cluster_namespace, "sklearn-iris"
    pred = f"{name}-predictor"
    async with isvc_manager(cluster_env, kube, ns, shipped_config()) as run:
        await ensure_sklearn_runtime(run.client)
        await run.client.create(sklearn(name, ns))
        await eventually(lambda: ready_status(kube, name, ns), within=READY_WITHIN)
        pods = await running_pods(kube, ns, f"isvc.{pred}")
        assert len(pods) == 1 and pods[0].spec.nodeName.startswith("kwok-")
        dep = await kube.get(Deployment, pred, namespace=ns)
        assert dep.status.availableReplicas == 1
        rs = [r.metadata.name async for r in kube.list(
            ReplicaSet, namespace=ns, labels={"app": f"isvc.{pred}"})]
        assert len(rs) == 1
        want = {
            "observedGeneration": 1,
            # the Deployment controller's Progressing condition, as upstream copies it
            "conditions": [{"type": "IngressReady", "status": "True"},
                           {"type": "PredictorReady", "status": "True",
                            "reason": "NewReplicaSetAvailable",
                            "message": f'ReplicaSet "{rs[0]}" has successfully progressed.'},
                           {"type": "Ready", "status": "True"},
                           {"type": "Stopped", "status": "False", "severity": "Info"}],
            "url": f"http://{name}-{ns}.example.com",
            "address": {"url": f"http://{pred}.{ns}.svc.cluster.local"},
            "components": {"predictor": {"url": f"http://{pred}-{ns}.example.com"}},
            # the Ready pod: Loaded, one copy
            "modelStatus": {"transitionStatus": "UpToDate",
                            "states": {"activeModelState": "Loaded",
                                       "targetModelState": "Loaded"},
                            "copies": {"failedCopies": 0, "totalCopies": 1}},
            "deploymentMode": "Standard",
            "clusterServingRuntimeName": "kserve-sklearnserver"}

        async def as_wanted() -> bool:
            # Ready follows the Deployment's watch, the copies the pod's: either may come first
            st = await isvc_status(kube, name, ns)
            assert st == want, diff(st, want)
            return True

        await eventually(as_wanted, within=15)
        ing = await kube.get(Ingress, name, namespace=ns)
        assert [r.host for r in ing.spec.rules] == [f"{name}-{ns}.example.com",
                                                    f"{pred}-{ns}.example.com"]
        await delete_and_collect(kube, name, ns)


async def test_transformer_ready_because_both_components_are(
        cluster_env: Any, cluster_client: AsyncClient, cluster_namespace: str) -> None:
    kube, ns, name = cluster_client, cluster_namespace, "sklearn-trans"
    pred, trans = f"{name}-predictor", f"{name}-transformer"
    async with isvc_manager(cluster_env, kube, ns, shipped_config()) as run:
        await ensure_sklearn_runtime(run.client)
        await run.client.create(sklearn(name, ns, transformer={"containers": [{
            "name": "kserve-container", "image": "kserve/image-transformer:latest",
            "args": ["--model_name", name],
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}}]}))
        st = await eventually(lambda: ready_status(kube, name, ns), within=READY_WITHIN)
        for app in (pred, trans):
            assert len(await running_pods(kube, ns, f"isvc.{app}")) == 1, app
        conds = {c["type"]: c["status"] for c in st["conditions"]}
        assert conds["TransformerReady"] == "True" and conds["PredictorReady"] == "True"
        assert st["address"] == {"url": f"http://{trans}.{ns}.svc.cluster.local"}
        assert st["components"] == {
            "predictor": {"url": f"http://{pred}-{ns}.example.com"},
            "transformer": {"url": f"http://{trans}-{ns}.example.com"}}
        container = (await kube.get(Deployment, trans, namespace=ns)
                     ).spec.template.spec.containers[0]
        assert container.args == ["--model_name", name, "--predictor_host", f"{pred}.{ns}",
                                  "--http_port", "8080"]
        await delete_and_collect(kube, name, ns)


async def test_canary_ready_and_stable_shrinks(cluster_env: Any, cluster_client: AsyncClient,
                                               cluster_namespace: str) -> None:
    kube, ns, name = cluster_client, cluster_namespace, "sklearn-canary"
    stable, canary = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(cluster_env, kube, ns, shipped_config()) as run:
        await ensure_sklearn_runtime(run.client)
        await run.client.create(sklearn(
            name, ns, predictor={"minReplicas": 2, "maxReplicas": 2},
            canary=[{"trafficPercent": 50, "predictor": {"name": "v2", "model": {
                "modelFormat": {"name": "sklearn"},
                "storageUri": "gs://kfserving-examples/models/sklearn/2.0/model"}}}]))

        async def converged() -> dict[str, Any] | None:
            st = await ready_status(kube, name, ns)
            if st is None or st.get("canaryStatuses") != [
                    {"name": "v2", "ready": True, "trafficPercent": 50}]:
                return None
            d = await kube.get(Deployment, stable, namespace=ns)
            return st if d.status is not None and d.status.availableReplicas == 1 else None

        st = await eventually(converged, within=READY_WITHIN)
        conds = {c["type"]: (c["status"], c.get("reason")) for c in st["conditions"]}
        assert conds["CanaryPredictorReady"] == ("True", "AllCanariesReady")
        assert len(await running_pods(kube, ns, f"isvc.{canary}")) == 1
        # 2 replicas in all: 1 canary (50 %), the stable reduced from 2 to 1
        assert (await kube.get(Deployment, stable, namespace=ns)).spec.replicas == 1
        assert (await kube.get(Deployment, canary, namespace=ns)).spec.replicas == 1
        await delete_and_collect(kube, name, ns)
