"""runtime.client and runtime.recorder on a real kube-apiserver (envtest)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.events_v1 import Event
from pydantic import Field

from runtime import metrics
from runtime.cache import Cache
from runtime.client import (
    AlreadyOwnedError,
    Client,
    add_finalizer,
    contains_finalizer,
    ignore_not_found,
    is_already_exists,
    is_conflict,
    is_not_found,
    remove_finalizer,
    retry_on_conflict,
    set_controller_reference,
    set_owner_reference,
)
from runtime.informer import ResourceEventHandlerFuncs
from runtime.recorder import EventRecorder
from runtime.resource import CRD, CustomResource, KubeModel
from runtime.testing.eventually import eventually

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@contextlib.asynccontextmanager
async def running(kube: Any, **client_kw: Any) -> AsyncIterator[Client]:
    cache = Cache(kube)
    client = Client(kube, cache, field_manager="test-manager", **client_kw)
    async with anyio.create_task_group() as tg:
        await cache.start(tg)
        try:
            yield client
        finally:
            tg.cancel_scope.cancel()



def cm(name: str, ns: str, **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns), data=data)


async def test_crud_apply_and_watch_through_client(kube_client: Any, namespace: str) -> None:
    events: list[tuple[str, str]] = []
    async with running(kube_client) as client:
        assert client.cache is not None
        inf = client.cache.get_informer(ConfigMap)
        inf.add_event_handler(ResourceEventHandlerFuncs(
            add=lambda o, _i: o.metadata.namespace == namespace
            and events.append(("add", o.metadata.name)),
            update=lambda _o, n: events.append(("update", n.data.get("k", "") if n.data else "")),
            delete=lambda o: events.append(("delete", o.metadata.name)),
        ))
        await client.cache.wait_for_cache_sync()

        created = await client.create(cm("one", namespace, k="v1"))
        assert isinstance(created, ConfigMap) and created.metadata.uid
        with pytest.raises(Exception) as exc:
            await client.create(cm("one", namespace))
        assert is_already_exists(exc.value)

        # reads come from the cache (eventually) and are private copies
        got = await eventually(lambda: client.get(ConfigMap, "one", namespace))
        got.data["k"] = "mutated-locally"
        again = await client.get(ConfigMap, "one", namespace)
        assert again.data == {"k": "v1"}
        assert again.metadata.managedFields is None  # stripped by the default transform

        # update with a stale resourceVersion conflicts; retry_on_conflict re-reads and wins
        stale = await client.api_reader.get(ConfigMap, "one", namespace)
        fresh = await client.api_reader.get(ConfigMap, "one", namespace)
        fresh.data = {"k": "v2"}
        await client.update(fresh)
        stale.data = {"k": "stale"}
        with pytest.raises(Exception) as exc:
            await client.update(stale)
        assert is_conflict(exc.value)
        attempts = 0

        async def bump() -> ConfigMap:
            nonlocal attempts
            attempts += 1
            cur = await client.api_reader.get(ConfigMap, "one", namespace)
            if attempts == 1:  # someone else writes in between: our update conflicts once
                other = await client.api_reader.get(ConfigMap, "one", namespace)
                other.data = {"k": "other"}
                await client.update(other)
            cur.data = {"k": "v3"}
            out: ConfigMap = await client.update(cur)
            return out

        assert (await retry_on_conflict(bump)).data == {"k": "v3"}
        assert attempts == 2

        # server-side apply: our field manager owns what we set; a second manager's field stays
        applied = await client.apply(cm("one", namespace, k="v4", mine="yes"))
        assert applied.data == {"k": "v4", "mine": "yes"}
        await client.patch(ConfigMap, "one", {"data": {"theirs": "x"}}, namespace=namespace,
                           field_manager="someone-else")
        applied = await client.apply(cm("one", namespace, k="v5", mine="yes"))
        assert applied.data == {"k": "v5", "mine": "yes", "theirs": "x"}
        managers = {m.manager for m in applied.metadata.managedFields or []}
        assert {"test-manager", "someone-else"} <= managers

        await eventually(lambda: ("update", "v5") in events)
        listed = await client.list(ConfigMap, namespace)
        assert [c.metadata.name for c in listed if c.metadata.name == "one"] == ["one"]

        await client.delete(ConfigMap, "one", namespace)
        assert await ignore_not_found(client.delete(ConfigMap, "one", namespace)) is None
        await eventually(lambda: ("delete", "one") in events)
        with pytest.raises(Exception) as exc:
            await client.get(ConfigMap, "one", namespace)
        assert is_not_found(exc.value)
    assert events[0] == ("add", "one")


async def test_status_subresource_apply_update_patch(kube_client: Any, namespace: str) -> None:
    labels = {"app": "web"}
    dep = Deployment(
        metadata=ObjectMeta(name="web", namespace=namespace),
        spec=DeploymentSpec(
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="c", image="nginx")]),
            ),
        ),
    )
    client = Client(kube_client, None, field_manager="test-manager")  # uncached client
    created = await client.apply(dep)
    assert created.metadata.generation == 1

    out = await client.apply_status(created, {"observedGeneration": 1, "replicas": 3})
    assert out.status.replicas == 3 and out.status.observedGeneration == 1
    # spec changes sent to /status are ignored by the server
    out.spec.replicas = 7
    out.status.readyReplicas = 2
    out = await client.update_status(out)
    assert out.status.readyReplicas == 2
    assert (await client.get(Deployment, "web", namespace)).spec.replicas != 7
    out = await client.patch_status(Deployment, "web", {"status": {"availableReplicas": 1}},
                                    namespace=namespace)
    assert out.status.availableReplicas == 1 and out.status.replicas == 3


async def test_owner_references_and_finalizers(kube_client: Any, namespace: str) -> None:
    client = Client(kube_client, None, field_manager="test-manager")
    owner = await client.create(cm("owner", namespace))
    other = await client.create(cm("other", namespace))
    child = cm("child", namespace)
    set_controller_reference(owner, child)
    set_controller_reference(owner, child)  # idempotent: still one reference
    set_owner_reference(other, child)
    refs = child.metadata.ownerReferences
    assert [(r.name, r.controller, r.blockOwnerDeletion) for r in refs] == [
        ("owner", True, True), ("other", None, None)
    ]
    with pytest.raises(AlreadyOwnedError):
        set_controller_reference(other, child)
    with pytest.raises(ValueError, match="cross-namespace"):
        set_controller_reference(owner, cm("x", "elsewhere"))

    assert add_finalizer(child, "example.com/cleanup")
    assert not add_finalizer(child, "example.com/cleanup")
    stored = await client.create(child)
    assert stored.metadata.ownerReferences[0].uid == owner.metadata.uid
    assert contains_finalizer(stored, "example.com/cleanup")

    await client.delete(stored)
    terminating = await client.get(ConfigMap, "child", namespace)
    assert terminating.metadata.deletionTimestamp is not None  # held by the finalizer
    assert remove_finalizer(terminating, "example.com/cleanup")
    assert not remove_finalizer(terminating, "example.com/cleanup")
    await client.update(terminating)
    with pytest.raises(Exception) as exc:
        await client.get(ConfigMap, "child", namespace)
    assert is_not_found(exc.value)


async def test_rest_client_metrics(kube_client: Any, namespace: str) -> None:
    client = Client(kube_client, None)
    host = client.http.base_url.netloc.decode()

    def count(code: str, method: str) -> float:
        v = metrics.REGISTRY.get_sample_value(
            "rest_client_requests_total", {"code": code, "method": method, "host": host}
        )
        return v or 0.0

    before_ok, before_404 = count("201", "POST"), count("404", "GET")
    await client.create(cm("metered", namespace))
    await ignore_not_found(client.get(ConfigMap, "absent", namespace))
    assert count("201", "POST") == before_ok + 1
    assert count("404", "GET") == before_404 + 1
    n = metrics.REGISTRY.get_sample_value(
        "rest_client_request_duration_seconds_count", {"verb": "POST", "host": host}
    )
    assert n and n >= 1


async def test_event_recorder_aggregates_series(kube_client: Any, namespace: str) -> None:
    client = Client(kube_client, None)
    target = await client.create(cm("noisy", namespace))
    rec = EventRecorder("test-controller", client, flush_interval=3600)
    for i in range(50):  # an error loop
        rec.event(target, "Warning", "SyncFailed", "Reconcile", f"attempt {i} failed")
    rec.event(target, "Normal", "Synced", "Reconcile", "ok")
    await rec.drain()  # processes the queue and writes the pending series count
    assert rec.creates == 2  # one per key, not 51
    assert rec.patches == 2  # the first repetition at once, then the count at the flush
    evs = [e for e in await client.list(Event, namespace)
           if e.regarding and e.regarding.name == "noisy"]
    by_reason = {e.reason: e for e in evs}
    assert set(by_reason) == {"SyncFailed", "Synced"}
    failed = by_reason["SyncFailed"]
    assert failed.series is not None and failed.series.count == 50
    assert failed.note == "attempt 0 failed"
    assert failed.reportingController == "test-controller"
    assert failed.regarding.uid == target.metadata.uid
    assert by_reason["Synced"].series is None


async def test_event_recorder_rate_limits_new_events(kube_client: Any, namespace: str) -> None:
    client = Client(kube_client, None)
    target = await client.create(cm("spammy", namespace))
    rec = EventRecorder("test-controller", client, burst=3)
    for i in range(10):  # ten distinct reasons: ten keys, but only `burst` creates
        rec.event(target, "Normal", f"Reason{i}", "Act")
    await rec.drain()
    assert (rec.creates, rec.dropped) == (3, 7)


# --------------------------------------------------------------------------- custom resources


class WidgetSpec(KubeModel):
    size: int | None = Field(None, alias="size")


class WidgetStatus(KubeModel):
    ready: bool | None = Field(None, alias="ready")


class Widget(CustomResource):
    __crd__ = CRD(group="test.kserve-py.io", version="v1", kind="Widget", plural="widgets",
                  status_subresource=True)
    spec: WidgetSpec | None = Field(None, alias="spec")
    status: WidgetStatus | None = Field(None, alias="status")


WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.kserve-py.io}
spec:
  group: test.kserve-py.io
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
          status: {type: object, properties: {ready: {type: boolean}}}
"""


async def test_custom_resource_round_trip(envtest: Any, kube_client: Any, namespace: str,
                                          tmp_path: Any) -> None:
    crd = tmp_path / "widget.yaml"
    crd.write_text(WIDGET_CRD)
    await anyio.to_thread.run_sync(envtest.install_crds, [crd])

    async with running(kube_client) as client:
        w = Widget(metadata=ObjectMeta(name="w1", namespace=namespace),
                   spec=WidgetSpec(size=3))
        applied = await client.apply(w)
        assert isinstance(applied, Widget)
        assert applied.spec is not None and applied.spec.size == 3
        assert applied.metadata is not None and applied.metadata.uid

        out = await client.apply_status(applied, WidgetStatus(ready=True))
        assert out.status is not None and out.status.ready is True
        assert out.spec is not None and out.spec.size == 3

        # the cache decodes into the Pydantic type as well
        async def cached() -> Widget | None:
            try:
                got: Widget = await client.get(Widget, "w1", namespace)
            except Exception as e:
                if is_not_found(e):
                    return None
                raise
            return got if got.status and got.status.ready else None

        got = await eventually(cached)
        assert isinstance(got, Widget) and got.spec is not None and got.spec.size == 3
        listed = await client.list(Widget, namespace)
        assert [x.metadata.name for x in listed if x.metadata] == ["w1"]

        child = cm("widget-child", namespace)
        set_controller_reference(got, child)
        ref = child.metadata.ownerReferences[0]
        assert (ref.apiVersion, ref.kind, ref.name) == ("test.kserve-py.io/v1", "Widget", "w1")
        await client.create(child)
        await client.delete(got)
        with pytest.raises(Exception) as exc:
            await client.api_reader.get(Widget, "w1", namespace)
        assert is_not_found(exc.value)


async def test_api_reader_metadata_only_and_disable_for(kube_client: Any, namespace: str) -> None:
    from lightkube.resources.core_v1 import Secret

    from runtime.codec import PartialObjectMetadata

    async with running(kube_client, disable_for=[Secret]) as client:
        await client.create(Secret(metadata=ObjectMeta(name="tok", namespace=namespace,
                                                       labels={"a": "b"}),
                                   stringData={"token": "s3cr3t"}))
        # disable_for: read straight from the API, so visible at once (no informer started)
        full = await client.get(Secret, "tok", namespace)
        assert full.data and "token" in full.data
        assert client.cache is not None and client.cache.informers() == []

        meta = await client.api_reader.get(Secret, "tok", namespace, metadata_only=True)
        assert isinstance(meta, PartialObjectMetadata)
        assert (meta.apiVersion, meta.kind, meta.metadata.labels) == ("v1", "Secret", {"a": "b"})
        listed = await client.api_reader.list(Secret, namespace, labels={"a": "b"},
                                              metadata_only=True)
        assert [m.metadata.name for m in listed] == ["tok"]
        assert all(isinstance(m, PartialObjectMetadata) for m in listed)
        by_field = await client.list(Secret, namespace, fields={"metadata.name": "tok"})
        assert [s.metadata.name for s in by_field] == ["tok"]


async def test_event_series_ends_after_window(kube_client: Any, namespace: str) -> None:
    client = Client(kube_client, None)
    target = await client.create(cm("periodic", namespace))
    t = [0.0]
    rec = EventRecorder("test-controller", client, series_window=360.0, now=lambda: t[0])
    rec.event(target, "Warning", "Failed", "Sync", "1")
    rec.event(target, "Warning", "Failed", "Sync", "2")
    await rec.drain()
    t[0] = 1000.0  # quiet for longer than the series window: a new Event, not count 3
    await rec.flush()
    rec.event(target, "Warning", "Failed", "Sync", "3")
    await rec.drain()
    assert rec.creates == 2
    evs = sorted((e.note, e.series.count if e.series else 1)
                 for e in await client.list(Event, namespace)
                 if e.regarding and e.regarding.name == "periodic")
    assert evs == [("1", 2), ("3", 1)]


async def test_recorder_series_of_a_vanished_event_starts_a_new_event(
    kube_client: Any, namespace: str
) -> None:
    # the Event was deleted (TTL, kubectl delete): client-go creates it anew when the series
    # patch answers NotFound; counting into a missing Event would lose every later occurrence
    client = Client(kube_client, None)
    target = await client.create(cm("vanishing", namespace))
    rec = EventRecorder("test-controller", client, flush_interval=3600)
    rec.event(target, "Warning", "Failed", "Sync", "1")
    await rec.drain()
    [first] = await client.list(Event, namespace)
    await client.delete(first)
    rec.event(target, "Warning", "Failed", "Sync", "2")  # series patch -> 404 from the server
    await rec.drain()
    assert (rec.creates, rec.patches) == (1, 0)
    rec.event(target, "Warning", "Failed", "Sync", "3")
    await rec.drain()
    assert rec.creates == 2
    [second] = await client.list(Event, namespace)
    assert second.note == "3" and second.metadata.name != first.metadata.name


async def test_recorder_accepts_metadata_only_objects(kube_client: Any, namespace: str) -> None:
    # what a metadata-only informer hands a controller: apiVersion/kind are on the object
    # (the watched type's), not derivable from its Python type; event() must never raise
    from lightkube.resources.core_v1 import Secret

    client = Client(kube_client, None)
    await client.create(Secret(metadata=ObjectMeta(name="pm", namespace=namespace),
                               stringData={"k": "v"}))
    meta = await client.api_reader.get(Secret, "pm", namespace, metadata_only=True)
    rec = EventRecorder("test-controller", client)
    rec.event(meta, "Normal", "Seen", "Watch")
    await rec.drain()
    assert rec.creates == 1
    [ev] = await client.list(Event, namespace)
    reg = ev.regarding
    assert (reg.apiVersion, reg.kind, reg.name, reg.uid) == (
        "v1", "Secret", "pm", meta.metadata.uid)
