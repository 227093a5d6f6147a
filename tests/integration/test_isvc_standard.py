"""The InferenceService controller in Standard mode on a real kube-apiserver."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress

from apis.serving.v1alpha1 import ServingRuntime
from apis.serving.v1beta1.inference_service import InferenceService
from runtime import metrics
from runtime.reconcile import Request, Result
from runtime.testing.eventually import eventually
from runtime.testing.metrics import quiet, requests_by_method

from .isvc_env import (
    get,
    isvc_manager,
    make_available,
    runtime,
    wait_ready,
    writes,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def sklearn_isvc(name: str, namespace: str, **predictor: Any) -> InferenceService:
    return InferenceService.model_validate({
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"predictor": {"model": {
            "modelFormat": {"name": "sklearn"},
            "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}, **predictor}},
    })


async def test_sklearn_becomes_ready(envtest: Any, kube_client: AsyncClient,
                                     namespace: str) -> None:
    async with isvc_manager(envtest, kube_client, namespace) as run:
        mgr = run.mgr
        await mgr.client.create(ServingRuntime.model_validate(runtime("sklearnserver", namespace)))
        await mgr.client.create(sklearn_isvc("iris", namespace))
        dep = await eventually(lambda: get(kube_client, Deployment, "iris-predictor", namespace))
        assert dep.spec.selector.matchLabels == {"app": "isvc.iris-predictor"}
        container = dep.spec.template.spec.containers[0]
        assert container.name == "kserve-container"
        assert container.args == ["--model_name=iris", "--model_dir=/mnt/models",
                                  "--http_port=8080"]
        annotations = dep.spec.template.metadata.annotations
        assert annotations["internal.serving.kserve.io/storage-initializer-sourceuri"] == \
            "gs://kfserving-examples/models/sklearn/1.0/model"
        svc = await eventually(lambda: get(kube_client, Service, "iris-predictor", namespace))
        assert [(p.port, p.targetPort) for p in svc.spec.ports] == [(80, 8080)]
        hpa = await eventually(lambda: get(kube_client, HorizontalPodAutoscaler,
                                           "iris-predictor", namespace))
        assert (hpa.spec.minReplicas, hpa.spec.maxReplicas) == (1, 1)

        await make_available(kube_client, "iris-predictor", namespace)

        isvc = await wait_ready(mgr.client, "iris", namespace)
        st = isvc.status
        assert st.url == f"http://iris-{namespace}.example.com"
        assert st.address.url == f"http://iris-predictor.{namespace}.svc.cluster.local"
        assert st.deployment_mode == "Standard"
        assert st.serving_runtime_name == "kserve-sklearnserver"
        assert st.components["predictor"].url == \
            f"http://iris-predictor-{namespace}.example.com"
        ing = await get(kube_client, Ingress, "iris", namespace)
        assert ing is not None
        assert [r.host for r in ing.spec.rules] == [
            f"iris-{namespace}.example.com", f"iris-predictor-{namespace}.example.com"]


async def test_noop_reconcile_and_restart_make_no_requests(envtest: Any, kube_client: AsyncClient,
                                                           namespace: str) -> None:
    """Upstream: 6 requests per no-op reconcile, 2,002 writes for a restart over 1,000
    unchanged InferenceServices. Here: none."""
    async with isvc_manager(envtest, kube_client, namespace) as run:
        await run.client.create(ServingRuntime.model_validate(runtime("sklearnserver",
                                                                       namespace)))
        await run.client.create(sklearn_isvc("iris", namespace))
        await make_available(kube_client, "iris-predictor", namespace)
        await wait_ready(run.client, "iris", namespace)
        await quiet()  # the watch events of our own writes settled, events sent
        before = requests_by_method()
        assert await run.reconciler.reconcile(Request(namespace, "iris")) == Result()
        assert requests_by_method() == before
    before = requests_by_method()
    # sampled before the restart: its first reconcile may finish before the context yields
    reconciled = metrics.RECONCILE_TOTAL.labels("inferenceservice", "success")
    start = reconciled._value.get()
    async with isvc_manager(envtest, kube_client, namespace) as run:
        await eventually(lambda: reconciled._value.get() > start, within=30)
        await anyio.sleep(1)
        after = requests_by_method()
    assert writes(after) - writes(before) == 0, (before, after)


async def test_render_equals_what_the_controller_applies(envtest: Any, kube_client: AsyncClient,
                                                         namespace: str) -> None:
    """``kserve-manager render`` prints the objects the controller writes: every rendered
    object is stored as rendered (server defaults aside) once the InferenceService is Ready."""
    from apis.serving.v1beta1.configmap import parse_inferenceservice_config
    from apis.serving.v1beta1.inference_service_defaults import default_inference_service
    from controllers.render import render
    from runtime.apply import contains
    from runtime.codec import object_to_dict

    from .isvc_env import shipped_config

    isvc = sklearn_isvc("iris", namespace)
    rt = runtime("sklearnserver", namespace)
    objects, _ = await render(object_to_dict(isvc), shipped_config(), [rt],
                              kserve_namespace=namespace)
    assert [o["kind"] for o in objects] == [
        "Service", "Deployment", "HorizontalPodAutoscaler", "Ingress"]
    # as the defaulting webhook stores it
    config = parse_inferenceservice_config(shipped_config())
    defaulted = InferenceService.model_validate(default_inference_service(isvc, config))
    async with isvc_manager(envtest, kube_client, namespace) as run:
        await run.client.create(ServingRuntime.model_validate(rt))
        await run.client.create(defaulted)
        await make_available(kube_client, "iris-predictor", namespace)
        await wait_ready(run.client, "iris", namespace)
        kinds = {"Service": Service, "Deployment": Deployment,
                 "HorizontalPodAutoscaler": HorizontalPodAutoscaler, "Ingress": Ingress}
        for rendered in objects:
            live = await get(kube_client, kinds[rendered["kind"]],
                             rendered["metadata"]["name"], namespace)
            assert live is not None, rendered["metadata"]["name"]
            body = {k: v for k, v in rendered.items() if k not in ("apiVersion", "kind")}
            for ref in body["metadata"].get("ownerReferences") or ():
                ref["uid"] = live.metadata.ownerReferences[0].uid
            assert contains(body, object_to_dict(live)), rendered["kind"]
