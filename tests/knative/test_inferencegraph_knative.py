"""An InferenceGraph in Knative mode against Knative Serving's own controller, autoscaler and
webhook (``runtime.testing.knative``): the router's Knative Service is accepted (and
defaulted) by Knative's webhook, becomes Ready because Knative's Revision and its (kwok) pod
do, and the graph's status follows it: Ready with the Knative Service's conditions and url; a
spec change rolls out a second Revision; stop deletes the Knative Service (Ready False
Stopped, no url) and resume brings it back. A no-op reconcile writes nothing, whatever
Knative's webhook defaulted.

The graph's step is a plain ``serviceUrl`` (no InferenceService controller runs here; the
InferenceService side of Knative mode is ``test_isvc_knative_serving.py``). No request
reaches a pod: this tier tests the control plane."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Event, Pod
from lightkube.types import PatchType

from apis.serving.v1alpha1.inference_graph import InferenceGraph
from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferencegraph import controller as igc
from controllers.thirdparty import KnativeService
from runtime.cache import CacheOptions
from runtime.manager import Manager
from runtime.reconcile import Request, Result
from runtime.testing.eventually import eventually
from runtime.testing.metrics import quiet
from tests.integration.isvc_env import (
    diff,
    get,
    requests_by_method,
    shipped_config,
    stored,
    writes,
)

pytestmark = [pytest.mark.anyio]

Revision = create_namespaced_resource("serving.knative.dev", "v1", "Revision", "revisions")
Route = create_namespaced_resource("serving.knative.dev", "v1", "Route", "routes")
Graph = create_namespaced_resource("serving.kserve.io", "v1alpha1", "InferenceGraph",
                                   "inferencegraphs")
"""InferenceGraph for the test's own (lightkube) client."""
READY_WITHIN = 90
ANNOTATION = "serving.kserve.io/deploymentMode"
STOP = "serving.kserve.io/stop"
GRAPH_LABEL = "serving.kserve.io/inferencegraph"
SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                    "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True}
READINESS = {"failureThreshold": 3, "httpGet": {"path": "/readyz", "port": 8080,
                                                "scheme": "HTTP"},
             "initialDelaySeconds": 5, "periodSeconds": 5, "successThreshold": 1,
             "timeoutSeconds": 2}


@asynccontextmanager
async def running(knative_env: Any, kube: AsyncClient, ns: str
                  ) -> AsyncIterator[tuple[Manager, igc.InferenceGraphReconciler]]:
    """The InferenceGraph controller in-process; its config (the shipped one, Standard by
    default: the graphs ask for Knative by annotation) in ``ns``, its cache on ``ns`` and
    ``knative-serving`` (``config-autoscaler``)."""
    await kube.create(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns),
                                data=shipped_config()))
    mgr = Manager(str(knative_env.env.kubeconfig_path), metrics_bind_address="0",
                  health_probe_bind_address="0",
                  cache_options=CacheOptions(default_namespaces=[ns, "knative-serving"]))
    source = ConfigSource(mgr.client, ns)
    igc.setup(mgr, source)
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(lambda: mgr.elected().is_set() and all(
            inf.has_synced() for inf in mgr.cache.informers()), within=30)
        try:
            yield mgr, igc.InferenceGraphReconciler(mgr, source)
        finally:
            mgr.stop()


def nodes(url: str) -> dict[str, Any]:
    return {"root": {"routerType": "Sequence", "steps": [{"serviceUrl": url}]}}


def graph(name: str, ns: str, url: str) -> InferenceGraph:
    return InferenceGraph.model_validate({
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
        "metadata": {"name": name, "namespace": ns, "annotations": {ANNOTATION: "Serverless"}},
        "spec": {"nodes": nodes(url)}})


async def obj(kube: AsyncClient, kind: Any, name: str, ns: str) -> dict[str, Any] | None:
    got = await get(kube, kind, name, ns)
    return dict(got.to_dict()) if got is not None else None


def conditions(o: dict[str, Any] | None) -> dict[str, str]:
    return {c["type"]: c["status"]
            for c in ((o or {}).get("status") or {}).get("conditions") or ()}


async def ig_status(kube: AsyncClient, name: str, ns: str) -> dict[str, Any]:
    """The graph's stored status, condition times dropped."""
    got = await kube.get(Graph, name, namespace=ns)
    status = json.loads(json.dumps(got.to_dict().get("status") or {}))
    for c in status.get("conditions") or ():
        c.pop("lastTransitionTime", None)
    return dict(status)


async def eventually_status(kube: AsyncClient, name: str, ns: str, expected: dict[str, Any],
                            within: float = READY_WITHIN) -> None:
    last: Any = None

    async def same() -> bool:
        nonlocal last
        last = await ig_status(kube, name, ns)
        return bool(last == expected)

    try:
        await eventually(same, within=within, interval=0.3)
    except TimeoutError:
        raise AssertionError(f"{name}: status differs:\n{diff(last, expected)}") from None


def ready_status(name: str, ns: str, generation: int) -> dict[str, Any]:
    """What the graph's status is once its Knative Service is Ready: the Knative Service's
    conditions, Stopped False, its url."""
    return {
        "conditions": [
            {"type": "ConfigurationsReady", "status": "True"},
            {"type": "Ready", "status": "True"},
            {"type": "RoutesReady", "status": "True"},
            {"type": "Stopped", "status": "False"},
        ],
        "url": f"http://{name}.{ns}.example.com",
        "observedGeneration": generation,
        "deploymentMode": "Knative",
    }


def expected_ksvc(name: str, ns: str, url: str,
                  annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """The router's Knative Service as stored: what the controller sends (the shipped
    router config, KPA annotations, the graph's labels) plus what Knative's webhook defaults
    (the container's name, timeoutSeconds, containerConcurrency, enableServiceLinks,
    the 100 % latest-revision traffic target, the creator/last-modifier annotations naming
    the kubeconfig's user, whose request the webhook saw)."""
    graph_json = json.dumps({"nodes": nodes(url), "resources": {}}, separators=(",", ":"))
    return {
        "metadata": {
            "name": name, "namespace": ns,
            "annotations": {"serving.knative.dev/creator": "envtest-admin",
                            "serving.knative.dev/lastModifier": "envtest-admin"},
            "ownerReferences": [{"apiVersion": "serving.kserve.io/v1alpha1",
                                 "kind": "InferenceGraph", "name": name, "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": {
            "template": {
                "metadata": {
                    "creationTimestamp": None,  # Go's zero time, as Knative's webhook writes it
                    "labels": {GRAPH_LABEL: name, "serving.kserve.io/kind": "InferenceGraph"},
                    "annotations": {ANNOTATION: "Serverless", **(annotations or {}),
                                    "autoscaling.knative.dev/class":
                                        "kpa.autoscaling.knative.dev",
                                    "autoscaling.knative.dev/min-scale": "1"},
                },
                "spec": {
                    "containers": [{
                        "name": "user-container",
                        "image": "kserve/router:latest",
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["--graph-json", graph_json],
                        "readinessProbe": READINESS,
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                      "requests": {"cpu": "100m", "memory": "100Mi"}},
                        "securityContext": SECURITY_CONTEXT,
                    }],
                    "automountServiceAccountToken": False,
                    "containerConcurrency": 0,
                    "enableServiceLinks": False,
                    "timeoutSeconds": 300,
                },
            },
            "traffic": [{"latestRevision": True, "percent": 100}],
        },
    }


async def assert_ksvc(kube: AsyncClient, name: str, ns: str, url: str,
                      annotations: dict[str, str] | None = None) -> None:
    got = await stored(kube, KnativeService, name, ns)
    expected = expected_ksvc(name, ns, url, annotations)
    assert got == expected, diff(got, expected)


async def patch(kube: AsyncClient, name: str, ns: str, body: dict[str, Any]) -> None:
    await kube.patch(Graph, name, body, namespace=ns, patch_type=PatchType.MERGE)


async def graph_events(kube: AsyncClient, ns: str, name: str) -> list[tuple[str, str]]:
    """(type, reason) of the graph's Events (core/v1: kcm's events.k8s.io Events in the
    namespace have no eventTime, which the events/v1 model refuses)."""
    return [(e.type or "", e.reason or "") async for e in kube.list(Event, namespace=ns)
            if e.involvedObject.name == name and e.involvedObject.kind == "InferenceGraph"]


async def revision_pods(kube: AsyncClient, ns: str, revision: str) -> list[Pod]:
    return [p async for p in kube.list(Pod, namespace=ns,
                                       labels={"serving.knative.dev/revision": revision})]


def running_and_ready(pods: list[Pod]) -> bool:
    return len(pods) == 1 and all(
        p.status is not None and p.status.phase == "Running"
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or ())
        for p in pods)


async def test_graph_ready_because_knative_is(knative_env: Any, knative_client: AsyncClient,
                                              knative_namespace: str) -> None:
    kube, ns, name = knative_client, knative_namespace, "ig-seq"
    url1, url2 = "http://first.example.com", "http://second.example.com"
    rev1, rev2 = f"{name}-00001", f"{name}-00002"
    async with running(knative_env, kube, ns) as (mgr, reconciler):
        await mgr.client.create(graph(name, ns, url1))
        await eventually_status(kube, name, ns, ready_status(name, ns, 1))

        # Ready because Knative's objects are: its Service, Route, Revision, and the pod
        ksvc = await obj(kube, KnativeService, name, ns)
        assert conditions(ksvc) == {"ConfigurationsReady": "True", "Ready": "True",
                                    "RoutesReady": "True"}
        assert ksvc is not None and ksvc["status"]["url"] == f"http://{name}.{ns}.example.com"
        assert ksvc["status"]["latestReadyRevisionName"] == rev1
        assert ksvc["status"]["traffic"] == [
            {"revisionName": rev1, "latestRevision": True, "percent": 100}]
        await assert_ksvc(kube, name, ns, url1)
        revision = await obj(kube, Revision, rev1, ns)
        assert conditions(revision) == {"Active": "True", "ContainerHealthy": "True",
                                        "Ready": "True", "ResourcesAvailable": "True"}
        assert revision is not None
        assert revision["metadata"]["labels"][GRAPH_LABEL] == name
        assert revision["spec"]["containers"][0]["args"] == ["--graph-json", json.dumps(
            {"nodes": nodes(url1), "resources": {}}, separators=(",", ":"))]
        pods = await revision_pods(kube, ns, rev1)
        assert running_and_ready(pods), [p.to_dict().get("status") for p in pods]
        pod = pods[0].to_dict()
        assert pod["metadata"]["labels"][GRAPH_LABEL] == name
        assert [c["name"] for c in pod["spec"]["containers"]] == ["user-container",
                                                                  "queue-proxy"]
        assert conditions(await obj(kube, Route, name, ns))["Ready"] == "True"
        assert await eventually(lambda: graph_events(kube, ns, name)) == [
            ("Normal", "InferenceGraphReady")]

        # a no-op reconcile writes nothing (Knative's defaults are not fought over)
        await quiet()
        before = requests_by_method()
        for _ in range(3):
            assert await reconciler.reconcile(Request(ns, name)) == Result()
        after = requests_by_method()
        assert writes(after) - writes(before) == 0, (before, after)

        # a spec change: Knative rolls out a second Revision, the graph follows
        await patch(kube, name, ns, {"spec": {"nodes": nodes(url2)}})
        await eventually_status(kube, name, ns, ready_status(name, ns, 2))
        ksvc = await obj(kube, KnativeService, name, ns)
        assert ksvc is not None and ksvc["status"]["latestReadyRevisionName"] == rev2
        assert ksvc["status"]["traffic"] == [
            {"revisionName": rev2, "latestRevision": True, "percent": 100}]
        await assert_ksvc(kube, name, ns, url2)
        assert conditions(await obj(kube, Revision, rev2, ns))["Ready"] == "True"
        assert running_and_ready(await revision_pods(kube, ns, rev2))

        # stop: the Knative Service goes (its Revisions with it), Ready False Stopped
        await patch(kube, name, ns, {"metadata": {"annotations": {STOP: "true"}}})

        async def knative_gone() -> bool:
            return await get(kube, KnativeService, name, ns) is None and \
                await get(kube, Revision, rev2, ns) is None

        await eventually(knative_gone, within=60)
        await eventually_status(kube, name, ns, {
            "conditions": [{"type": "Stopped", "status": "True"},
                           {"type": "Ready", "status": "False", "reason": "Stopped"}],
            "observedGeneration": 2, "deploymentMode": "Knative"}, within=30)

        # resume: a new Knative Service, Ready again because Knative says so
        await patch(kube, name, ns, {"metadata": {"annotations": {STOP: "false"}}})
        await eventually_status(kube, name, ns, ready_status(name, ns, 2))
        ksvc = await obj(kube, KnativeService, name, ns)
        assert conditions(ksvc)["Ready"] == "True"
        assert ksvc is not None and ksvc["status"]["latestReadyRevisionName"] == rev1
        # the graph's annotations go to the template, the stop one too (as upstream)
        await assert_ksvc(kube, name, ns, url2, {STOP: "false"})

        async def one_pod_running() -> bool:
            # the first incarnation's pods of the same revision name may still be going
            return running_and_ready(await revision_pods(kube, ns, rev1))

        await eventually(one_pod_running, within=60)
        # (a repeated event is counted in the first one's series, not a second Event)
        assert sorted(set(await graph_events(kube, ns, name))) == [
            ("Normal", "InferenceGraphReady"), ("Warning", "InferenceGraphNotReady")]
        assert not knative_env.exited_components()
