"""Upstream's Standard-mode vectors with a transformer (V9) and an explainer (V10), each
also with path-based routing (V11, ``pathTemplate``), and V11's predictor-only case
(``rawkube_controller_test.go``), Gateway API routing: every object compared whole with
upstream's expectation, and the whole status. ``observedGeneration`` is ours (the
InferenceService's generation; docs/compatibility.md)."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import HTTPRoute

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    accept_routes,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    isvc_manager,
    tf_serving_runtime,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


PATH_EXPLAIN = r"(/v1/models/[\w-]+:explain)$"
"""``constants.PathBasedExplainPrefix()``."""


def config(path: bool) -> dict[str, str]:
    """``getRawKubeTestConfigs``; with ``path`` upstream's path-based routing config."""
    if not path:
        return upstream_config()
    return upstream_config(ingress={"ingressDomain": "example.com",
                                    "pathTemplate": "/serving/{{ .Namespace }}/{{ .Name }}"})


def top_hosts(name: str, ns: str, path: bool) -> list[str]:
    hosts = [f"{name}-{ns}.example.com", f"{name}-{ns}.additional.example.com"]
    return [*hosts, "example.com"] if path else hosts


def predictor(name: str, ns: str) -> dict[str, Any]:
    return {"minReplicas": 1, "maxReplicas": 3,
            "autoScaling": {"metrics": [x.cpu_utilization(75)]},
            "tensorflow": {"storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                           "name": "kserve-container", "resources": DEFAULT_RESOURCES}}


async def common_predictor_objects(kube: AsyncClient, name: str, ns: str) -> None:
    pred = f"{name}-predictor"
    await eventually_stored(kube, Deployment, pred, ns, x.tf_predictor_deployment(name, ns))
    await eventually_stored(kube, Service, pred, ns,
                            x.service(pred, ns, name, "predictor", x.predictor_annotations()))


@pytest.mark.parametrize("path", [False, True], ids=["v9", "v11-path"])
async def test_v9_predictor_and_transformer(envtest: Any, kube_client: AsyncClient,
                                            namespace: str, gateway_api: None,
                                            path: bool) -> None:
    """V9: the transformer gets ``--model_name <isvc> --predictor_host <pred>.<ns>
    --http_port 8080`` after its own args, its own Deployment/Service/HPA/route (30s), and
    the top-level route and ``address`` go to the transformer. V11 (path): the top-level
    route also answers on the bare domain under ``/serving/<ns>/<isvc>/``."""
    ns, name = namespace, "raw-foo-trans-path" if path else "raw-foo-trans"
    pred, trans = f"{name}-predictor", f"{name}-transformer"
    async with isvc_manager(envtest, kube_client, ns, config(path)) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns, "annotations": x.isvc_annotations()},
            "spec": {"predictor": predictor(name, ns), "transformer": {
                "minReplicas": 1, "maxReplicas": 2, "scaleTarget": 80, "timeout": 30,
                "containers": [{"image": "transformer:v1", "resources": DEFAULT_RESOURCES,
                                "args": ["--port=8080"]}]}}}))
        await common_predictor_objects(kube_client, name, ns)
        trans_container = x.container(
            "kserve-container", "transformer:v1",
            args=["--port=8080", "--model_name", name, "--predictor_host", f"{pred}.{ns}",
                  "--http_port", "8080"],
            env=[{"name": "INFERENCE_SERVICE_NAME", "value": name}], probe=x.readiness_probe())
        await eventually_stored(kube_client, Deployment, trans, ns, x.deployment(
            trans, ns, name, "transformer", x.isvc_annotations(), x.pod_spec([trans_container])))
        await eventually_stored(kube_client, Service, trans, ns,
                                x.service(trans, ns, name, "transformer", x.isvc_annotations()))
        await deployment_available(kube_client, pred, ns)
        await deployment_available(kube_client, trans, ns)
        rules = [x.rule(x.FALLBACK, [x.backend(trans, ns)], name, ns, timeout="30s")]
        if path:
            rules.append(x.rule(f"/serving/{ns}/{name}/", [x.backend(trans, ns)], name, ns,
                                timeout="30s"))
        await eventually_stored(kube_client, HTTPRoute, name, ns, x.httproute(
            name, ns, name, top_hosts(name, ns, path), rules))
        await eventually_stored(kube_client, HTTPRoute, pred, ns, x.httproute(
            pred, ns, name, [f"{pred}-{ns}.example.com"],
            [x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns)]))
        await eventually_stored(kube_client, HTTPRoute, trans, ns, x.httproute(
            trans, ns, name, [f"{trans}-{ns}.example.com"],
            [x.rule(x.FALLBACK, [x.backend(trans, ns)], name, ns, timeout="30s")]))
        await accept_routes(kube_client, ns, pred, trans, name)
        await eventually_status(kube_client, name, ns, x.ready_status(
            name, ns,
            conditions=[{"type": "IngressReady", "status": "True"},
                        {"type": "PredictorReady", "status": "True"},
                        {"type": "Ready", "status": "True"},
                        {"type": "Stopped", "status": "False", "severity": "Info"},
                        {"type": "TransformerReady", "status": "True", "severity": "Info"}],
            address={"url": f"http://{trans}.{ns}.svc.cluster.local"},
            components={"predictor": {"url": f"http://{pred}-{ns}.example.com"},
                        "transformer": {"url": f"http://{trans}-{ns}.example.com"}}))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, trans, ns, x.hpa(
            trans, ns, name, "transformer", x.isvc_annotations(), [x.cpu_utilization(80)],
            min_replicas=1, max_replicas=2))


@pytest.mark.parametrize("path", [False, True], ids=["v10", "v11-path"])
async def test_v10_predictor_and_explainer(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None,
                                           path: bool) -> None:
    """V10: the ART explainer (``getExpectedDeployment``: no INFERENCE_SERVICE_NAME env, as
    upstream), its Service/HPA/route, and the top-level route's ``:explain`` rule (30s)
    before the predictor fallback (60s); ``address`` stays on the predictor. V11 (path):
    the same two rules again under ``/serving/<ns>/<isvc>``."""
    ns, name = namespace, "raw-foo-exp-path" if path else "raw-foo-exp"
    pred, exp = f"{name}-predictor", f"{name}-explainer"
    cfg = config(path)
    async with isvc_manager(envtest, kube_client, ns, cfg) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns, "annotations": x.isvc_annotations()},
            "spec": {"predictor": predictor(name, ns), "explainer": {
                "minReplicas": 1, "maxReplicas": 2, "scaleTarget": 80, "timeout": 30,
                "art": {"type": "SquareAttack", "config": {"nb_classes": "10"},
                        "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}},
            cfg))
        await common_predictor_objects(kube_client, name, ns)
        exp_container = x.container(
            "kserve-container", "kserve/art-explainer:latest",
            args=["--model_name", name, "--http_port", "8080", "--predictor_host",
                  f"{pred}.{ns}", "--adversary_type", "SquareAttack", "--nb_classes", "10"],
            probe=x.readiness_probe())
        await eventually_stored(kube_client, Deployment, exp, ns, x.deployment(
            exp, ns, name, "explainer", x.isvc_annotations(), x.pod_spec([exp_container])))
        await eventually_stored(kube_client, Service, exp, ns,
                                x.service(exp, ns, name, "explainer", x.isvc_annotations()))
        await deployment_available(kube_client, pred, ns)
        await deployment_available(kube_client, exp, ns)
        rules = [x.rule(x.EXPLAIN, [x.backend(exp, ns)], name, ns, timeout="30s"),
                 x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns)]
        if path:
            rules += [x.rule(f"/serving/{ns}/{name}{PATH_EXPLAIN}", [x.backend(exp, ns)], name,
                             ns, timeout="30s"),
                      x.rule(f"/serving/{ns}/{name}/", [x.backend(pred, ns)], name, ns)]
        await eventually_stored(kube_client, HTTPRoute, name, ns, x.httproute(
            name, ns, name, top_hosts(name, ns, path), rules))
        await eventually_stored(kube_client, HTTPRoute, pred, ns, x.httproute(
            pred, ns, name, [f"{pred}-{ns}.example.com"],
            [x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns)]))
        await eventually_stored(kube_client, HTTPRoute, exp, ns, x.httproute(
            exp, ns, name, [f"{exp}-{ns}.example.com"],
            [x.rule(x.FALLBACK, [x.backend(exp, ns)], name, ns, timeout="30s")]))
        await accept_routes(kube_client, ns, pred, exp, name)
        await eventually_status(kube_client, name, ns, x.ready_status(
            name, ns,
            conditions=[{"type": "ExplainerReady", "status": "True", "severity": "Info"},
                        {"type": "IngressReady", "status": "True"},
                        {"type": "PredictorReady", "status": "True"},
                        {"type": "Ready", "status": "True"},
                        {"type": "Stopped", "status": "False", "severity": "Info"}],
            components={"predictor": {"url": f"http://{pred}-{ns}.example.com"},
                        "explainer": {"url": f"http://{exp}-{ns}.example.com"}}))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, exp, ns, x.hpa(
            exp, ns, name, "explainer", x.isvc_annotations(), [x.cpu_utilization(80)],
            min_replicas=1, max_replicas=2))


async def test_v11_path_based_routing_predictor(envtest: Any, kube_client: AsyncClient,
                                                namespace: str, gateway_api: None) -> None:
    """V11 "raw kube path based routing predictor": the top-level route also on the bare
    ingress domain with a ``/serving/<ns>/<isvc>/`` rule; predictor timeout 30s."""
    ns, name = namespace, "raw-foo-path"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, config(True)) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns, "annotations": x.isvc_annotations()},
            "spec": {"predictor": {**predictor(name, ns), "timeout": 30}}}))
        await common_predictor_objects(kube_client, name, ns)
        await deployment_available(kube_client, pred, ns)
        await eventually_stored(kube_client, HTTPRoute, name, ns, x.httproute(
            name, ns, name, top_hosts(name, ns, True),
            [x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns, timeout="30s"),
             x.rule(f"/serving/{ns}/{name}/", [x.backend(pred, ns)], name, ns,
                    timeout="30s")]))
        await eventually_stored(kube_client, HTTPRoute, pred, ns, x.httproute(
            pred, ns, name, [f"{pred}-{ns}.example.com"],
            [x.rule(x.FALLBACK, [x.backend(pred, ns)], name, ns, timeout="30s")]))
        await accept_routes(kube_client, ns, pred, name)
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
