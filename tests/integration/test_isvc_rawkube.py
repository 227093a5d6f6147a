"""Upstream's Standard-mode conformance vectors on a real kube-apiserver
(``rawkube_controller_test.go``), Gateway API routing (``getRawKubeTestConfigs``): every
object compared whole with upstream's expectation (server-set fields dropped), and the
InferenceService's whole status.

Deliberate differences asserted here (docs/compatibility.md): ``status.observedGeneration``
is the InferenceService's generation; the HPA is stored with the server's default
``behavior`` either way (upstream sends ``{}``, we send the defaults so a no-op costs no
write).
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.types import PatchType

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import HTTPRoute

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    accept_routes,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    get,
    isvc_manager,
    tf_serving_runtime,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def tf_isvc(name: str, namespace: str, *, autoscaler: str = "hpa",
            **predictor: Any) -> dict[str, Any]:
    """An InferenceService of upstream's tests: tensorflow, ``getCommonPredictorExtensionSpec``."""
    return {"metadata": {"name": name, "namespace": namespace,
                         "annotations": x.isvc_annotations(autoscaler)},
            "spec": {"predictor": {**predictor, "tensorflow": {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}


def predictor_routes(isvc: str, ns: str, *, timeout: str = "60s") -> tuple[dict[str, Any], ...]:
    """Top-level and predictor HTTPRoutes of a predictor-only InferenceService."""
    svc = f"{isvc}-predictor"
    top = x.httproute(isvc, ns, isvc, [f"{isvc}-{ns}.example.com",
                                       f"{isvc}-{ns}.additional.example.com"],
                      [x.rule(x.FALLBACK, [x.backend(svc, ns)], isvc, ns, timeout=timeout)])
    pred = x.httproute(svc, ns, isvc, [f"{svc}-{ns}.example.com"],
                       [x.rule(x.FALLBACK, [x.backend(svc, ns)], isvc, ns, timeout=timeout)])
    return top, pred


async def test_v1_raw_predictor_httproutes_service_deployment_hpa(
        envtest: Any, kube_client: AsyncClient, namespace: str, gateway_api: None) -> None:
    """V1 "Should have httproute/service/deployment/httproute created"."""
    ns, name = namespace, "raw-foo"
    config = upstream_config()
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(
            name, ns, minReplicas=1, maxReplicas=3, timeout=30,
            autoScaling={"metrics": [{"type": "Resource", "resource": {
                "name": "memory", "target": {"type": "AverageValue",
                                             "averageValue": "10Gi"}}}]})))
        pred = f"{name}-predictor"
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns))
        await eventually_stored(kube_client, Service, pred, ns,
                                x.service(pred, ns, name, "predictor", x.predictor_annotations()))
        await deployment_available(kube_client, pred, ns)
        top, route = predictor_routes(name, ns, timeout="30s")
        await eventually_stored(kube_client, HTTPRoute, name, ns, top)
        await eventually_stored(kube_client, HTTPRoute, pred, ns, route)
        await accept_routes(kube_client, ns, pred, name)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [
                {"type": "Resource", "resource": {"name": "memory", "target": {
                    "type": "AverageValue", "averageValue": "10Gi"}}}],
            min_replicas=1, max_replicas=3))


async def patch_isvc(kube: AsyncClient, name: str, namespace: str, body: dict[str, Any]) -> None:
    await kube.patch(ISVC, name, body, namespace=namespace, patch_type=PatchType.MERGE)


CPU_75 = {"metrics": [x.cpu_utilization(75)]}


async def test_v2_deployment_strategy(envtest: Any, kube_client: AsyncClient, namespace: str,
                                      gateway_api: None) -> None:
    """V2 "Should have httproute/service/deployment/hpa created with DeploymentStrategy": the
    strategy is taken verbatim, no timeout -> 60s routes."""
    ns, name = namespace, "raw-foo-customized"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(
            name, ns, minReplicas=1, maxReplicas=3, deploymentStrategy={"type": "Recreate"},
            autoScaling=CPU_75)))
        await eventually_stored(kube_client, Deployment, pred, ns, x.tf_predictor_deployment(
            name, ns, strategy={"type": "Recreate"}))
        await deployment_available(kube_client, pred, ns)
        await eventually_stored(kube_client, Service, pred, ns,
                                x.service(pred, ns, name, "predictor", x.predictor_annotations()))
        top, route = predictor_routes(name, ns)
        await eventually_stored(kube_client, HTTPRoute, name, ns, top)
        await eventually_stored(kube_client, HTTPRoute, pred, ns, route)
        await accept_routes(kube_client, ns, pred, name)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))


async def test_v2_autoscaler_none(envtest: Any, kube_client: AsyncClient, namespace: str,
                                  gateway_api: None) -> None:
    """V2 "Should have httproute/service/deployment created" (autoscaler class none): no
    HPA, ``replicas`` owned by the controller and following ``minReplicas``."""
    ns, name = namespace, "raw-foo-2"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, autoscaler="none")))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns, autoscaler="none"))
        await eventually_stored(kube_client, Service, pred, ns, x.service(
            pred, ns, name, "predictor", x.predictor_annotations("none")))
        await deployment_available(kube_client, pred, ns)
        top, route = predictor_routes(name, ns)
        annotations = x.isvc_annotations("none")
        top["metadata"]["annotations"] = route["metadata"]["annotations"] = annotations
        await eventually_stored(kube_client, HTTPRoute, name, ns, top)
        await eventually_stored(kube_client, HTTPRoute, pred, ns, route)
        await accept_routes(kube_client, ns, pred, name)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        assert await get(kube_client, HorizontalPodAutoscaler, pred, ns) is None

        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {"minReplicas": 2}}})
        await eventually_stored(kube_client, Deployment, pred, ns, x.tf_predictor_deployment(
            name, ns, autoscaler="none", replicas=2))
        assert await get(kube_client, HorizontalPodAutoscaler, pred, ns) is None


async def test_v3_env_updates_reach_the_deployment(envtest: Any, kube_client: AsyncClient,
                                                   namespace: str, gateway_api: None) -> None:
    """V3 "Should reconcile the deployment if isvc envs are updated": envs added, then the
    first ones removed; the Deployment follows each time (no stale or marker values)."""
    ns, name = namespace, "raw-test-env"
    pred = f"{name}-predictor"
    defaults = [{"name": f"env{i}", "value": f"val{i}"} for i in (1, 2, 3)]
    new = [{"name": "newEnv1", "value": "newValue1"}, {"name": "newEnv2", "value": "delete"}]
    extra = {"serving.kserve.io/metrics": "cpu",
             "serving.kserve.io/targetUtilizationPercentage": "75"}
    isvc = tf_isvc(name, ns, minReplicas=1, maxReplicas=3)
    isvc["metadata"]["annotations"].update(extra)
    isvc["spec"]["predictor"]["tensorflow"]["env"] = defaults

    def expected(env: list[dict[str, str]]) -> dict[str, Any]:
        dep = x.tf_predictor_deployment(name, ns, env=env)
        for meta in (dep["metadata"], dep["spec"]["template"]["metadata"]):
            meta["annotations"].update(extra)
        return dep

    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(isvc))
        await eventually_stored(kube_client, Deployment, pred, ns, expected(defaults))
        # the defaulter moved tensorflow to model
        await patch_isvc(kube_client, name, ns,
                         {"spec": {"predictor": {"model": {"env": defaults + new}}}})
        await eventually_stored(kube_client, Deployment, pred, ns, expected(defaults + new))
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {"model": {"env": new}}}})
        await eventually_stored(kube_client, Deployment, pred, ns, expected(new))


async def test_v8_ingress_creation_disabled(envtest: Any, kube_client: AsyncClient,
                                            namespace: str, gateway_api: None) -> None:
    """V8: ``disableIngressCreation`` -> no HTTPRoute, IngressReady True, Ready."""
    ns, name = namespace, "raw-foo-no-ingress-class"
    pred = f"{name}-predictor"
    config = upstream_config(ingress={"disableIngressCreation": True,
                                      "ingressDomain": "example.com"})
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, minReplicas=1, maxReplicas=3,
                                                  autoScaling=CPU_75)))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns))
        await eventually_stored(kube_client, Service, pred, ns,
                                x.service(pred, ns, name, "predictor", x.predictor_annotations()))
        await deployment_available(kube_client, pred, ns)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
        for route in (name, pred):
            assert await get(kube_client, HTTPRoute, route, ns) is None


async def test_domain_template(envtest: Any, kube_client: AsyncClient, namespace: str,
                               gateway_api: None) -> None:
    """"with domain template": ``{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}`` hosts on
    both routes (the additional domain too) and in the status URLs."""
    ns, name = namespace, "model"
    pred = f"{name}-predictor"
    config = upstream_config(ingress={
        "ingressDomain": "example.com",
        "domainTemplate": "{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}"})
    async with isvc_manager(envtest, kube_client, ns, config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, minReplicas=1, maxReplicas=3,
                                                  autoScaling=CPU_75)))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns))
        await deployment_available(kube_client, pred, ns)
        rules = [x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns)]
        await eventually_stored(kube_client, HTTPRoute, name, ns, x.httproute(
            name, ns, name, [f"{name}.{ns}.example.com", f"{name}.{ns}.additional.example.com"],
            rules))
        await eventually_stored(kube_client, HTTPRoute, pred, ns, x.httproute(
            pred, ns, name, [f"{pred}.{ns}.example.com"], rules))
        await accept_routes(kube_client, ns, pred, name)
        await eventually_status(kube_client, name, ns, x.ready_status(
            name, ns, url=f"http://{name}.{ns}.example.com",
            components={"predictor": {"url": f"http://{pred}.{ns}.example.com"}}))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
