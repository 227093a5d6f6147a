"""Upstream's V25 Standard-mode canaries (``canary_controller_test.go``, 7 Its): one
Deployment/Service (and HPA) per ``spec.canary[]`` entry, replicas split by traffic (the
stable minReplicas reduced only by canaries that are Ready), traffic bump, promotion without
a rollout of the promoted pods, removal, two canaries, the canary HPA owned by the
InferenceService, stop deleting both. Whole Deployments, Services, HPA, the weighted
HTTPRoute backends and the status (``canaryStatuses``, CanaryPredictorReady) compared."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import HTTPRoute
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    ISVC,
    accept_routes,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    get,
    isvc_manager,
    make_available,
    stored,
    tf_serving_runtime,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

V1, V2, V3 = "s3://test/model-v1", "s3://test/model-v2", "s3://test/model-v3"


def model(uri: str) -> dict[str, Any]:
    return {"modelFormat": {"name": "tensorflow"}, "storageUri": uri, "runtimeVersion": "0.14.0"}


def canary(name: str, traffic: int, uri: str) -> dict[str, Any]:
    """``makeCanary``."""
    return {"trafficPercent": traffic, "predictor": {"name": name, "model": model(uri)}}


def canary_isvc(name: str, ns: str, canaries: list[dict[str, Any]],
                autoscaler: str = "none") -> Any:
    """``makeCanaryISVC``: stable model v1, minReplicas 4, defaulted."""
    return defaulted({"metadata": {"name": name, "namespace": ns,
                                   "annotations": x.isvc_annotations(autoscaler)},
                      "spec": {"predictor": {"minReplicas": 4, "model": model(V1)},
                               "canary": canaries}})


def deployment(isvc: str, ns: str, uri: str, replicas: int, name: str | None = None,
               autoscaler: str = "none") -> dict[str, Any]:
    return x.tf_predictor_deployment(isvc, ns, autoscaler=autoscaler, storage_uri=uri,
                                     image_tag="0.14.0", name=name, replicas=replicas)


def service(isvc: str, ns: str, name: str, uri: str) -> dict[str, Any]:
    return x.service(name, ns, isvc, "predictor", x.predictor_annotations("none", uri))


async def mark_available(kube: AsyncClient, name: str, ns: str) -> None:
    """``markCanaryAvailable``: all of the Deployment's replicas available."""
    dep = await eventually(lambda: get(kube, Deployment, name, ns))
    await make_available(kube, name, ns, replicas=dep.spec.replicas or 1)


def status(isvc: str, ns: str, canaries: list[dict[str, Any]], ready: bool,
           runtime: str) -> dict[str, Any]:
    conds = [{"type": "CanaryPredictorReady", "status": "True" if ready else "False",
              "reason": "AllCanariesReady" if ready else "CanariesNotReady", "severity": "Info"},
             {"type": "IngressReady", "status": "True"},
             {"type": "PredictorReady", "status": "True"},
             {"type": "Ready", "status": "True"},
             {"type": "Stopped", "status": "False", "severity": "Info"}]
    return x.ready_status(isvc, ns, runtime=runtime, conditions=conds, canaryStatuses=[
        {"name": c["predictor"]["name"], "ready": ready, "trafficPercent": c["trafficPercent"]}
        for c in canaries])


def routes(isvc: str, ns: str, backends: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """Top-level and predictor routes: weighted backends (stable 100 - sum of the Ready
    canaries' traffic)."""
    refs = [x.backend(svc, ns, weight=w) for svc, w in backends]
    rules = [x.rule(x.FALLBACK, refs, isvc, ns)]
    pred = f"{isvc}-predictor"
    annotations = x.isvc_annotations("none")
    return {
        isvc: x.httproute(isvc, ns, isvc, [f"{isvc}-{ns}.example.com",
                                          f"{isvc}-{ns}.additional.example.com"], rules,
                          meta_annotations=annotations),
        pred: x.httproute(pred, ns, isvc, [f"{pred}-{ns}.example.com"], rules,
                          meta_annotations=annotations),
    }


async def ready(kube: AsyncClient, isvc: str, ns: str) -> None:
    await deployment_available(kube, f"{isvc}-predictor", ns)
    await accept_routes(kube, ns, isvc, f"{isvc}-predictor")


async def patch(kube: AsyncClient, name: str, ns: str, body: dict[str, Any]) -> None:
    await kube.patch(ISVC, name, body, namespace=ns, patch_type=PatchType.MERGE)


async def test_v25_create_splits_replicas(envtest: Any, kube_client: AsyncClient,
                                          namespace: str, gateway_api: None) -> None:
    """"Should create separate Deployments for stable and canary": the canary gets
    ceil(4 x 25%) = 1 replica and model v2; once it is Ready the stable goes from 4 to 3 and
    the routes send it 25% of the traffic."""
    ns, name = namespace, "canary-create-test"
    rt = "tf-canary-create"
    canaries = [canary("v2", 25, V2)]
    stable, can = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(rt, ns)))
        await run.client.create(canary_isvc(name, ns, canaries))
        await eventually_stored(kube_client, Deployment, can, ns,
                                deployment(name, ns, V2, 1, name=can))
        await eventually_stored(kube_client, Service, can, ns, service(name, ns, can, V2))
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 4))
        await ready(kube_client, name, ns)
        await eventually_status(kube_client, name, ns, status(name, ns, canaries, False, rt))

        await mark_available(kube_client, can, ns)
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 3))
        await eventually_status(kube_client, name, ns, status(name, ns, canaries, True, rt))
        for route, want in routes(name, ns, [(stable, 75), (can, 25)]).items():
            await eventually_stored(kube_client, HTTPRoute, route, ns, want)
        assert await get(kube_client, HorizontalPodAutoscaler, can, ns) is None


async def test_v25_bump_traffic(envtest: Any, kube_client: AsyncClient, namespace: str,
                                gateway_api: None) -> None:
    """"Should adjust replica counts": 50% -> canary 2, stable 2."""
    ns, name = namespace, "canary-traffic-test"
    stable, can = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(
            "tf-canary-traffic", ns)))
        await run.client.create(canary_isvc(name, ns, [canary("v2", 25, V2)]))
        await mark_available(kube_client, can, ns)
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 3))
        await patch(kube_client, name, ns, {"spec": {"canary": [canary("v2", 50, V2)]}})
        await eventually_stored(kube_client, Deployment, can, ns,
                                deployment(name, ns, V2, 2, name=can))
        await mark_available(kube_client, can, ns)
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 2))


async def test_v25_promote_without_rollout(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None) -> None:
    """"Should not trigger a redeployment of the canary pods": the stable predictor takes
    the canary's name and model and the canary goes; the promoted Deployment keeps its pod
    template (no rollout), the old stable Deployment and Service are deleted."""
    ns, name = namespace, "canary-promote-test"
    stable, can = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(
            "tf-canary-promote", ns)))
        await run.client.create(canary_isvc(name, ns, [canary("v2", 25, V2)]))
        await eventually_stored(kube_client, Deployment, can, ns,
                                deployment(name, ns, V2, 1, name=can))
        before = await stored(kube_client, Deployment, can, ns)
        await patch(kube_client, name, ns, {"spec": {
            "predictor": {"name": "v2", "model": {"storageUri": V2}}, "canary": None}})
        await eventually(lambda: _gone(kube_client, Deployment, stable, ns))
        await eventually(lambda: _gone(kube_client, Service, stable, ns))
        # now the stable predictor: all 4 replicas, the same pod template
        await eventually_stored(kube_client, Deployment, can, ns,
                                deployment(name, ns, V2, 4, name=can))
        with anyio.move_on_after(3):  # upstream's Consistently(fastTimeout)
            while True:
                now = await stored(kube_client, Deployment, can, ns)
                assert now["spec"]["template"] == before["spec"]["template"]
                await anyio.sleep(0.25)


async def _gone(kube: AsyncClient, kind: Any, name: str, ns: str) -> bool:
    return await get(kube, kind, name, ns) is None


async def test_v25_remove_canary(envtest: Any, kube_client: AsyncClient, namespace: str,
                                 gateway_api: None) -> None:
    """"Should delete the canary Deployment and Service and restore stable replicas"; the
    CanaryPredictorReady condition and canaryStatuses go too."""
    ns, name = namespace, "canary-remove-test"
    rt = "tf-canary-remove"
    stable, can = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(rt, ns)))
        await run.client.create(canary_isvc(name, ns, [canary("v2", 25, V2)]))
        await mark_available(kube_client, can, ns)
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 3))
        await patch(kube_client, name, ns, {"spec": {"canary": None}})
        await eventually(lambda: _gone(kube_client, Deployment, can, ns))
        await eventually(lambda: _gone(kube_client, Service, can, ns))
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 4))
        await ready(kube_client, name, ns)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns, runtime=rt,
                                                                      generation=2))


async def test_v25_two_canaries(envtest: Any, kube_client: AsyncClient, namespace: str,
                                gateway_api: None) -> None:
    """"Should create separate Deployments with correct replica split": 2 stable, 1 + 1."""
    ns, name = namespace, "canary-multi-test"
    rt = "tf-canary-multi"
    canaries = [canary("v2", 25, V2), canary("v3", 25, V3)]
    stable, v2, v3 = f"{name}-predictor", f"{name}-v2-predictor", f"{name}-v3-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(rt, ns)))
        await run.client.create(canary_isvc(name, ns, canaries))
        await mark_available(kube_client, v2, ns)
        await mark_available(kube_client, v3, ns)
        await eventually_stored(kube_client, Deployment, stable, ns, deployment(name, ns, V1, 2))
        await eventually_stored(kube_client, Deployment, v2, ns,
                                deployment(name, ns, V2, 1, name=v2))
        await eventually_stored(kube_client, Deployment, v3, ns,
                                deployment(name, ns, V3, 1, name=v3))
        await ready(kube_client, name, ns)
        await eventually_status(kube_client, name, ns, status(name, ns, canaries, True, rt))
        for route, want in routes(name, ns, [(stable, 50), (v2, 25), (v3, 25)]).items():
            await eventually_stored(kube_client, HTTPRoute, route, ns, want)


async def test_v25_canary_hpa_is_owned(envtest: Any, kube_client: AsyncClient, namespace: str,
                                       gateway_api: None) -> None:
    """"Should set an owner reference on the canary HPA": autoscaler class hpa; the canary's
    HPA is 1..1 (canary autoscaling fields cleared, replicas from the traffic share), cpu
    80%, controlled by the InferenceService."""
    ns, name = namespace, "canary-hpa-test"
    can = f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(
            "tf-canary-hpa", ns)))
        await run.client.create(canary_isvc(name, ns, [canary("v2", 25, V2)], autoscaler="hpa"))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, can, ns, x.hpa(
            can, ns, name, "predictor", x.predictor_annotations("hpa", V2),
            [x.cpu_utilization(80)], min_replicas=1, max_replicas=1))


async def test_v25_stop_deletes_stable_and_canary(envtest: Any, kube_client: AsyncClient,
                                                  namespace: str, gateway_api: None) -> None:
    """"Should delete both stable and canary Deployments" on ``serving.kserve.io/stop``;
    the stopped status with CanaryPredictorReady False ``Stopped`` (upstream's steady state:
    its first stopped write lacks the canary status, the next reconcile adds it)."""
    ns, name = namespace, "canary-stop-test"
    stable, can = f"{name}-predictor", f"{name}-v2-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime(
            "tf-canary-stop", ns)))
        await run.client.create(canary_isvc(name, ns, [canary("v2", 25, V2)]))
        await eventually(lambda: get(kube_client, Deployment, stable, ns))
        await eventually(lambda: get(kube_client, Deployment, can, ns))
        await patch(kube_client, name, ns,
                    {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
        for kind in (Deployment, Service):
            for n in (stable, can):
                await eventually(lambda k=kind, n=n: _gone(kube_client, k, n, ns))
        await eventually_status(kube_client, name, ns, {
            "conditions": [
                {"type": "CanaryPredictorReady", "status": "False", "reason": "Stopped",
                 "severity": "Info"},
                {"type": "IngressReady", "status": "False", "reason": "Stopped"},
                {"type": "PredictorReady", "status": "False", "reason": "Stopped"},
                {"type": "Ready", "status": "False", "reason": "Stopped"},
                {"type": "Stopped", "status": "True", "severity": "Info"}],
            "canaryStatuses": [{"name": "v2", "ready": False, "trafficPercent": 25}],
            "modelStatus": {"transitionStatus": ""}, "deploymentMode": "Standard",
            "servingRuntimeName": "tf-canary-stop"})
