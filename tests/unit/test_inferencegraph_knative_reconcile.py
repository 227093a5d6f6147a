"""The InferenceGraph reconciler's Knative branch over the fake client (envtest serves no
Knative): upstream's "stop Knative" cases (a stopped graph creates no Knative Service;
stopping deletes it; resuming recreates it), the status copied from the Knative Service
(conditions, url while Ready), a no-op reconcile writing nothing, and Knative not served ->
ServerlessModeRejected as a terminal error."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1alpha1.inference_graph import InferenceGraph
from controllers.config import CONFIG_MAP_NAME, ConfigSource
from controllers.inferencegraph.controller import InferenceGraphReconciler
from controllers.inferencegraph.knative_ig import KnativeService
from runtime.reconcile import Request, TerminalError
from runtime.testing.fake_client import FakeClient

pytestmark = pytest.mark.anyio

NS = "ns"
ROUTER = {"image": "kserve/router:v0.10.0", "memoryRequest": "100Mi", "memoryLimit": "500Mi",
          "cpuRequest": "100m", "cpuLimit": "100m"}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def event(self, regarding: Any, type: str, reason: str, action: str, note: str = "",
              **_: Any) -> None:
        self.events.append((type, reason))


class Informer:
    def __init__(self, group: str, kind: str) -> None:
        self.info = SimpleNamespace(group=group, kind=kind)


def setup(*, knative: bool) -> tuple[FakeClient, InferenceGraphReconciler, Recorder]:
    client = FakeClient(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=NS),
                                  data={"router": json.dumps(ROUTER)}))

    async def not_served(_: Any) -> bool:
        return False

    client.is_served = not_served  # type: ignore[attr-defined]
    recorder = Recorder()
    informers = [Informer("serving.knative.dev", "Service")] if knative else []
    mgr = SimpleNamespace(client=client, cache=SimpleNamespace(informers=lambda: informers),
                          get_event_recorder=lambda _: recorder)
    rec = InferenceGraphReconciler(mgr, ConfigSource(client, NS), env={})
    return client, rec, recorder


def graph(stop: str | None = None) -> InferenceGraph:
    anns = {"serving.kserve.io/deploymentMode": "Serverless"}  # the legacy name: Knative
    if stop is not None:
        anns["serving.kserve.io/stop"] = stop
    return InferenceGraph.model_validate({
        "metadata": {"name": "g", "namespace": NS, "annotations": anns, "uid": "u-1"},
        "spec": {"nodes": {"root": {"routerType": "Sequence", "steps": [
            {"serviceUrl": "http://someservice.example.com"}]}}}})


async def status(client: FakeClient) -> Any:
    return (await client.get(InferenceGraph, "g", NS)).status


def conds(st: Any) -> list[tuple[str, str, str | None]]:
    return [(c.type, c.status, c.reason) for c in st.conditions or []]


async def set_stop(client: FakeClient, value: str) -> None:
    await client.patch(InferenceGraph, "g", {"metadata": {"annotations": {
        "serving.kserve.io/stop": value}}}, namespace=NS)


async def test_knative_service_status_stop_and_resume() -> None:
    client, rec, recorder = setup(knative=True)
    client.add(graph())
    await rec.reconcile(Request(NS, "g"))
    [ksvc] = client.objects(KnativeService)
    assert ksvc["metadata"]["ownerReferences"] == [{
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph", "name": "g",
        "uid": "u-1", "controller": True, "blockOwnerDeletion": True}]
    tmpl = ksvc["spec"]["template"]
    assert tmpl["metadata"]["labels"] == {"serving.kserve.io/inferencegraph": "g",
                                          "serving.kserve.io/kind": "InferenceGraph"}
    assert tmpl["spec"]["containers"][0]["args"][0] == "--graph-json"
    st = await status(client)
    assert st.deployment_mode == "Knative"
    assert conds(st) == [("Ready", "False", "KnativeServiceNotReady"),
                         ("Stopped", "False", None)]

    # the Knative Service becomes Ready: its conditions and url are the graph's
    await client.patch_status(KnativeService, "g", {"status": {
        "url": "http://g.ns.example.com",
        "conditions": [{"type": "ConfigurationsReady", "status": "True"},
                       {"type": "Ready", "status": "True"},
                       {"type": "RoutesReady", "status": "True"}]}}, namespace=NS)
    await rec.reconcile(Request(NS, "g"))
    st = await status(client)
    assert conds(st) == [("ConfigurationsReady", "True", None), ("Ready", "True", None),
                         ("RoutesReady", "True", None), ("Stopped", "False", None)]
    assert st.url == "http://g.ns.example.com"
    assert ("Normal", "InferenceGraphReady") in recorder.events

    # nothing changed: no write at all
    writes = len(client.requests)
    await rec.reconcile(Request(NS, "g"))
    assert [r for r in client.requests[writes:] if r.verb not in ("get", "list")] == []

    # stop: the Knative Service is deleted; [Stopped True, Ready False Stopped], no url
    await set_stop(client, "true")
    await rec.reconcile(Request(NS, "g"))
    assert client.objects(KnativeService) == []
    st = await status(client)
    assert conds(st) == [("Stopped", "True", None), ("Ready", "False", "Stopped")]
    assert st.url is None
    assert ("Warning", "InferenceGraphNotReady") in recorder.events

    # resume: recreated, Stopped False
    await set_stop(client, "false")
    await rec.reconcile(Request(NS, "g"))
    assert len(client.objects(KnativeService)) == 1
    st = await status(client)
    assert ("Stopped", "False", None) in conds(st)


async def test_created_stopped_makes_no_knative_service() -> None:
    client, rec, _ = setup(knative=True)
    client.add(graph(stop="true"))
    await rec.reconcile(Request(NS, "g"))
    assert client.objects(KnativeService) == []
    assert conds(await status(client)) == [("Stopped", "True", None),
                                           ("Ready", "False", "Stopped")]


async def test_knative_not_served_is_rejected_terminally() -> None:
    client, rec, recorder = setup(knative=False)
    client.add(graph())
    with pytest.raises(TerminalError, match="Knative Serving is not available"):
        await rec.reconcile(Request(NS, "g"))
    st = await status(client)
    assert conds(st) == [("Ready", "False", "ServerlessModeRejected"), ("Stopped", "False", None)]
    assert st.deployment_mode == "Knative"
    assert recorder.events == [("Warning", "ServerlessModeRejected")]
    assert client.objects(KnativeService) == []


async def test_observed_generation_waits_for_the_knative_service_to_observe_its_spec() -> None:
    """Beyond upstream (which writes the graph's generation at once): right after a spec
    change, the Knative Service's status still speaks of its previous spec (Ready True from the
    old revision), so the graph's ``observedGeneration`` stays until Knative has observed the
    spec just applied."""
    client, rec, _ = setup(knative=True)
    client.add(graph())

    async def ksvc_status(observed: int) -> None:
        await client.patch_status(KnativeService, "g", {"status": {
            "observedGeneration": observed, "url": "http://g.ns.example.com",
            "conditions": [{"type": "Ready", "status": "True"}]}}, namespace=NS)

    await rec.reconcile(Request(NS, "g"))
    assert (await status(client)).observed_generation is None  # nothing observed yet
    await ksvc_status(1)
    await rec.reconcile(Request(NS, "g"))
    assert (await status(client)).observed_generation == 1

    await client.patch(InferenceGraph, "g", {"spec": {"nodes": {"root": {
        "routerType": "Sequence", "steps": [{"serviceUrl": "http://other.example.com"}]}}}},
        namespace=NS)
    await rec.reconcile(Request(NS, "g"))
    [ksvc] = client.objects(KnativeService)
    assert ksvc["metadata"]["generation"] == 2 and "other.example.com" in json.dumps(ksvc)
    st = await status(client)
    assert st.observed_generation == 1 and ("Ready", "True", None) in conds(st)

    await ksvc_status(2)
    await rec.reconcile(Request(NS, "g"))
    assert (await status(client)).observed_generation == 2
