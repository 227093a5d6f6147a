"""Knative mode on envtest (upstream ``controller_test.go``): V18 (the predictor's Knative
Service, the VirtualService and the status), V19 (Knative not served: ServerlessModeRejected,
picked up once the CRD is installed), the transformer, and the six initial-scale cases.

As upstream's, these run without Knative's controllers: the tests write the Knative
Services' status. Expected objects are written out from upstream's test literals, as the
API server stores them (no Knative webhook here, so no Knative defaults either); with
Knative's controllers running, tests/knative/ checks what Knative makes of them.

Deliberate differences in the status (docs/compatibility.md): ``observedGeneration`` is the
InferenceService's generation (upstream copies the Knative Service's), the Stopped condition
False is present from the first reconcile (as in Standard mode)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Service

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import KnativeService, VirtualService
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    ISVC,
    defaulted,
    eventually_status,
    get,
    isvc_status,
    owner,
    tf_serving_runtime,
    uninstall_crds,
    upstream_config,
)
from .knative_env import (
    DOMAIN,
    KNATIVE_SERVICE_CRD,
    component_url,
    install_knative_crds,
    knative_crds,
    knative_manager,
    ksvc,
    ksvc_status,
    patch_isvc,
    set_knative_config,
    virtual_service,
    without_server_fields,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

KNATIVE = {"serving.kserve.io/deploymentMode": "Knative"}
KPA = "kpa.autoscaling.knative.dev"
LOCAL_GW = "knative-serving/knative-local-gateway"
INGRESS_GW = "knative-serving/knative-ingress-gateway"
GATEWAY_SVC = "knative-local-gateway.istio-system.svc.cluster.local"


@pytest.fixture(scope="module")
def crds(envtest: Any) -> Iterator[None]:
    yield from knative_crds(envtest)


def config() -> dict[str, str]:
    """``getKnativeTestConfigs``."""
    return upstream_config(gateway_api=False)


def host_regexp(host: str) -> str:
    return "^" + host.replace(".", r"\.") + r"(?::\d{1,5})?$"


def sr_with_metadata(ns: str) -> dict[str, Any]:
    """V18's ServingRuntime: labels, annotations and an image pull secret of its own."""
    sr = tf_serving_runtime("tf-serving", ns)
    kv = {"key1": "val1FromSR", "key2": "val2FromSR", "key3": "val3FromSR"}
    sr["spec"].update({"labels": dict(kv), "annotations": dict(kv),
                       "imagePullSecrets": [{"name": "sr-image-pull-secret"}]})
    return sr


def tf_container(isvc: str, version: str = "1.14.0") -> dict[str, Any]:
    return {"name": "kserve-container", "image": f"tensorflow/serving:{version}",
            "command": ["/usr/bin/tensorflow_model_server"], "args": x.TF_ARGS,
            "env": [{"name": "INFERENCE_SERVICE_NAME", "value": isvc}],
            "resources": DEFAULT_RESOURCES}


async def test_v18_knative_service_virtual_service_and_status(
        envtest: Any, kube_client: AsyncClient, namespace: str, crds: None) -> None:
    ns, name = namespace, "foo"
    async with knative_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(sr_with_metadata(ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"key2": "val2FromISVC", "key3": "val3FromISVC"},
                         "annotations": {**KNATIVE, "key2": "val2FromISVC",
                                         "key3": "val3FromISVC"}},
            "spec": {"predictor": {
                "minReplicas": 1, "maxReplicas": 3,
                "labels": {"key3": "val3FromPredictor"},
                "annotations": {"key3": "val3FromPredictor"},
                "tensorflow": {"storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                               "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))
        labels = {"component": "predictor", "serving.kserve.io/inferenceservice": name,
                  "key1": "val1FromSR", "key2": "val2FromISVC", "key3": "val3FromPredictor"}
        expected_ksvc = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": f"{name}-predictor", "namespace": ns, "labels": labels,
                         "ownerReferences": owner(name)},
            "spec": {
                "template": {
                    "metadata": {"labels": labels, "annotations": {
                        "serving.kserve.io/deploymentMode": "Knative",
                        "internal.serving.kserve.io/storage-initializer-sourceuri":
                            x.STORAGE_URI,
                        "autoscaling.knative.dev/max-scale": "3",
                        "autoscaling.knative.dev/min-scale": "1",
                        "autoscaling.knative.dev/class": KPA,
                        "key1": "val1FromSR", "key2": "val2FromISVC",
                        "key3": "val3FromPredictor"}},
                    "spec": {"containers": [tf_container(name)],
                             "imagePullSecrets": [{"name": "sr-image-pull-secret"}],
                             "automountServiceAccountToken": False}},
                "traffic": [{"latestRevision": True, "percent": 100}]}}
        got = without_server_fields(await ksvc(kube_client, f"{name}-predictor", ns))
        assert got == expected_ksvc

        # Knative's controller would: revision-v1 Ready, the route's URL
        url = component_url("predictor", name, ns)
        await ksvc_status(kube_client, f"{name}-predictor", ns, revision="revision-v1", url=url)
        isvc_host = f"{name}.{ns}.{DOMAIN}"
        internal = f"{name}.{ns}.svc.cluster.local"
        expected_vs_spec = {
            "gateways": [LOCAL_GW, "mesh", INGRESS_GW],
            "hosts": [internal, isvc_host],
            "http": [{
                "match": [
                    {"authority": {"regex": host_regexp(internal)},
                     "gateways": [LOCAL_GW, "mesh"]},
                    {"authority": {"regex": host_regexp(isvc_host)},
                     "gateways": [INGRESS_GW]}],
                "route": [{"destination": {"host": GATEWAY_SVC, "port": {"number": 80}},
                           "weight": 100}],
                "headers": {"request": {"set": {
                    "Host": f"{name}-predictor.{ns}.svc.cluster.local",
                    "KServe-Isvc-Name": name, "KServe-Isvc-Namespace": ns}}}}],
        }
        vs = await virtual_service(kube_client, name, ns)
        assert vs["spec"] == expected_vs_spec
        assert vs["metadata"]["labels"] == {"key2": "val2FromISVC", "key3": "val3FromISVC"}
        assert vs["metadata"]["ownerReferences"][0]["name"] == name

        ext = await eventually(lambda: get(kube_client, Service, name, ns))
        assert (ext.spec.type, ext.spec.externalName, ext.spec.sessionAffinity) == (
            "ExternalName", GATEWAY_SVC, "None")
        assert ext.metadata.ownerReferences[0].name == name

        await eventually_status(kube_client, name, ns, {
            "conditions": [
                {"type": "IngressReady", "status": "True"},
                {"type": "LatestDeploymentReady", "status": "True", "severity": "Info"},
                {"type": "PredictorConfigurationReady", "status": "True", "severity": "Info"},
                {"type": "PredictorReady", "status": "True"},
                {"type": "PredictorRouteReady", "status": "True", "severity": "Info"},
                {"type": "Ready", "status": "True"},
                {"type": "RoutesReady", "status": "True", "severity": "Info"},
                {"type": "Stopped", "status": "False", "severity": "Info"},
            ],
            "url": f"http://{isvc_host}",
            "address": {"url": f"http://{internal}"},
            "components": {"predictor": {"latestReadyRevision": "revision-v1",
                                         "latestCreatedRevision": "revision-v1",
                                         "url": url}},
            "modelStatus": x.PENDING_MODEL,
            "observedGeneration": 1,
            "deploymentMode": "Knative",
            "servingRuntimeName": "tf-serving",
        })

        # labels and annotations of the InferenceService follow into the VirtualService
        await patch_isvc(kube_client, name, ns, {"metadata": {
            "labels": {"testLabel": "test", "key2": None, "key3": None},
            "annotations": {"testAnnotation": "test"}}})

        async def vs_meta() -> Any:
            got = await virtual_service(kube_client, name, ns)
            meta = got["metadata"]
            return got if meta.get("labels") == {"testLabel": "test"} else None

        updated = await eventually(vs_meta)
        assert updated["spec"] == expected_vs_spec
        assert updated["metadata"]["annotations"] == {
            **KNATIVE, "key2": "val2FromISVC", "key3": "val3FromISVC", "testAnnotation": "test"}


async def test_v19_knative_not_served_then_installed(
        envtest: Any, kube_client: AsyncClient, namespace: str, crds: None) -> None:
    """Knative Services not served: Warning ServerlessModeRejected, PredictorReady False
    naming it (upstream: a terminal error and Unknown conditions), nothing created; the CRD
    installed later is picked up without a restart (rechecked every 30 s: the test shortens
    that)."""
    import controllers.inferenceservice.knative as knative_mode

    ns, name = namespace, "serverless-isvc"
    await anyio.to_thread.run_sync(uninstall_crds, envtest, [KNATIVE_SERVICE_CRD])
    recheck = knative_mode.KNATIVE_RECHECK_SECONDS
    try:
        async with knative_manager(envtest, kube_client, ns, config()) as run:
            run.reconciler.knative.rest_mapper.refresh_interval = 0.5
            knative_mode.KNATIVE_RECHECK_SECONDS = 1.0  # type: ignore[misc]
            await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf", ns)))
            await run.client.create(defaulted({
                "metadata": {"name": name, "namespace": ns, "annotations": KNATIVE},
                "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3, "tensorflow": {
                    "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                    "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))

            async def rejected() -> Any:
                st = await isvc_status(kube_client, name, ns)
                conds = {c["type"]: c for c in (st or {}).get("conditions") or ()}
                c = conds.get("PredictorReady")
                return st if c and c.get("reason") == "ServerlessModeRejected" else None

            st = await eventually(rejected)
            conds = {c["type"]: c for c in st["conditions"]}
            assert conds["PredictorReady"]["status"] == "False"
            assert "Knative Serving is not available" in conds["PredictorReady"]["message"]
            assert conds["Ready"]["status"] == "False"
            assert st["deploymentMode"] == "Knative"
            events = await eventually(lambda: _events(kube_client, ns, name,
                                                      "ServerlessModeRejected"))
            assert events[0].type == "Warning"
            assert await get(kube_client, Service, name, ns) is None

            await anyio.to_thread.run_sync(install_knative_crds, envtest, KNATIVE_SERVICE_CRD)
            await ksvc(kube_client, f"{name}-predictor", ns, within=60)
    finally:
        knative_mode.KNATIVE_RECHECK_SECONDS = recheck  # type: ignore[misc]
        await anyio.to_thread.run_sync(install_knative_crds, envtest, KNATIVE_SERVICE_CRD)


async def _events(kube: AsyncClient, ns: str, name: str, reason: str) -> list[Any] | None:
    from lightkube.resources.events_v1 import Event

    found = [e async for e in kube.list(Event, namespace=ns)
             if e.regarding is not None and e.regarding.name == name and e.reason == reason]
    return found or None


_ = (ISVC, KnativeService, VirtualService, set_knative_config)
