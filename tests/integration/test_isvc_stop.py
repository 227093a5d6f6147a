"""Upstream's stop vectors (``rawkube_controller_test.go`` "serving.kserve.io/stop", 16 Its):
V4 the annotation at create (``false``: everything created and Ready; ``true``: nothing
created), V5 set to ``true`` later (every owned object deleted), V6 set back to ``false``
(everything recreated), for a predictor, a predictor + transformer and a predictor +
explainer with Gateway API routes, and a predictor with KEDA, an OpenTelemetryCollector and
a Kubernetes Ingress (gateway API off). Each step checks the whole status.

Upstream's stopped status (``components/predictor.go``): the status cleared except
``deploymentMode``, PredictorReady (hence Ready) False ``Stopped``, the other components and
IngressReady False ``Stopped``, Stopped True. Deliberate differences: upstream leaves
IngressReady out when stopping at creation with a Kubernetes Ingress (its reconciler returns
before setting it when no Ingress exists yet), ours is IngressReady False ``Stopped`` in every
case; upstream's status flaps once (its predictor clears it, the next reconcile sets
``servingRuntimeName`` again), ours writes that steady state at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import HTTPRoute, OpenTelemetryCollector, ScaledObject
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    accept_routes,
    defaulted,
    deployment_available,
    eventually_status,
    get,
    install_crds,
    isvc_manager,
    tf_serving_runtime,
    uninstall_crds,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CRDS = ["httproutes.gateway.networking.k8s.io", "scaledobjects.keda.sh",
        "opentelemetrycollectors.opentelemetry.io"]
VARIANTS = ["predictor", "transformer", "explainer", "ingress-keda-otel"]
STOP = "serving.kserve.io/stop"


@pytest.fixture(scope="module")
def third_party(envtest: Any) -> Iterator[None]:
    installed = install_crds(envtest, *CRDS)
    yield
    uninstall_crds(envtest, [n for n in installed if "gateway" not in n])


def case(variant: str, name: str, ns: str, stop: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Upstream's ``defaultIsvc`` / ``defaultTransformerIsvc`` / ``defaultExplainerIsvc`` and
    the Context's config."""
    keda = variant == "ingress-keda-otel"
    annotations = x.isvc_annotations("keda" if keda else "hpa", **{STOP: stop})
    predictor: dict[str, Any] = {
        "minReplicas": 1, "maxReplicas": 3, "timeout": 30,
        "autoScaling": {"metrics": [{"type": "Resource", "resource": {
            "name": "memory", "target": {"type": "AverageValue", "averageValue": "10Gi"}}}]},
        "tensorflow": {"storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                       "name": "kserve-container", "resources": DEFAULT_RESOURCES}}
    spec: dict[str, Any] = {"predictor": predictor}
    config = upstream_config()
    if keda:
        annotations["sidecar.opentelemetry.io/inject"] = "true"
        predictor["autoScaling"] = {"metrics": [{"type": "PodMetric", "podmetric": {
            "metric": {"backend": "opentelemetry",
                       "metricNames": ["process_cpu_seconds_total"],
                       "query": "avg(process_cpu_seconds_total)"},
            "target": {"type": "Value"}}}]}
        config = upstream_config(ingress={"enableGatewayApi": False}, opentelemetryCollector={
            "scrapeInterval": "5s", "metricReceiverEndpoint": "keda-otel-scaler.keda.svc:4317",
            "metricScalerEndpoint": "keda-otel-scaler.keda.svc:4318"})
    elif variant == "transformer":
        spec["transformer"] = {"minReplicas": 1, "maxReplicas": 1, "scaleTarget": 80,
                               "timeout": 30,
                               "containers": [{"image": "transformer:v1", "args": ["--port=8080"],
                                               "resources": DEFAULT_RESOURCES}]}
    elif variant == "explainer":
        spec["explainer"] = {"minReplicas": 1, "maxReplicas": 2, "scaleTarget": 80, "timeout": 30,
                             "art": {"type": "SquareAttack", "config": {"nb_classes": "10"},
                                     "name": "kserve-container", "resources": DEFAULT_RESOURCES,
                                     "runtimeVersion": "latest"}}
    isvc = {"metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": spec}
    return isvc, config


def owned_objects(variant: str, name: str) -> list[tuple[Any, str]]:
    """What the InferenceService owns while running."""
    pred = f"{name}-predictor"
    if variant == "ingress-keda-otel":
        return [(OpenTelemetryCollector, pred), (Deployment, pred), (Service, pred),
                (Ingress, name), (ScaledObject, pred)]
    out = [(Deployment, pred), (Service, pred), (HorizontalPodAutoscaler, pred),
           (HTTPRoute, name), (HTTPRoute, pred)]
    if variant != "predictor":
        comp = f"{name}-{variant}"
        out += [(Deployment, comp), (Service, comp), (HorizontalPodAutoscaler, comp),
                (HTTPRoute, comp)]
    return out


def ready(variant: str, name: str, ns: str, generation: int) -> dict[str, Any]:
    pred = f"{name}-predictor"
    conds = [{"type": "IngressReady", "status": "True"},
             {"type": "PredictorReady", "status": "True"},
             {"type": "Ready", "status": "True"},
             {"type": "Stopped", "status": "False", "severity": "Info"}]
    components: dict[str, Any] = {"predictor": {"url": f"http://{pred}-{ns}.example.com"}}
    more: dict[str, Any] = {}
    if variant in ("transformer", "explainer"):
        comp = f"{name}-{variant}"
        cond = "TransformerReady" if variant == "transformer" else "ExplainerReady"
        conds.append({"type": cond, "status": "True", "severity": "Info"})
        conds.sort(key=lambda c: c["type"])
        components[variant] = {"url": f"http://{comp}-{ns}.example.com"}
        if variant == "transformer":
            more["address"] = {"url": f"http://{comp}.{ns}.svc.cluster.local"}
    return x.ready_status(name, ns, generation=generation, conditions=conds,
                          components=components, **more)


def stopped(variant: str) -> dict[str, Any]:
    conds = [{"type": "IngressReady", "status": "False", "reason": "Stopped"},
             {"type": "PredictorReady", "status": "False", "reason": "Stopped"},
             {"type": "Ready", "status": "False", "reason": "Stopped"},
             {"type": "Stopped", "status": "True", "severity": "Info"}]
    if variant in ("transformer", "explainer"):
        cond = "TransformerReady" if variant == "transformer" else "ExplainerReady"
        conds.append({"type": cond, "status": "False", "reason": "Stopped", "severity": "Info"})
        conds.sort(key=lambda c: c["type"])
    return {"conditions": conds, "modelStatus": {"transitionStatus": ""},
            "deploymentMode": "Standard", "servingRuntimeName": "tf-serving-raw"}


async def make_ready(kube: AsyncClient, variant: str, name: str, ns: str) -> None:
    pred = f"{name}-predictor"
    await deployment_available(kube, pred, ns)
    if variant in ("transformer", "explainer"):
        await deployment_available(kube, f"{name}-{variant}", ns)
    if variant != "ingress-keda-otel":
        routes = [pred, name] + ([f"{name}-{variant}"] if variant != "predictor" else [])
        await accept_routes(kube, ns, *routes)


async def all_exist(kube: AsyncClient, objects: list[tuple[Any, str]], ns: str) -> bool:
    return all([await get(kube, kind, n, ns) is not None for kind, n in objects])


async def none_exist(kube: AsyncClient, objects: list[tuple[Any, str]], ns: str) -> bool:
    return all([await get(kube, kind, n, ns) is None for kind, n in objects])


async def set_stop(kube: AsyncClient, name: str, ns: str, value: str) -> None:
    await kube.patch(ISVC, name, {"metadata": {"annotations": {STOP: value}}}, namespace=ns,
                     patch_type=PatchType.MERGE)


@pytest.mark.parametrize("variant", VARIANTS)
async def test_v4_v5_running_then_stopped(envtest: Any, kube_client: AsyncClient,
                                          namespace: str, third_party: None,
                                          variant: str) -> None:
    """V4 ``stop: "false"`` at create keeps everything and becomes Ready; V5 ``"true"`` on
    the existing InferenceService deletes every owned object and marks it stopped."""
    ns, name = namespace, f"stop-edit-true-{variant}"
    isvc, config = case(variant, name, ns, "false")
    objects = owned_objects(variant, name)
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(isvc))
        await make_ready(kube_client, variant, name, ns)
        await eventually(lambda: all_exist(kube_client, objects, ns))
        await eventually_status(kube_client, name, ns, ready(variant, name, ns, 1))

        await set_stop(kube_client, name, ns, "true")
        await eventually(lambda: none_exist(kube_client, objects, ns))
        await eventually_status(kube_client, name, ns, stopped(variant))


@pytest.mark.parametrize("variant", VARIANTS)
async def test_v4_v6_stopped_then_resumed(envtest: Any, kube_client: AsyncClient,
                                          namespace: str, third_party: None,
                                          variant: str) -> None:
    """V4 ``stop: "true"`` at create: nothing is created (checked for 3 s, upstream's
    ``fastTimeout``), the status says stopped; V6 ``"false"`` recreates everything and the
    InferenceService becomes Ready."""
    ns, name = namespace, f"stop-edit-false-{variant}"
    isvc, config = case(variant, name, ns, "true")
    objects = owned_objects(variant, name)
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(isvc))
        await eventually_status(kube_client, name, ns, stopped(variant))
        with anyio.move_on_after(3):
            while True:
                assert await none_exist(kube_client, objects, ns)
                await anyio.sleep(0.25)

        await set_stop(kube_client, name, ns, "false")
        await make_ready(kube_client, variant, name, ns)
        await eventually(lambda: all_exist(kube_client, objects, ns))
        # annotations are not part of the generation: still 1
        await eventually_status(kube_client, name, ns, ready(variant, name, ns, 1))
