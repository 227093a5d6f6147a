"""The InferenceGraph controller on a real kube-apiserver (envtest): upstream's
``inferencegraph/controller_test.go`` Standard-mode and stop cases, vectors V27/V28 as full
objects, the InferenceService watch (a graph becomes Ready when the services it names do,
with no error loop), bad input (missing InferenceService, Splitter weights, Knative not
served) and a no-op reconcile costing 0 API requests.

envtest has no kube-controller-manager: the tests set the router Deployment's status and the
InferenceServices' status by hand (the InferenceService controller is not part of this
test; it is written separately)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Service
from lightkube.resources.events_v1 import Event
from lightkube.types import PatchType

from apis.serving.v1alpha1.inference_graph import InferenceGraph
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferencegraph import controller as igc
from runtime.manager import Manager
from runtime.reconcile import Request
from runtime.testing.eventually import eventually
from runtime.testing.manager import started
from runtime.testing.metrics import quiet, reconcile_errors, reconcile_total, requests_total

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

ROUTER = {
    "image": "kserve/router:v0.10.0",
    "memoryRequest": "100Mi",
    "memoryLimit": "500Mi",
    "cpuRequest": "100m",
    "cpuLimit": "100m",
    "headers": {"propagate": ["Authorization", "Intuit_tid"]},
}
CONFIG = {
    "router": json.dumps(ROUTER),
    "ingress": json.dumps({
        "kserveIngressGateway": "kserve/kserve-ingress-gateway",
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "localGateway": "knative-serving/knative-local-gateway",
        "localGatewayService": "knative-local-gateway.istio-system.svc.cluster.local",
    }),
}
SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
}
READINESS = {
    "failureThreshold": 3,
    "httpGet": {"path": "/readyz", "port": 8080, "scheme": "HTTP"},
    "initialDelaySeconds": 5,
    "periodSeconds": 5,
    "successThreshold": 1,
    "timeoutSeconds": 2,
}


def reconcile_count(result: str = "success") -> float:
    return reconcile_total("inferencegraph", result)


def errors_count() -> float:
    return reconcile_errors("inferencegraph")


@asynccontextmanager
async def running(envtest: Any, namespace: str, kube: AsyncClient,
                  config: dict[str, str] | None = CONFIG) -> AsyncIterator[Manager]:
    if config is not None:
        await kube.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME,
                                                        namespace=namespace), data=config))
    mgr = Manager(str(envtest.kubeconfig_path), metrics_bind_address="0",
                  health_probe_bind_address="0")
    mgr.config_source = ConfigSource(mgr.client, namespace)  # type: ignore[attr-defined]
    igc.setup(mgr, mgr.config_source)  # type: ignore[attr-defined]
    async with started(mgr):
        yield mgr


def graph(name: str, ns: str, *, mode: str = "Standard", spec: dict[str, Any] | None = None,
          annotations: dict[str, str] | None = None) -> InferenceGraph:
    anns = {"serving.kserve.io/deploymentMode": mode, **(annotations or {})}
    return InferenceGraph.model_validate({
        "metadata": {"name": name, "namespace": ns, "annotations": anns},
        "spec": spec or {"nodes": {"root": {"routerType": "Sequence", "steps": [
            {"serviceUrl": "http://someservice.example.com"}]}}},
    })


async def get(kube: AsyncClient, kind: Any, name: str, ns: str) -> Any:
    try:
        return await kube.get(kind, name, namespace=ns)
    except Exception:
        return None


async def ig_status(mgr: Manager, name: str, ns: str) -> Any:
    g = await mgr.client.api_reader.get(InferenceGraph, name, ns)
    return g.status


def cond(status: Any, ctype: str) -> Any:
    return next((c for c in (status.conditions if status else None) or [] if c.type == ctype),
                None)


async def set_available(kube: AsyncClient, name: str, ns: str, value: str,
                        reason: str = "MinimumReplicasAvailable") -> None:
    await kube.patch(Deployment.Status, name, {"status": {"conditions": [{
        "type": "Available", "status": value, "reason": reason,
        "message": f"Deployment is {'' if value == 'True' else 'not '}available"}]}},
        namespace=ns, patch_type=PatchType.MERGE)


async def events(kube: AsyncClient, ns: str, name: str, reason: str) -> list[Any]:
    return [e async for e in kube.list(Event, namespace=ns)
            if e.reason == reason and e.regarding.name == name]


# ---------------------------------------------------------------------------------------------


async def test_standard_router_objects_and_status_v27_v28(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """V28: Raw-mode Deployment + Service podspec (--graph-json, /readyz); V27: the router
    config's headers.propagate -> PROPAGATE_HEADERS, spec resources/affinity/tolerations/node
    fields propagate; HPA by default class; Ready only when Available is True."""
    spec = {
        "nodes": {"root": {"routerType": "Sequence", "steps": [
            {"serviceUrl": "http://someservice.example.com"}]}},
        "resources": {"limits": {"cpu": "123m", "memory": "123Mi"},
                      "requests": {"cpu": "123m", "memory": "123Mi"}},
        "tolerations": [{"key": "key1", "operator": "Equal", "value": "value1",
                         "effect": "NoSchedule"}],
        "affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [{
                "key": "serving.kserve.io/inferencegraph", "operator": "In",
                "values": ["igraw1"]}]}, "topologyKey": "topology.kubernetes.io/zone"}}]}},
        "nodeSelector": {"disk": "ssd"},
        "serviceAccountName": "router-sa",
        "minReplicas": 2,
        "maxReplicas": 5,
    }
    async with running(envtest, namespace, kube_client) as mgr:
        await mgr.client.create(graph("igraw1", namespace, spec=spec))
        dep = await eventually(lambda: get(kube_client, Deployment, "igraw1", namespace))
        svc = await eventually(lambda: get(kube_client, Service, "igraw1", namespace))
        hpa = await eventually(lambda: get(kube_client, HorizontalPodAutoscaler, "igraw1",
                                           namespace))
        g = await mgr.client.api_reader.get(InferenceGraph, "igraw1", namespace)

        owner = [{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
                  "name": "igraw1", "uid": g.metadata.uid, "controller": True,
                  "blockOwnerDeletion": True}]
        labels = {"serving.kserve.io/inferencegraph": "igraw1", "app": "isvc.igraw1"}
        d = dep.to_dict()
        assert d["metadata"]["labels"] == labels
        assert d["metadata"]["ownerReferences"] == owner
        assert d["spec"]["selector"] == {"matchLabels": {"app": "isvc.igraw1"}}
        assert "replicas" not in d["spec"] or d["spec"]["replicas"] == 1  # HPA owns it
        pod = d["spec"]["template"]["spec"]
        graph_json = (
            '{"nodes":{"root":{"routerType":"Sequence","steps":[{"serviceUrl":'
            '"http://someservice.example.com"}]}},"resources":{"limits":{"cpu":"123m",'
            '"memory":"123Mi"},"requests":{"cpu":"123m","memory":"123Mi"}},"affinity":'
            '{"podAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,'
            '"podAffinityTerm":{"labelSelector":{"matchExpressions":[{"key":'
            '"serving.kserve.io/inferencegraph","operator":"In","values":["igraw1"]}]},'
            '"topologyKey":"topology.kubernetes.io/zone"}}]}},"minReplicas":2,"maxReplicas":5,'
            '"tolerations":[{"key":"key1","operator":"Equal","value":"value1",'
            '"effect":"NoSchedule"}],"nodeSelector":{"disk":"ssd"},'
            '"serviceAccountName":"router-sa"}'
        )
        assert pod["containers"] == [{
            "name": "igraw1",
            "image": "kserve/router:v0.10.0",
            "imagePullPolicy": "IfNotPresent",
            "args": ["--graph-json", graph_json],
            "env": [{"name": "PROPAGATE_HEADERS", "value": "Authorization,Intuit_tid"}],
            "resources": {"limits": {"cpu": "123m", "memory": "123Mi"},
                          "requests": {"cpu": "123m", "memory": "123Mi"}},
            "readinessProbe": READINESS,
            "securityContext": SECURITY_CONTEXT,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }]
        assert pod["automountServiceAccountToken"] is False
        assert pod["tolerations"] == spec["tolerations"]
        assert pod["affinity"] == spec["affinity"]
        assert pod["nodeSelector"] == {"disk": "ssd"}
        assert pod["serviceAccountName"] == "router-sa"
        assert "imagePullSecrets" not in pod
        s = svc.to_dict()
        assert s["metadata"]["ownerReferences"] == owner
        assert s["spec"]["selector"] == {"app": "isvc.igraw1"}
        assert s["spec"]["ports"] == [{"name": "igraw1", "port": 80, "protocol": "TCP",
                                       "targetPort": 8080}]
        h = hpa.to_dict()
        assert h["metadata"]["ownerReferences"] == owner
        assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (2, 5)
        assert h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": "igraw1"}

        # No Available condition yet: Ready False (upstream: error + requeue), mode recorded.
        st = await eventually(lambda: ig_status(mgr, "igraw1", namespace))
        assert st.deployment_mode == "Standard"
        assert cond(st, "Ready").status == "False"
        assert cond(st, "Ready").reason == "DeploymentNotAvailable"
        assert cond(st, "Stopped").status == "False"
        assert st.url is None

        # Available False: still not Ready (upstream quirk 7: Ready True here).
        await set_available(kube_client, "igraw1", namespace, "False",
                            "MinimumReplicasUnavailable")

        async def ready_reason() -> str | None:
            c = cond(await ig_status(mgr, "igraw1", namespace), "Ready")
            return c.reason if c else None

        assert await eventually(lambda: _eq(ready_reason(), "MinimumReplicasUnavailable"))
        # Available True: Ready, url, observedGeneration, Normal event.
        await set_available(kube_client, "igraw1", namespace, "True")

        async def ready() -> Any:
            s = await ig_status(mgr, "igraw1", namespace)
            return s if cond(s, "Ready") and cond(s, "Ready").status == "True" else None

        st = await eventually(ready)
        assert st.url == f"http://igraw1-{namespace}.example.com"
        assert st.observed_generation == g.metadata.generation
        assert [(c.type, c.status) for c in st.conditions] == [("Ready", "True"),
                                                                ("Stopped", "False")]
        ev = await eventually(lambda: events(kube_client, namespace, "igraw1",
                                             "InferenceGraphReady"))
        assert ev[0].type == "Normal"


async def _eq(aw: Any, want: Any) -> bool:
    return bool(await aw == want)


async def test_stop_raw(envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """Upstream's four Raw stop cases in one graph lifecycle, plus a graph created stopped."""
    async with running(envtest, namespace, kube_client) as mgr:
        # created stopped: nothing is created, Stopped True, Ready False Stopped
        await mgr.client.create(graph("stopped", namespace,
                                      annotations={"serving.kserve.io/stop": "true"}))

        async def stopped_status(name: str) -> Any:
            s = await ig_status(mgr, name, namespace)
            c = cond(s, "Stopped")
            return s if c is not None and c.status == "True" else None

        st = await eventually(lambda: stopped_status("stopped"))
        assert [(c.type, c.status, c.reason) for c in st.conditions] == [
            ("Stopped", "True", None), ("Ready", "False", "Stopped")]
        assert st.url is None
        await anyio.sleep(0.5)
        assert await get(kube_client, Deployment, "stopped", namespace) is None
        assert await get(kube_client, Service, "stopped", namespace) is None

        # running graph, ready; then stop -> workload deleted; resume -> recreated
        await mgr.client.create(graph("live", namespace,
                                      annotations={"serving.kserve.io/stop": "false"}))
        await eventually(lambda: get(kube_client, Deployment, "live", namespace))
        await set_available(kube_client, "live", namespace, "True")

        async def is_ready(name: str) -> bool:
            c = cond(await ig_status(mgr, name, namespace), "Ready")
            return c is not None and c.status == "True"

        await eventually(lambda: is_ready("live"))
        await mgr.client.patch(InferenceGraph, "live", {"metadata": {"annotations": {
            "serving.kserve.io/stop": "true"}}}, namespace=namespace)
        for kind in (Deployment, Service, HorizontalPodAutoscaler):
            await eventually(lambda k=kind: _none(get(kube_client, k, "live", namespace)))
        st = await eventually(lambda: stopped_status("live"))
        assert cond(st, "Ready").reason == "Stopped" and st.url is None
        await eventually(lambda: events(kube_client, namespace, "live",
                                        "InferenceGraphNotReady"))

        await mgr.client.patch(InferenceGraph, "live", {"metadata": {"annotations": {
            "serving.kserve.io/stop": "false"}}}, namespace=namespace)
        await eventually(lambda: get(kube_client, Deployment, "live", namespace))
        await eventually(lambda: get(kube_client, Service, "live", namespace))
        await set_available(kube_client, "live", namespace, "True")
        await eventually(lambda: is_ready("live"))
        st = await ig_status(mgr, "live", namespace)
        assert cond(st, "Stopped").status == "False"


async def _none(aw: Any) -> bool:
    return await aw is None


async def test_graph_waits_for_inference_services_without_error_loop(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """A Sequence over two InferenceServices: missing -> Ready False InferenceServiceNotFound
    + Warning event; created without an address -> InferenceServiceNotReady; addresses set
    -> the router runs with the resolved serviceUrls (v1 and v2 paths, model name from
    args). No reconcile error at any point; nothing polls."""
    spec = {"nodes": {"root": {"routerType": "Sequence", "steps": [
        {"name": "one", "serviceName": "isvc-a"},
        {"name": "two", "serviceName": "isvc-b", "data": "$response"},
    ]}}}
    errors_before = errors_count()
    async with running(envtest, namespace, kube_client) as mgr:
        await mgr.client.create(graph("seq", namespace, spec=spec))

        async def reason() -> str | None:
            c = cond(await ig_status(mgr, "seq", namespace), "Ready")
            return c.reason if c else None

        assert await eventually(lambda: _eq(reason(), "InferenceServiceNotFound"))
        st = await ig_status(mgr, "seq", namespace)
        assert cond(st, "Ready").message == ('InferenceService "isvc-a" not found; '
                                             'InferenceService "isvc-b" not found')
        ev = await eventually(lambda: events(kube_client, namespace, "seq",
                                             "InferenceServiceNotFound"))
        assert ev[0].type == "Warning"
        # waiting costs no reconciles: once the status write's own event is done, nothing
        # requeues
        await quiet()
        settled = reconcile_count()
        await anyio.sleep(1.0)
        assert reconcile_count() == settled
        assert await get(kube_client, Deployment, "seq", namespace) is None

        for name, predictor in (
            ("isvc-a", {"sklearn": {"storageUri": "gs://bucket/a"}}),
            ("isvc-b", {"model": {"modelFormat": {"name": "xgboost"}, "protocolVersion": "v2",
                                  "storageUri": "gs://bucket/b",
                                  "args": ["--model_name", "bee"]}}),
        ):
            await mgr.client.create(InferenceService.model_validate({
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"predictor": predictor}}))
        assert await eventually(lambda: _eq(reason(), "InferenceServiceNotReady"))
        for name in ("isvc-a", "isvc-b"):
            await mgr.client.patch_status(InferenceService, name, {"status": {
                "address": {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"},
                "conditions": [{"type": "Ready", "status": "True"}]}}, namespace=namespace)
        dep = await eventually(lambda: get(kube_client, Deployment, "seq", namespace))
        args = dep.spec.template.spec.containers[0].args
        assert args[1] == (
            '{"nodes":{"root":{"routerType":"Sequence","steps":[{"name":"one","serviceName":'
            f'"isvc-a","serviceUrl":"http://isvc-a-predictor.{namespace}.svc.cluster.local'
            '/v1/models/isvc-a:predict"},{"name":"two","serviceName":"isvc-b","serviceUrl":'
            f'"http://isvc-b-predictor.{namespace}.svc.cluster.local/v2/models/bee/infer",'
            '"data":"$response"}]}},"resources":{}}'
        )
        await set_available(kube_client, "seq", namespace, "True")
        assert await eventually(lambda: _eq(reason(), None))
        assert cond(await ig_status(mgr, "seq", namespace), "Ready").status == "True"
    assert errors_count() == errors_before


async def test_bad_input_conditions_events_no_crash(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """Splitter weights not summing to 100 (the webhook's job, bypassed here), Knative mode
    without Knative served (upstream: ServerlessModeRejected + terminal error), a bad
    autoscaler class: each a Ready False condition and a Warning event; the controller keeps
    serving other graphs."""
    async with running(envtest, namespace, kube_client) as mgr:
        await mgr.client.create(graph("split", namespace, spec={"nodes": {"root": {
            "routerType": "Splitter", "steps": [
                {"serviceUrl": "http://a.example.com", "weight": 30},
                {"serviceUrl": "http://b.example.com", "weight": 30}]}}}))
        await mgr.client.create(graph("kn", namespace, mode="Knative"))
        await mgr.client.create(graph("badclass", namespace, annotations={
            "serving.kserve.io/autoscalerClass": "fancy"}))
        await mgr.client.create(graph("fine", namespace))

        async def ready(name: str) -> Any:
            return cond(await ig_status(mgr, name, namespace), "Ready")

        c = await eventually(lambda: ready("split"))
        assert (c.status, c.reason) == ("False", "InvalidSpec")
        assert "weights" in c.message.lower() or "100" in c.message
        c = await eventually(lambda: ready("kn"))
        assert (c.status, c.reason) == ("False", "ServerlessModeRejected")
        st = await ig_status(mgr, "kn", namespace)
        assert st.deployment_mode == "Knative"
        c = await eventually(lambda: ready("badclass"))
        assert (c.status, c.reason) == ("False", "InvalidAutoscalerClass")
        assert c.message == "unknown autoscaler class type: fancy"
        for name, reason in (("split", "InvalidSpec"), ("kn", "ServerlessModeRejected"),
                             ("badclass", "InvalidAutoscalerClass")):
            ev = await eventually(lambda n=name, r=reason: events(kube_client, namespace, n, r))
            assert ev[0].type == "Warning"
        assert await get(kube_client, Deployment, "split", namespace) is None
        assert await get(kube_client, Deployment, "badclass", namespace) is None
        # the others did not stop the controller
        await eventually(lambda: get(kube_client, Deployment, "fine", namespace))
        # Knative rejected is terminal: no retry loop (a backoff loop would add errors at
        # 5 ms, 10 ms, 20 ms...; one more from an event already in flight, e.g. the graph's
        # own status write, is not a loop)
        terminal = reconcile_count("error")
        await anyio.sleep(2.0)
        assert reconcile_count("error") <= terminal + 1


async def test_noop_reconcile_makes_no_requests(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    async with running(envtest, namespace, kube_client) as mgr:
        await mgr.client.create(graph("quiet", namespace))
        await eventually(lambda: get(kube_client, Deployment, "quiet", namespace))
        await set_available(kube_client, "quiet", namespace, "True")

        async def ready() -> bool:
            c = cond(await ig_status(mgr, "quiet", namespace), "Ready")
            return c is not None and c.status == "True"

        await eventually(ready)
        await quiet()  # the last status write came back through the cache, events are sent
        # a fresh reconciler: no memory of what was applied, compare with the cache only
        rec = igc.InferenceGraphReconciler(mgr, mgr.config_source)  # type: ignore[attr-defined]
        # any discovery ("is this kind served?") would now be a request: none may happen
        mgr.rest_mapper.refresh_interval = 0.0
        before = requests_total()
        assert before > 0
        for _ in range(3):
            await rec.reconcile(Request(namespace, "quiet"))
        assert requests_total() - before == 0
        # the counter does count: the controller restores a Service deleted behind its back
        old = await get(kube_client, Service, "quiet", namespace)
        await kube_client.delete(Service, "quiet", namespace=namespace)

        async def restored() -> bool:
            svc = await get(kube_client, Service, "quiet", namespace)
            return svc is not None and svc.metadata.uid != old.metadata.uid

        await eventually(restored)
        assert requests_total() > before


async def test_autoscaler_classes(envtest: Any, kube_client: AsyncClient,
                                  namespace: str) -> None:
    """hpa (default) -> an HPA; switching to none deletes the graph's HPA and pins replicas
    to minReplicas; keda without KEDA served -> Ready False with the reason, the router
    still deployed."""
    async with running(envtest, namespace, kube_client) as mgr:
        await mgr.client.create(graph("scaled", namespace, spec={
            "nodes": {"root": {"routerType": "Sequence", "steps": [
                {"serviceUrl": "http://x.example.com"}]}}, "minReplicas": 2, "maxReplicas": 4}))
        await eventually(lambda: get(kube_client, HorizontalPodAutoscaler, "scaled", namespace))
        await mgr.client.patch(InferenceGraph, "scaled", {"metadata": {"annotations": {
            "serving.kserve.io/autoscalerClass": "none"}}}, namespace=namespace)
        await eventually(lambda: _none(get(kube_client, HorizontalPodAutoscaler, "scaled",
                                           namespace)))

        async def replicas() -> int | None:
            d = await get(kube_client, Deployment, "scaled", namespace)
            return d.spec.replicas if d is not None else None

        assert await eventually(lambda: _eq(replicas(), 2))

        await mgr.client.create(graph("keda", namespace, annotations={
            "serving.kserve.io/autoscalerClass": "keda"}))
        await eventually(lambda: get(kube_client, Deployment, "keda", namespace))
        assert await get(kube_client, HorizontalPodAutoscaler, "keda", namespace) is None

        async def keda_reason() -> Any:
            c = cond(await ig_status(mgr, "keda", namespace), "Ready")
            return c.reason if c else None

        assert await eventually(lambda: _eq(keda_reason(), "InvalidAutoscalerClass"))
        c = cond(await ig_status(mgr, "keda", namespace), "Ready")
        assert "ScaledObject kind is not served" in c.message


async def test_config_unavailable_then_config_created(
        envtest: Any, kube_client: AsyncClient, namespace: str) -> None:
    """No inferenceservice-config: Ready False ConfigUnavailable (no crash, no retry loop);
    creating the ConfigMap re-reconciles the graph (the controller watches it)."""
    async with running(envtest, namespace, kube_client, config=None) as mgr:
        await mgr.client.create(graph("early", namespace))

        async def reason() -> Any:
            c = cond(await ig_status(mgr, "early", namespace), "Ready")
            return c.reason if c else None

        assert await eventually(lambda: _eq(reason(), "ConfigUnavailable"))
        await kube_client.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME,
                                                               namespace=namespace),
                                           data=CONFIG))
        await eventually(lambda: get(kube_client, Deployment, "early", namespace))
        assert await eventually(lambda: _eq(reason(), "DeploymentNotAvailable"))
