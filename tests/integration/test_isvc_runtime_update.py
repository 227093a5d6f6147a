"""Upstream's V7 "When Updating a Serving Runtime" (``rawkube_controller_test.go``, 4 Its): a
ServingRuntime spec change reaches the Deployments of the InferenceServices that use it,
unless ``serving.kserve.io/disable-auto-update: "true"`` and Ready; only the runtime that
changed. Whole Deployments compared (runtime labels, annotations and image pull secrets
merged in); the untouched Deployments are not even written (same resourceVersion)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment

from apis.serving.v1alpha1 import ServingRuntime

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    accept_routes,
    defaulted,
    deployment_available,
    eventually_stored,
    get,
    isvc_manager,
    upstream_config,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SR_META = {"key1": "val1FromSR", "key2": "val2FromSR", "key3": "val3FromSR"}
DISABLE = "serving.kserve.io/disable-auto-update"


def runtime(name: str, ns: str, fmt: str, image: str, command: str) -> dict[str, Any]:
    """The Its' ServingRuntimes: labels/annotations key1-3, an image pull secret."""
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"supportedModelFormats": [{"name": fmt, "version": "1", "autoSelect": True}],
                     "labels": dict(SR_META), "annotations": dict(SR_META),
                     "containers": [{"name": "kserve-container", "image": image,
                                     "command": [command], "args": x.TF_ARGS,
                                     "resources": DEFAULT_RESOURCES}],
                     "imagePullSecrets": [{"name": "sr-image-pull-secret"}],
                     "disabled": False}}


def pytorch_runtime(name: str, ns: str) -> dict[str, Any]:
    return runtime(name, ns, "pytorch", "pytorch/serving:1.14.0", "/usr/bin/pytorch_model_server")


def isvc(name: str, ns: str, annotations: dict[str, str], framework: str = "pytorch"
         ) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"predictor": {framework: {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}


def expected(name: str, ns: str, annotations: dict[str, str], *, image: str, command: str,
             labels: dict[str, str]) -> dict[str, Any]:
    """The predictor Deployment: runtime labels/annotations under the ISVC's, the runtime's
    image pull secret in the pod."""
    pred = f"{name}-predictor"
    meta_annotations = {**SR_META, **x.predictor_annotations(annotations[
        "serving.kserve.io/autoscalerClass"]), **annotations}
    c = x.container("kserve-container", image, command=[command], args=x.TF_ARGS,
                    env=[{"name": "INFERENCE_SERVICE_NAME", "value": name}],
                    probe=x.readiness_probe())
    return x.deployment(pred, ns, name, "predictor", meta_annotations,
                        x.pod_spec([c], imagePullSecrets=[{"name": "sr-image-pull-secret"}]),
                        labels=labels)


async def update_runtime_label(client: Any, name: str, ns: str) -> None:
    sr = await client.api_reader.get(ServingRuntime, name, ns)
    await client.patch(ServingRuntime, name, {"spec": {"labels": {
        **(sr.spec.labels or {}), "key1": "updatedServingRuntime"}}}, namespace=ns)


UPDATED = {**SR_META, "key1": "updatedServingRuntime"}
CPU_75 = {"serving.kserve.io/deploymentMode": "Standard",
          "serving.kserve.io/autoscalerClass": "hpa", "serving.kserve.io/metrics": "cpu",
          "serving.kserve.io/targetUtilizationPercentage": "75"}


@pytest.mark.parametrize("auto_update", [None, "false"], ids=["annotation-missing", "enabled"])
async def test_v7_runtime_update_redeploys(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, gateway_api: None,
                                           auto_update: str | None) -> None:
    """V7 "should reconcile the deployment if auto-update annotation is not present" / "if
    auto-update is enabled"."""
    ns, name = namespace, "isvc-enable-auto-update"
    sr = "pytorch-serving-auto-update"
    annotations = dict(CPU_75)
    if auto_update is not None:
        annotations[DISABLE] = auto_update
    torch = {"image": "pytorch/serving:1.14.0", "command": "/usr/bin/pytorch_model_server"}
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(pytorch_runtime(sr, ns)))
        await run.client.create(defaulted(isvc(name, ns, annotations)))
        pred = f"{name}-predictor"
        await eventually_stored(kube_client, Deployment, pred, ns, expected(
            name, ns, annotations, labels=SR_META, **torch))
        await update_runtime_label(run.client, sr, ns)
        await eventually_stored(kube_client, Deployment, pred, ns, expected(
            name, ns, annotations, labels=UPDATED, **torch))


async def test_v7_disable_auto_update_while_ready(envtest: Any, kube_client: AsyncClient,
                                                  namespace: str, gateway_api: None) -> None:
    """V7 "should not reconcile the deployment if auto-update is disabled": Ready with
    ``disable-auto-update: "true"``, the runtime changes, the Deployment is not written."""
    ns, name = namespace, "isvc-enable-auto-update-false"
    sr = "pytorch-serving-auto-update-false"
    annotations = {**CPU_75, DISABLE: "true"}
    torch = {"image": "pytorch/serving:1.14.0", "command": "/usr/bin/pytorch_model_server"}
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(pytorch_runtime(sr, ns)))
        await run.client.create(defaulted(isvc(name, ns, annotations)))
        want = expected(name, ns, annotations, labels=SR_META, **torch)
        await eventually_stored(kube_client, Deployment, pred, ns, want)
        await deployment_available(kube_client, pred, ns)
        await accept_routes(kube_client, ns, pred, name)
        await wait_ready(run.client, name, ns)
        before = (await get(kube_client, Deployment, pred, ns)).metadata.resourceVersion
        await update_runtime_label(run.client, sr, ns)
        await anyio.sleep(3)  # upstream's fastTimeout
        await eventually_stored(kube_client, Deployment, pred, ns, want, within=1)
        assert (await get(kube_client, Deployment, pred, ns)).metadata.resourceVersion == before


async def test_v7_only_the_matching_runtime(envtest: Any, kube_client: AsyncClient,
                                            namespace: str, gateway_api: None) -> None:
    """V7 "should reconcile only if the matching serving runtime was updated even if
    multiple exist": the pytorch runtime changes, the tensorflow InferenceService's
    Deployment is not written."""
    ns = namespace
    torch_name, tf_name = "isvc-auto-update-multiple-pytorch", "isvc-auto-update-multiple-tf"
    annotations = {"serving.kserve.io/deploymentMode": "Standard",
                   "serving.kserve.io/autoscalerClass": "external", DISABLE: "false"}
    torch = {"image": "pytorch/serving:1.14.0", "command": "/usr/bin/pytorch_model_server"}
    tf = {"image": "tensorflow/serving:1.14.0", "command": "/usr/bin/tensorflow_server_model"}
    async with isvc_manager(envtest, kube_client, ns, upstream_config()) as run:
        await run.client.create(ServingRuntime.model_validate(
            pytorch_runtime("pytorch-serving-auto-update-true-multiple", ns)))
        await run.client.create(ServingRuntime.model_validate(runtime(
            "tensorflow-serving-auto-update-true-multiple", ns, "tensorflow", **tf)))
        await run.client.create(defaulted(isvc(torch_name, ns, annotations)))
        await run.client.create(defaulted(isvc(tf_name, ns, annotations, "tensorflow")))
        tf_want = expected(tf_name, ns, annotations, labels=SR_META, **tf)
        await eventually_stored(kube_client, Deployment, f"{tf_name}-predictor", ns, tf_want)
        await eventually_stored(kube_client, Deployment, f"{torch_name}-predictor", ns,
                                expected(torch_name, ns, annotations, labels=SR_META, **torch))
        tf_before = (await get(kube_client, Deployment, f"{tf_name}-predictor", ns)
                     ).metadata.resourceVersion
        await update_runtime_label(run.client, "pytorch-serving-auto-update-true-multiple", ns)
        await eventually_stored(kube_client, Deployment, f"{torch_name}-predictor", ns,
                                expected(torch_name, ns, annotations, labels=UPDATED, **torch))
        await eventually_stored(kube_client, Deployment, f"{tf_name}-predictor", ns, tf_want)
        assert (await get(kube_client, Deployment, f"{tf_name}-predictor", ns)
                ).metadata.resourceVersion == tf_before
