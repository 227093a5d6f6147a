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


# --------------------------------------------------------------------------- transformer


async def test_transformer_knative_services_and_status(
        envtest: Any, kube_client: AsyncClient, namespace: str, crds: None) -> None:
    """Upstream's "Inference Service with transformer": the transformer's Knative Service in
    full, both components' status, the InferenceService's URL from the transformer's."""
    ns, name = namespace, "svc-with-transformer"
    async with knative_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"key1": "val1FromISVC", "key2": "val2FromISVC"},
                         "annotations": {**KNATIVE, "key1": "val1FromISVC",
                                         "key2": "val2FromISVC"}},
            "spec": {
                "predictor": {"minReplicas": 1, "maxReplicas": 3,
                              "labels": {"key2": "val2FromPredictor"},
                              "annotations": {"key2": "val2FromPredictor"},
                              "tensorflow": {"storageUri": "s3://test/mnist/export",
                                             "runtimeVersion": "1.13.0"}},
                "transformer": {"minReplicas": 1, "maxReplicas": 3,
                                "labels": {"key2": "val2FromTransformer"},
                                "annotations": {"key2": "val2FromTransformer"},
                                "containers": [{"image": "transformer:v1",
                                                "resources": DEFAULT_RESOURCES}]}}}))
        labels = {"serving.kserve.io/inferenceservice": name, "component": "transformer",
                  "key1": "val1FromISVC", "key2": "val2FromTransformer"}
        expected = {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": f"{name}-transformer", "namespace": ns, "labels": labels,
                         "ownerReferences": owner(name)},
            "spec": {
                "template": {
                    "metadata": {"labels": labels, "annotations": {
                        "serving.kserve.io/deploymentMode": "Knative",
                        "autoscaling.knative.dev/class": KPA,
                        "autoscaling.knative.dev/max-scale": "3",
                        "autoscaling.knative.dev/min-scale": "1",
                        "key1": "val1FromISVC", "key2": "val2FromTransformer"}},
                    "spec": {"containers": [{
                        "name": "kserve-container", "image": "transformer:v1",
                        "args": ["--model_name", name, "--predictor_host",
                                 f"{name}-predictor.{ns}", "--http_port", "8080"],
                        "env": [{"name": "INFERENCE_SERVICE_NAME", "value": name}],
                        "resources": DEFAULT_RESOURCES}],
                        "automountServiceAccountToken": False}},
                "traffic": [{"latestRevision": True, "percent": 100}]}}
        got = without_server_fields(await ksvc(kube_client, f"{name}-transformer", ns))
        assert got == expected
        await ksvc(kube_client, f"{name}-predictor", ns)
        p_url = component_url("predictor", name, ns)
        t_url = component_url("transformer", name, ns)
        await ksvc_status(kube_client, f"{name}-predictor", ns, revision="revision-v1",
                          url=p_url)
        await ksvc_status(kube_client, f"{name}-transformer", ns, revision="t-revision-v1",
                          url=t_url)
        await eventually_status(kube_client, name, ns, ready_status(
            name, ns, {"predictor": ("revision-v1", p_url),
                       "transformer": ("t-revision-v1", t_url)}))
        vs = await virtual_service(kube_client, name, ns)
        assert vs["spec"]["http"][0]["headers"]["request"]["set"]["Host"] == \
            f"{name}-transformer.{ns}.svc.cluster.local"


_COMPONENT_CONDITIONS = {
    "predictor": ("PredictorConfigurationReady", "PredictorReady", "PredictorRouteReady"),
    "transformer": ("TransformerConfigurationReady", "TransformerReady",
                    "TransformerRouteReady"),
    "explainer": ("ExplainerConfigurationReady", "ExplainerReady", "ExplainerRoutesReady"),
}


def ready_status(name: str, ns: str, components: dict[str, tuple[str, str]], *,
                 runtime: str = "tf-serving", generation: int = 1,
                 **more: Any) -> dict[str, Any]:
    """A Ready Knative-mode status: every component's Knative Service Ready at its revision
    and URL (``components``: component -> (revision, url)), no pods yet."""
    conds = [{"type": "IngressReady", "status": "True"},
             {"type": "LatestDeploymentReady", "status": "True", "severity": "Info"},
             {"type": "Ready", "status": "True"},
             {"type": "RoutesReady", "status": "True", "severity": "Info"},
             {"type": "Stopped", "status": "False", "severity": "Info"}]
    for comp in components:
        for t in _COMPONENT_CONDITIONS[comp]:
            c = {"type": t, "status": "True"}
            if t != "PredictorReady":
                c["severity"] = "Info"
            conds.append(c)
    conds.sort(key=lambda c: c["type"])
    return {
        "conditions": conds,
        "url": f"http://{name}.{ns}.{DOMAIN}",
        "address": {"url": f"http://{name}.{ns}.svc.cluster.local"},
        "components": {c: {"latestReadyRevision": rev, "latestCreatedRevision": rev,
                           "url": url} for c, (rev, url) in components.items()},
        "modelStatus": x.PENDING_MODEL,
        "observedGeneration": generation,
        "deploymentMode": "Knative",
        "servingRuntimeName": runtime,
        **more,
    }


# --------------------------------------------------------------------------- initial scale

INITIAL_SCALE = "autoscaling.knative.dev/initial-scale"


@pytest.mark.parametrize(("allow_zero", "value", "kept"), [
    (False, "0", False), (False, "3", True), (False, "non-integer", False),
    (True, "0", True), (True, "3", True), (True, "non-integer", False),
])
async def test_initial_scale(envtest: Any, kube_client: AsyncClient, namespace: str,
                             crds: None, allow_zero: bool, value: str, kept: bool) -> None:
    """Upstream's six initial-scale cases: the annotation reaches the revision template only
    when it is an integer and (for 0) ``config-autoscaler`` allows zero initial scale.
    Beyond upstream (which only logs): a dropped value is an ``InitialScaleValid`` False
    condition and one Warning event."""
    ns, name = namespace, f"initialscale-{'z' if allow_zero else 'n'}-{value[:3]}"
    await set_knative_config(kube_client, "config-autoscaler",
                             {"allow-zero-initial-scale": "true"} if allow_zero else {})
    try:
        async with knative_manager(envtest, kube_client, ns, config()) as run:
            await run.client.create(ServingRuntime.model_validate(
                tf_serving_runtime("tf-serving", ns)))
            await run.client.create(defaulted({
                "metadata": {"name": name, "namespace": ns,
                             "annotations": {**KNATIVE, INITIAL_SCALE: value}},
                "spec": {"predictor": {"minReplicas": 2, "tensorflow": {
                    "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                    "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))
            got = await ksvc(kube_client, f"{name}-predictor", ns)
            annotations = got["spec"]["template"]["metadata"]["annotations"]
            assert annotations.get(INITIAL_SCALE) == (value if kept else None)
            assert annotations["autoscaling.knative.dev/min-scale"] == "2"
            st = await eventually(lambda: _status_with(kube_client, name, ns, "PredictorReady"))
            conds = {c["type"]: c for c in st["conditions"]}
            if kept:
                assert "InitialScaleValid" not in conds
            else:
                c = conds["InitialScaleValid"]
                assert (c["status"], c["reason"], c["severity"]) == (
                    "False", "InvalidInitialScale", "Info")
                assert INITIAL_SCALE in c["message"]
                ev = await eventually(lambda: _events(kube_client, ns, name,
                                                      "InvalidInitialScale"))
                assert len(ev) == 1 and ev[0].type == "Warning"
    finally:
        await set_knative_config(kube_client, "config-autoscaler", {})


async def _status_with(kube: AsyncClient, name: str, ns: str, ctype: str) -> Any:
    st = await isvc_status(kube, name, ns)
    return st if any(c["type"] == ctype for c in (st or {}).get("conditions") or ()) else None


# --------------------------------------------------------------------------- V20 canary


async def _traffic(kube: AsyncClient, name: str, ns: str) -> Any:
    obj = await get(kube, KnativeService, name, ns)
    return obj.to_dict()["spec"].get("traffic") if obj is not None else None


async def _predictor_status(kube: AsyncClient, name: str, ns: str) -> dict[str, Any]:
    st = await isvc_status(kube, name, ns)
    return dict(((st or {}).get("components") or {}).get("predictor") or {})


async def test_v20_canary_traffic_split(envtest: Any, kube_client: AsyncClient,
                                        namespace: str, crds: None) -> None:
    """``canaryTrafficPercent`` 20 with revision-v1 rolled out: the Knative Service splits
    20 (latest) / 80 (``prev``: revision-v1); rolling out (no canary) sends 100 to the
    latest; once Knative reports revision-v2 at 100 %, it is the rolled-out revision and
    revision-v1 the previous one."""
    ns, name = namespace, "foo-canary"
    pred = f"{name}-predictor"
    async with knative_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3, "tensorflow": {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))
        url = component_url("predictor", name, ns)
        await ksvc_status(kube_client, pred, ns, revision="revision-v1", url=url,
                          conditions=[{"type": "Ready", "status": "True"}],
                          traffic=[{"latestRevision": True, "revisionName": "revision-v1",
                                    "percent": 100}])

        async def rolled_out(rev: str) -> Any:
            comp = await _predictor_status(kube_client, name, ns)
            return comp if comp.get("latestRolledoutRevision") == rev else None

        comp = await eventually(lambda: rolled_out("revision-v1"))
        assert comp["latestReadyRevision"] == "revision-v1"
        assert comp["traffic"] == [{"latestRevision": True, "revisionName": "revision-v1",
                                    "percent": 100}]

        v2 = "s3://test/mnist/export/v2"
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {
            "canaryTrafficPercent": 20, "model": {"storageUri": v2}}}})
        split = [{"latestRevision": True, "percent": 20},
                 {"revisionName": "revision-v1", "latestRevision": False, "percent": 80,
                  "tag": "prev"}]

        async def traffic_is(expected: Any) -> bool:
            return bool(await _traffic(kube_client, pred, ns) == expected)

        await eventually(lambda: traffic_is(split))
        got = await ksvc(kube_client, pred, ns)
        assert got["spec"]["template"]["metadata"]["annotations"][
            "internal.serving.kserve.io/storage-initializer-sourceuri"] == v2
        await ksvc_status(kube_client, pred, ns, revision="revision-v2", url=url,
                          conditions=[{"type": "Ready", "status": "True"}])

        async def latest_ready(rev: str) -> Any:
            comp = await _predictor_status(kube_client, name, ns)
            return comp if comp.get("latestReadyRevision") == rev else None

        comp = await eventually(lambda: latest_ready("revision-v2"))
        assert comp["latestRolledoutRevision"] == "revision-v1"

        # roll out: the canary percent removed
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {
            "canaryTrafficPercent": None}}})
        await eventually(lambda: traffic_is([{"latestRevision": True, "percent": 100}]))
        await ksvc_status(kube_client, pred, ns, revision="revision-v2", url=url,
                          conditions=[{"type": "Ready", "status": "True"}],
                          traffic=[{"latestRevision": True, "revisionName": "revision-v2",
                                    "percent": 100}])
        comp = await eventually(lambda: rolled_out("revision-v2"))
        assert comp["previousRolledoutRevision"] == "revision-v1"


async def test_canary_tag_routing_and_rollback(envtest: Any, kube_client: AsyncClient,
                                               namespace: str, crds: None) -> None:
    """``serving.kserve.io/enable-tag-routing``: the targets are tagged ``latest``/``prev``;
    a canary at 100 % drops the ``prev`` target and, once Knative serves revision-v2 at
    100 %, rolls it out; rolling back (canary 0) returns the traffic to revision-v1 through
    ``PropagateStatus``'s rollback case."""
    ns, name = namespace, "tagged"
    pred = f"{name}-predictor"
    async with knative_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns,
                         "annotations": {"serving.kserve.io/enable-tag-routing": "true"}},
            "spec": {"predictor": {"tensorflow": {
                "storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}}))

        async def traffic_is(expected: Any) -> bool:
            return bool(await _traffic(kube_client, pred, ns) == expected)

        await eventually(lambda: traffic_is([{"latestRevision": True, "percent": 100,
                                              "tag": "latest"}]))
        url = component_url("predictor", name, ns)
        await ksvc_status(kube_client, pred, ns, revision="revision-v1", url=url,
                          traffic=[{"latestRevision": True, "revisionName": "revision-v1",
                                    "percent": 100, "tag": "latest"}])
        await eventually(lambda: _rolled(kube_client, name, ns, "revision-v1"))
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {
            "canaryTrafficPercent": 30, "model": {"storageUri": x.STORAGE_URI + "/v2"}}}})
        await eventually(lambda: traffic_is([
            {"latestRevision": True, "percent": 30, "tag": "latest"},
            {"revisionName": "revision-v1", "latestRevision": False, "percent": 70,
             "tag": "prev"}]))
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {
            "canaryTrafficPercent": 100}}})
        await eventually(lambda: traffic_is([{"latestRevision": True, "percent": 100,
                                              "tag": "latest"}]))
        # Knative: revision-v2 ready and serving everything -> rolled out, v1 the previous
        await ksvc_status(kube_client, pred, ns, revision="revision-v2", url=url,
                          traffic=[{"latestRevision": True, "revisionName": "revision-v2",
                                    "percent": 100, "tag": "latest"}])
        await eventually(lambda: _rolled(kube_client, name, ns, "revision-v2"))
        assert (await _predictor_status(kube_client, name, ns))[
            "previousRolledoutRevision"] == "revision-v1"
        # rollback: canary 0 keeps the latest target at 0 % and the rolled-out revision at
        # 100 %; once Knative reports that split, the previous revision is the rolled-out
        # one again and gets the traffic
        await patch_isvc(kube_client, name, ns, {"spec": {"predictor": {
            "canaryTrafficPercent": 0}}})
        await eventually(lambda: traffic_is([
            {"latestRevision": True, "percent": 0, "tag": "latest"},
            {"revisionName": "revision-v2", "latestRevision": False, "percent": 100,
             "tag": "prev"}]))
        await ksvc_status(kube_client, pred, ns, revision="revision-v2", url=url, traffic=[
            {"latestRevision": True, "revisionName": "revision-v2", "percent": 0,
             "tag": "latest"},
            {"latestRevision": False, "revisionName": "revision-v2", "percent": 100,
             "tag": "prev"}])
        await eventually(lambda: _rolled(kube_client, name, ns, "revision-v1"))
        await eventually(lambda: traffic_is([
            {"latestRevision": True, "percent": 0, "tag": "latest"},
            {"revisionName": "revision-v1", "latestRevision": False, "percent": 100,
             "tag": "prev"}]))


async def _rolled(kube: AsyncClient, name: str, ns: str, rev: str) -> bool:
    return (await _predictor_status(kube, name, ns)).get("latestRolledoutRevision") == rev


# --------------------------------------------------------------------------- V21


async def test_v21_multi_model_config_map(envtest: Any, kube_client: AsyncClient,
                                          namespace: str, crds: None) -> None:
    """An sklearn predictor without a storage URI (multi-model) in Knative mode:
    ``modelconfig-<isvc>-0`` is created, owned by the InferenceService, and the agent
    annotations reach the revision template."""
    from lightkube.resources.core_v1 import ConfigMap

    ns, name = namespace, "bar"
    async with knative_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(
            _sklearn_runtime("kserve-sklearnserver", ns)))
        await run.client.create(defaulted({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3,
                                   "sklearn": {"runtimeVersion": "1.14.0"}}}}))
        cm = await eventually(lambda: get(kube_client, ConfigMap, f"modelconfig-{name}-0", ns))
        assert cm.metadata.ownerReferences[0].name == name
        assert cm.data == {"models.json": "[]"}
        got = await ksvc(kube_client, f"{name}-predictor", ns)
        annotations = got["spec"]["template"]["metadata"]["annotations"]
        assert annotations["internal.serving.kserve.io/agent"] == "true"
        assert annotations["internal.serving.kserve.io/configVolumeName"] == \
            f"modelconfig-{name}-0"


def _sklearn_runtime(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"supportedModelFormats": [{"name": "sklearn", "version": "1",
                                                "autoSelect": True}],
                     "multiModel": False,
                     "containers": [{"name": "kserve-container",
                                     "image": "kserve/sklearnserver:latest",
                                     "args": ["--model_name={{.Name}}", "--http_port=8080"],
                                     "resources": DEFAULT_RESOURCES}]}}


_ = (ISVC, VirtualService)
