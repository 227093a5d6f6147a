"""Upstream's general InferenceService vectors (``controller_test.go``), in Standard mode: V22
runtime problems (not found, disabled, format unsupported) and an invalid storage URI
(the storage initializer crash-looping) in ``modelStatus``; V23 the ``global-ca-bundle``
ConfigMap (4 Its); V24 the ``InferenceServiceNotReady`` event naming the False conditions.
Whole status compared."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod
from lightkube.resources.events_v1 import Event

from apis.serving.v1alpha1 import ServingRuntime
from apis.serving.v1beta1.inference_service import InferenceService
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    get,
    isvc_manager,
    isvc_status,
    tf_serving_runtime,
    upstream_config,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

STANDARD = {"deploy": {"defaultDeploymentMode": "Standard"}}
INGRESS = {"ingress": {"enableGatewayApi": False}}


def config(**merge: Any) -> dict[str, str]:
    """``getBaseTestConfigs`` with Standard as the default mode and Ingress routing."""
    return upstream_config(gateway_api=False, **{**STANDARD, **merge})


def model_isvc(name: str, ns: str, fmt: str, runtime: str,
               uri: str = "s3://test/mnist/export") -> InferenceService:
    return InferenceService.model_validate({
        "metadata": {"name": name, "namespace": ns},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3, "model": {
            "modelFormat": {"name": fmt}, "runtime": runtime, "storageUri": uri}}}})


def tf_isvc(name: str, ns: str) -> InferenceService:
    """The Its' tensorflow InferenceService, defaulted as the webhook does (upstream's Knative
    tests skip it: a ksvc takes a container without image, a Deployment does not)."""
    return defaulted({"metadata": {"name": name, "namespace": ns},
                      "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3, "tensorflow": {
                          "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                          "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}})


async def events(kube: AsyncClient, ns: str, name: str, reason: str) -> list[Any]:
    return [e async for e in kube.list(Event, namespace=ns)
            if e.reason == reason and e.regarding.name == name]


@pytest.mark.parametrize(("case", "fmt", "reason", "message"), [
    ("unknown", "tensorflow", "RuntimeNotRecognized", "Waiting for runtime to become available"),
    ("disabled", "tensorflow", "RuntimeDisabled", "Specified runtime is disabled"),
    ("unsupported", "sklearn", "NoSupportingRuntime",
     "Specified runtime does not support specified framework/version"),
])
async def test_v22_runtime_problems(envtest: Any, kube_client: AsyncClient, namespace: str,
                                    case: str, fmt: str, reason: str, message: str) -> None:
    """V22 "Should fail with reason RuntimeNotRecognized / RuntimeDisabled /
    NoSupportingRuntime": ``modelStatus`` InvalidSpec, FailedToLoad, lastFailureInfo; a
    Warning InternalError event; nothing deployed."""
    ns, name, runtime = namespace, f"svc-with-{case}-servingruntime", f"tf-serving-{case}"
    async with isvc_manager(envtest, kube_client, ns, config()) as run:
        if case != "unknown":
            rt = tf_serving_runtime(runtime, ns)
            rt["spec"]["disabled"] = case == "disabled"
            await run.client.create(ServingRuntime.model_validate(rt))
        await run.client.create(model_isvc(name, ns, fmt, runtime))
        # deliberate difference: upstream leaves the conditions as initialised (Unknown);
        # ours say why in PredictorReady (hence Ready)
        why = {"status": "False", "reason": reason, "message": message}
        await eventually_status(kube_client, name, ns, {
            "conditions": [{"type": "IngressReady", "status": "Unknown"},
                           {"type": "PredictorReady", **why}, {"type": "Ready", **why}],
            "components": {"predictor": {}},
            "modelStatus": {"transitionStatus": "InvalidSpec",
                            "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                            "lastFailureInfo": {"reason": reason, "message": message}},
            "deploymentMode": "Standard"})
        assert await eventually(lambda: events(kube_client, ns, name, "InternalError"))
        assert await get(kube_client, Deployment, f"{name}-predictor", ns) is None


async def test_invalid_storage_uri_model_load_failed(envtest: Any, kube_client: AsyncClient,
                                                     namespace: str) -> None:
    """"Should fail with reason ModelLoadFailed": the predictor pod's storage initializer
    exits 1 "Invalid Storage URI provided" and crash-loops: BlockedByFailedLoad, FailedToLoad,
    lastFailureInfo ModelLoadFailed with the message and exit code; beyond upstream the
    PredictorReady condition says why (upstream: no reason)."""
    ns, name = namespace, "servingruntime-test"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(model_isvc(name, ns, "tensorflow", "tf-serving",
                                           "s3://test/mnist/invalid"))
        await eventually(lambda: get(kube_client, Deployment, pred, ns))
        pod = Pod.from_dict({
            "metadata": {"name": f"{pred}-76464ds2zpv", "namespace": ns, "labels": {
                "serving.kserve.io/inferenceservice": name, "app": f"isvc.{pred}"}},
            "spec": {"automountServiceAccountToken": False,
                     "initContainers": [{"name": "storage-initializer",
                                         "image": "kserve/storage-initializer:latest",
                                         "args": ["s3://test/mnist/invalid", "/mnt/models"],
                                         "resources": DEFAULT_RESOURCES}],
                     "containers": [{"name": "kserve-container",
                                     "image": "tensorflow/serving:1.14.0",
                                     "resources": DEFAULT_RESOURCES}]}})
        await kube_client.create(pod)
        await kube_client.patch(Pod.Status, pod.metadata.name, {"status": {
            "containerStatuses": [{
                "image": "tensorflow/serving:1.14.0", "imageID": "", "name": "kserve-container",
                "ready": False, "restartCount": 0, "lastState": {},
                "state": {"waiting": {"reason": "PodInitializing"}}}],
            "initContainerStatuses": [{
                "image": "kserve/storage-initializer:latest", "imageID": "",
                "name": "storage-initializer", "ready": False, "restartCount": 3,
                "lastState": {"terminated": {"exitCode": 1, "message":
                                             "Invalid Storage URI provided",
                                             "reason": "Error"}},
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}, namespace=ns)

        async def failed() -> Any:
            st = await isvc_status(kube_client, name, ns) or {}
            return (st.get("modelStatus") or {}).get("lastFailureInfo")

        info = await eventually(failed)
        assert info == {"reason": "ModelLoadFailed", "message": "Invalid Storage URI provided",
                        "exitCode": 1}
        st = await isvc_status(kube_client, name, ns)
        assert st is not None
        assert st["modelStatus"] == {
            "transitionStatus": "BlockedByFailedLoad",
            "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
            "copies": {"failedCopies": 0}, "lastFailureInfo": info}
        conds = {c["type"]: c for c in st["conditions"]}
        assert conds["PredictorReady"]["status"] == "False"
        assert "storage-initializer" in conds["PredictorReady"].get("message", ""), conds


# --------------------------------------------------------------------------- V23 CA bundle

@pytest.fixture
async def user_namespace(kube_client: AsyncClient) -> AsyncIterator[str]:
    """A second namespace for the InferenceService (the CA bundle is copied there from the
    KServe namespace)."""
    name = f"user-{uuid.uuid4().hex[:8]}"
    await kube_client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        await kube_client.delete(Namespace, name)


@pytest.mark.parametrize(("case", "source"), [
    ("unset", None), ("missing-configmap", None),
    ("wrong-key", {"wrong-cabundle-name.crt": "SAMPLE_CA_BUNDLE"}),
    ("created", {"cabundle.crt": "SAMPLE_CA_BUNDLE"}),
])
async def test_v23_global_ca_bundle(envtest: Any, kube_client: AsyncClient, namespace: str,
                                    user_namespace: str, case: str,
                                    source: dict[str, str] | None) -> None:
    """V23: ``global-ca-bundle`` appears in the InferenceService's namespace only when
    ``storageInitializer.caBundleConfigMapName`` names a ConfigMap (KServe namespace) with a
    ``cabundle.crt``; a missing ConfigMap or key is an InternalError event naming it."""
    ns, user, name = namespace, user_namespace, f"sample-isvc-{case}"
    cm_name = "" if case == "unset" else f"test-cabundle-{case}"
    cfg = config(storageInitializer={"caBundleConfigMapName": cm_name,
                                     "caBundleVolumeMountPath": "/etc/ssl/custom-certs"})
    if source is not None:
        await kube_client.create(ConfigMap(metadata=ObjectMeta(name=cm_name, namespace=ns),
                                           data=source))
    async with isvc_manager(envtest, kube_client, ns, cfg, also_watch=[user]) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 user)))
        await run.client.create(tf_isvc(name, user))
        if case == "created":
            # not owned: shared by every InferenceService of the namespace
            await eventually_stored(kube_client, ConfigMap, "global-ca-bundle", user, {
                "metadata": {"name": "global-ca-bundle", "namespace": user},
                "data": {"cabundle.crt": "SAMPLE_CA_BUNDLE"}})
            return
        if case != "unset":
            found = await eventually(lambda: events(kube_client, user, name, "InternalError"))
            assert cm_name in found[0].note
        else:
            await eventually(lambda: get(kube_client, Deployment, f"{name}-predictor", user))
        with anyio.move_on_after(3):  # upstream's fastTimeout
            while True:
                assert await get(kube_client, ConfigMap, "global-ca-bundle", user) is None
                await anyio.sleep(0.25)


# --------------------------------------------------------------------------- V24

async def test_v24_not_ready_event_names_the_false_conditions(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """V24: Ready, then the Deployment loses availability: a Warning
    ``InferenceServiceNotReady`` event "... is no longer Ready because of: <the False
    conditions>" and the whole status."""
    ns, name = namespace, "test-err-msg"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(tf_isvc(name, ns))
        await deployment_available(kube_client, pred, ns)
        await wait_ready(run.client, name, ns)
        assert await eventually(lambda: events(kube_client, ns, name, "InferenceServiceReady"))
        dep = await get(kube_client, Deployment, pred, ns)
        await kube_client.patch(Deployment.Status, pred, {"status": {
            "observedGeneration": dep.metadata.generation,
            "conditions": [{"type": "Available", "status": "False",
                            "reason": "MinimumReplicasUnavailable",
                            "message": "Deployment does not have minimum availability."}]}},
            namespace=ns)
        found = await eventually(lambda: events(kube_client, ns, name, "InferenceServiceNotReady"))
        st = await isvc_status(kube_client, name, ns)
        assert st is not None
        false = [c["type"] for c in st["conditions"] if c["status"] == "False"]
        assert found[0].type == "Warning"
        assert found[0].note == (f"InferenceService [{name}] is no longer Ready because of: "
                                 f"{', '.join(false)}")
        # IngressReady: no Ingress while the predictor is not Ready; Stopped False counts too
        assert false == ["IngressReady", "PredictorReady", "Ready", "Stopped"], st
