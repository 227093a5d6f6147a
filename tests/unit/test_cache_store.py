"""The cache's store, indexers, transform and relist semantics, without an API server.

The reflector tests drive it with an in-process httpx transport that plays the list/watch
protocol (pages, bookmarks, 410): the unit tier checks the state machine; tests/integration
checks it against a real kube-apiserver.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import msgspec
import pytest
from lightkube import operators
from lightkube.resources.core_v1 import ConfigMap, Pod

from runtime.codec import (
    METADATA_ACCEPT_LIST,
    PartialObjectMetadata,
    encode_exact,
    strip_managed_fields,
)
from runtime.informer import DeletedFinalStateUnknown, Informer, ResourceEventHandlerFuncs
from runtime.reflector import Backoff, Reflector
from runtime.restmapper import resource_info
from runtime.selector import match_labels
from runtime.store import ALL_NAMESPACES_INDEX_PREFIX, Store, field_index_name
from runtime.testing.eventually import eventually
from runtime.transport import separate_pool_client


def cm(
    name: str, ns: str = "a", rv: str = "1", labels: dict[str, str] | None = None, **data: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def pod(name: str, node: str, ns: str = "a", rv: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
    }


# --------------------------------------------------------------------------- Store


def test_store_put_get_remove_and_namespace_index() -> None:
    s = Store()
    key, old, raw = s.put(cm("x", "a"))
    assert key == "a/x" and old is None
    s.put(cm("y", "a"))
    s.put(cm("z", "b"))
    s.put({"metadata": {"name": "cluster-thing"}})
    assert s.index_keys("namespace", "a") == {"a/x", "a/y"}
    assert s.index_keys("namespace", "") == {"cluster-thing"}
    _, old, new = s.put(cm("x", "a", rv="2"))
    assert old == raw and msgspec.json.decode(new)["metadata"]["resourceVersion"] == "2"
    assert s.remove("a/x") == new
    assert s.remove("a/x") is None
    assert s.index_keys("namespace", "a") == {"a/y"}
    s.remove("a/y")
    assert "a" not in s.list_index_values("namespace")


def test_store_custom_indexer_follows_updates() -> None:
    s = Store({"by-app": lambda o: [o["metadata"].get("labels", {}).get("app", "")]})
    s.put(cm("x", labels={"app": "one"}))
    s.put(cm("y", labels={"app": "one"}))
    assert s.index_keys("by-app", "one") == {"a/x", "a/y"}
    s.put(cm("x", rv="2", labels={"app": "two"}))
    assert s.index_keys("by-app", "one") == {"a/y"}
    assert s.index_keys("by-app", "two") == {"a/x"}
    s.remove("a/y")
    assert s.index_keys("by-app", "one") == set()
    # added after objects exist: indexes what is there
    s.add_indexers({"by-rv": lambda o: [o["metadata"]["resourceVersion"]]})
    assert s.index_keys("by-rv", "2") == {"a/x"}
    with pytest.raises(ValueError):
        s.add_indexers({"by-rv": lambda o: []})


def test_store_replace_scoped_returns_deletes() -> None:
    s = Store()
    for o in (cm("keep", "a"), cm("gone", "a"), cm("other", "b")):
        s.put(o)
    upserts, deletes = s.replace([cm("keep", "a", rv="5"), cm("new", "a")], namespace="a")
    assert sorted(k for k, _, _ in upserts) == ["a/keep", "a/new"]
    assert [k for k, _ in deletes] == ["a/gone"]
    assert sorted(s.keys()) == ["a/keep", "a/new", "b/other"]  # namespace b untouched
    _, deletes = s.replace([], namespace=None)
    assert sorted(k for k, _ in deletes) == ["a/keep", "a/new", "b/other"]
    assert len(s) == 0


def test_store_replace_encoded_adopts_bytes_keeps_unchanged_and_indexes() -> None:
    s = Store({"by-rv": lambda o: [o["metadata"]["resourceVersion"]]})
    for o in (cm("keep", rv="5"), cm("gone"), cm("changed", rv="2"), cm("other", "b")):
        s.put(o)
    kept = s.get("a/keep")
    same = encode_exact(cm("keep", rv="5"))  # equal bytes, another object
    changed = encode_exact(cm("changed", rv="3"))
    new = encode_exact(cm("new", rv="7"))
    assert same is not kept
    upserts, deletes = s.replace_encoded(
        [("a/keep", same), ("a/changed", changed), ("a/new", new)], namespace="a"
    )
    assert s.get("a/keep") is kept  # unchanged: the stored copy stays
    assert s.get("a/changed") is changed and s.get("a/new") is new  # adopted, not copied
    assert [(k, o is not None) for k, o, _ in upserts] == [
        ("a/keep", True), ("a/changed", True), ("a/new", False)
    ]
    assert [k for k, _ in deletes] == ["a/gone"]
    assert sorted(s.keys()) == ["a/changed", "a/keep", "a/new", "b/other"]
    # indexers see the decoded bytes; replaced and deleted objects are unindexed
    assert s.index_keys("by-rv", "5") == {"a/keep"}
    assert s.index_keys("by-rv", "3") == {"a/changed"}
    assert s.index_keys("by-rv", "7") == {"a/new"}
    assert s.index_keys("by-rv", "2") == set()
    assert s.index_keys("by-rv", "1") == {"b/other"}


def test_match_labels_semantics() -> None:
    from runtime.selector import requirements as _requirements

    labels = {"app": "web", "tier": "front"}
    assert match_labels(labels, _requirements("app=web,tier in (front, back)"))
    assert match_labels(labels, _requirements({"app": "web", "tier": None}))
    assert not match_labels(labels, _requirements("app!=web"))
    assert match_labels(labels, _requirements("env!=prod"))  # absent label matches !=
    assert match_labels(labels, _requirements("!env"))
    assert not match_labels(labels, _requirements("env"))
    assert match_labels(labels, _requirements({"tier": operators.not_in(["back"])}))
    assert not match_labels(labels, _requirements({"app": ["db", "cache"]}))
    assert match_labels(None, _requirements("app notin (web)"))


def test_strip_managed_fields_default_transform() -> None:
    obj = cm("x")
    obj["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    assert "managedFields" not in strip_managed_fields(obj)["metadata"]


# --------------------------------------------------------------------------- Informer


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self.events.append(("add", obj.metadata.name, is_in_initial_list))

    def on_update(self, old: Any, new: Any) -> None:
        self.events.append(("update", old.metadata.resourceVersion, new.metadata.resourceVersion))

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(("delete-unknown", obj.key, obj.obj.metadata.name))
        else:
            self.events.append(("delete", obj.metadata.name))


def informer(resource: Any = ConfigMap, **kw: Any) -> Informer:
    return Informer(httpx2.AsyncClient(base_url="http://unused"), resource, **kw)


@asynccontextmanager
async def delivering(inf: Informer) -> AsyncIterator[None]:
    """Run the informer's handler delivery (its store is fed by hand in these tests)."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(inf.run_handlers)
        yield
        await inf.wait_handlers_idle()
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_informer_events_in_order_and_store_first() -> None:
    inf = informer()
    seen_in_store: list[bool] = []
    rec = Recorder()
    inf.add_event_handler(rec)
    inf.add_event_handler(
        ResourceEventHandlerFuncs(
            add=lambda o, _i: seen_in_store.append(
                inf.store.get("a/" + o.metadata.name) is not None
            )
        )
    )
    sink = inf.reflectors[0].store
    async with delivering(inf):
        sink.replace([cm("x"), cm("y")], "10")
        assert inf.has_synced()
        await inf.wait_handlers_idle()
        sink.add(cm("z", rv="11"))
        await inf.wait_handlers_idle()
        sink.update(cm("x", rv="12"))
        sink.delete(cm("y", rv="13"))
        # relist: x unchanged (no event), z changed, y gone already, w new, z vanished
        sink.replace([cm("x", rv="12"), cm("w", rv="14")], "14")
    assert rec.events == [
        ("add", "x", True),
        ("add", "y", True),
        ("add", "z", False),
        ("update", "1", "12"),
        ("delete", "y"),
        ("add", "w", False),
        ("delete-unknown", "a/z", "z"),
    ]
    assert seen_in_store == [True, True, True, True]
    assert sorted(inf.store.keys()) == ["a/w", "a/x"]


@pytest.mark.anyio
async def test_late_handler_gets_synthetic_initial_adds_through_its_buffer() -> None:
    inf = informer()
    inf.reflectors[0].store.replace([cm("x"), cm("y")], "10")
    rec = Recorder()
    async with delivering(inf):
        reg = inf.add_event_handler(rec)
        # queued, not delivered in one go on the caller's stack; synced once delivered
        assert rec.events == [] and reg.pending() == 2 and not reg.has_synced()
        with anyio.fail_after(5):
            await reg.wait_for_sync()
        assert sorted(rec.events) == [("add", "x", True), ("add", "y", True)]
        inf.remove_event_handler(reg)
        inf.reflectors[0].store.add(cm("z"))
    assert len(rec.events) == 2


@pytest.mark.anyio
async def test_handler_exception_does_not_stop_delivery() -> None:
    inf = informer()

    def boom(_o: Any, _i: bool) -> None:
        raise RuntimeError("boom")

    rec = Recorder()
    inf.add_event_handler(ResourceEventHandlerFuncs(add=boom))
    inf.add_event_handler(rec)
    async with delivering(inf):
        inf.reflectors[0].store.add(cm("x"))
        inf.reflectors[0].store.add(cm("y"))
    assert rec.events == [("add", "x", False), ("add", "y", False)]


@pytest.mark.anyio
async def test_a_slow_handler_delays_only_itself() -> None:
    """Each handler has its own buffer and task: one blocked on every event does not hold
    back the other, nor the store (the reflector's side returns at once)."""
    inf = informer()
    gate = anyio.Event()
    slow_seen: list[str] = []

    async def slow(obj: Any, _i: bool) -> None:
        slow_seen.append(obj.metadata.name)
        await gate.wait()

    rec = Recorder()
    slow_reg = inf.add_event_handler(ResourceEventHandlerFuncs(add=slow), concurrency=1)
    inf.add_event_handler(rec)
    async with delivering(inf):
        for n in "abcde":
            inf.reflectors[0].store.add(cm(n))  # returns at once: nothing blocks the sink
        await eventually(lambda: len(rec.events) == 5)
        # "a" in flight, "b" taken and waiting for the one slot, three still buffered
        assert slow_seen == ["a"] and slow_reg.pending() == 3
        gate.set()
    assert slow_seen == list("abcde")


@pytest.mark.anyio
async def test_awaitables_run_with_bounded_concurrency_and_count_for_sync() -> None:
    inf = informer()
    running = peak = 0
    release = anyio.Event()

    async def work(_obj: Any, _i: bool) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    reg = inf.add_event_handler(ResourceEventHandlerFuncs(add=work), concurrency=3)
    async with delivering(inf):
        inf.reflectors[0].store.replace([cm(f"o{i}") for i in range(10)], "5")
        assert inf.has_synced()
        await eventually(lambda: running == 3)
        await anyio.sleep(0.05)
        assert peak == 3 and not reg.has_synced()  # initial events still in flight
        release.set()
        with anyio.fail_after(5):
            await reg.wait_for_sync()
    assert peak == 3


def test_reads_return_private_copies() -> None:
    inf = informer()
    inf.reflectors[0].store.add(cm("x", k="v"))
    a = inf.get_by_key("a/x")
    a.data["k"] = "mutated"
    assert inf.get_by_key("a/x").data == {"k": "v"}
    assert isinstance(a, ConfigMap)


def test_field_index_keys_like_controller_runtime() -> None:
    inf = informer(Pod)
    inf.index_field("spec.nodeName", lambda p: [p.spec.nodeName] if p.spec.nodeName else [])
    sink = inf.reflectors[0].store
    sink.replace([pod("p1", "n1", "a"), pod("p2", "n1", "b"), pod("p3", "n2", "a")], "1")
    idx = field_index_name("spec.nodeName")
    assert idx == "field:spec.nodeName"
    assert inf.store.index_keys(idx, "a/n1") == {"a/p1"}
    assert inf.store.index_keys(idx, f"{ALL_NAMESPACES_INDEX_PREFIX}/n1") == {"a/p1", "b/p2"}

    def names(**kw: Any) -> list[str]:
        return sorted(json.loads(r)["metadata"]["name"] for r in inf.list_raw(**kw))

    assert names(fields={"spec.nodeName": "n1"}) == ["p1", "p2"]
    assert names(namespace="a", fields={"spec.nodeName": "n1"}) == ["p1"]
    assert names(fields={"spec.nodeName": "n1", "metadata.name": "p2"}) == ["p2"]
    assert names(fields={"spec.nodeName": "n1", "metadata.namespace": "b"}) == ["p2"]
    # the pod moves: the index follows
    sink.update(pod("p1", "n2", "a", rv="2"))
    assert names(fields={"spec.nodeName": "n2"}) == ["p1", "p3"]
    with pytest.raises(ValueError, match="not supported"):
        inf.list_raw(fields={"spec.schedulerName": "x"})


def test_list_raw_namespace_and_labels() -> None:
    inf = informer()
    inf.reflectors[0].store.replace(
        [cm("x", "a", labels={"app": "1"}), cm("y", "a"), cm("z", "b", labels={"app": "1"})], "1"
    )

    def names(**kw: Any) -> list[str]:
        return sorted(json.loads(r)["metadata"]["name"] for r in inf.list_raw(**kw))

    assert names() == ["x", "y", "z"]
    assert names(namespace="a") == ["x", "y"]
    assert names(labels={"app": "1"}) == ["x", "z"]
    assert names(namespace="b", labels="app=1") == ["z"]
    assert names(labels="!app") == ["y"]


def test_multi_namespace_informer_replace_is_per_namespace() -> None:
    inf = informer(namespaces=["a", "b"])
    assert [r.namespace for r in inf.reflectors] == ["a", "b"]
    ra, rb = (r.store for r in inf.reflectors)
    ra.replace([cm("x", "a")], "1")
    assert not inf.has_synced()
    rb.replace([cm("y", "b")], "1")
    assert inf.has_synced()
    ra.replace([], "2")  # a relist of namespace a must not drop b's objects
    assert inf.store.keys() == ["b/y"]
    with pytest.raises(ValueError, match="not cached"):
        inf.list_raw(namespace="c")


# --------------------------------------------------------------------------- Backoff


def test_backoff_sequence_cap_and_reset() -> None:
    t = [0.0]
    b = Backoff(rand=lambda: 0.0, now=lambda: t[0])
    seq = []
    for _ in range(8):
        seq.append(b.next())
        t[0] += 1
    assert seq == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    t[0] += 121  # healthy for more than 2 minutes
    assert b.next() == 0.8
    jittered = Backoff(rand=lambda: 1.0, now=lambda: 0.0)
    assert jittered.next() == 1.6  # full jitter doubles at most
    assert all(Backoff().next() <= 1.6 for _ in range(50))


# --------------------------------------------------------------------------- Reflector


class FakeServer:
    """Plays the list/watch protocol for ConfigMaps in one namespace."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 100
        self.requests: list[httpx2.Request] = []
        self.watch_scripts: list[list[dict[str, Any]] | int] = []
        self.watch_list = True

    def set(self, name: str, **data: str) -> dict[str, Any]:
        self.rv += 1
        o = cm(name, rv=str(self.rv), **data)
        o["metadata"]["managedFields"] = [{"manager": "x"}]
        self.objects[name] = o
        return o

    def handler(self, req: httpx2.Request) -> httpx2.Response:
        self.requests.append(req)
        p = req.url.params
        if p.get("watch") != "true":
            names = sorted(self.objects)
            start = int(p.get("continue") or 0)
            limit = int(p["limit"])
            page = names[start : start + limit]
            meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
            if start + limit < len(names):
                meta["continue"] = str(start + limit)
            body = {
                "kind": "ConfigMapList",
                "metadata": meta,
                "items": [self.objects[n] for n in page],
            }
            return httpx2.Response(200, content=json.dumps(body).encode())
        if p.get("sendInitialEvents") == "true":
            if not self.watch_list:
                return httpx2.Response(422, content=json.dumps(
                    {"kind": "Status", "code": 422, "reason": "Invalid"}).encode())
            assert p["resourceVersionMatch"] == "NotOlderThan" and "resourceVersion" not in p
            initial: list[dict[str, Any]] = [
                {"type": "ADDED", "object": self.objects[n]} for n in sorted(self.objects)
            ]
            initial.append({"type": "BOOKMARK", "object": {"kind": "ConfigMap", "metadata": {
                "resourceVersion": str(self.rv),
                "annotations": {"k8s.io/initial-events-end": "true"}}}})
            script = self.watch_scripts.pop(0) if self.watch_scripts else []
            assert not isinstance(script, int)
            return httpx2.Response(200, content=b"".join(
                json.dumps(ev).encode() + b"\n" for ev in [*initial, *script]))
        script = self.watch_scripts.pop(0) if self.watch_scripts else []
        if isinstance(script, int):
            return httpx2.Response(
                script,
                content=json.dumps(
                    {"kind": "Status", "code": script, "reason": "Expired"}
                ).encode(),
            )
        lines = b"".join(json.dumps(ev).encode() + b"\n" for ev in script)
        return httpx2.Response(200, content=lines)


def fake_reflector(server: FakeServer, inf: Informer, **kw: Any) -> Reflector:
    r = inf.reflectors[0]
    r.http = httpx2.AsyncClient(
        base_url="http://fake", transport=httpx2.MockTransport(server.handler)
    )
    r.page_size = 2
    r.backoff = Backoff(initial=0.001, cap=0.01)
    for k, v in kw.items():
        setattr(r, k, v)
    return r


@pytest.mark.anyio
async def test_reflector_pages_watches_bookmarks_and_relists_on_410() -> None:
    server = FakeServer()
    for n in "abcde":
        server.set(n)
    inf = informer(namespaces=["a"])
    rec = Recorder()
    inf.add_event_handler(rec)
    r = fake_reflector(server, inf)
    x = server.set("x")  # will appear as a watch event
    bookmark = {
        "type": "BOOKMARK",
        "object": {"kind": "ConfigMap", "metadata": {"resourceVersion": "500"}},
    }
    server.objects.pop("x")
    server.watch_scripts = [
        [{"type": "ADDED", "object": x}, bookmark],
        [{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}],
    ]
    async with delivering(inf):
        await r.list()
    assert r.last_sync_resource_version == str(server.rv)
    lists = [q for q in server.requests if q.url.params.get("watch") != "true"]
    assert len(lists) == 3  # 5 objects, pages of 2
    assert all(q.url.params["limit"] == "2" for q in lists)
    initial = list(rec.events)
    async with delivering(inf):
        await r.watch()  # ends cleanly after the scripted events
    assert r.last_sync_resource_version == "500"  # the bookmark advanced it...
    assert rec.events[len(initial):] == [("add", "x", False)]  # ...without an event
    watch = next(q for q in server.requests if q.url.params.get("watch") == "true")
    assert watch.url.params["allowWatchBookmarks"] == "true"
    assert 300 <= int(watch.url.params["timeoutSeconds"]) <= 600
    assert watch.url.params["resourceVersion"] == str(server.rv)
    assert inf.store.get("a/x") is not None
    assert b"managedFields" not in inf.store.get("a/x")  # type: ignore[operator]

    # the next watch gets a 410: run() must relist, which drops x and a (deleted meanwhile)
    server.objects.pop("a")
    before = r.list_count
    with anyio.move_on_after(1):
        async with delivering(inf), anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= before + 2)  # run()'s list + relist
            tg.cancel_scope.cancel()
    assert sorted(inf.store.keys()) == ["a/b", "a/c", "a/d", "a/e"]
    assert ("delete-unknown", "a/x", "x") in rec.events
    assert ("delete-unknown", "a/a", "a") in rec.events


@pytest.mark.anyio
async def test_reflector_list_hands_the_store_encoded_transformed_items() -> None:
    server = FakeServer()
    for n in "abcde":
        server.set(n, k=n)

    class Encoded:
        def __init__(self) -> None:
            self.replaced: list[list[tuple[str, bytes]]] = []

        def replace_encoded(self, items: list[tuple[str, bytes]], rv: str) -> None:
            self.replaced.append(list(items))

        def add(self, obj: dict[str, Any]) -> None: ...

        update = delete = add

    sink = Encoded()
    r = Reflector(httpx2.AsyncClient(base_url="http://fake",
                                     transport=httpx2.MockTransport(server.handler)),
                  ConfigMap, sink, namespace="a", page_size=2)
    await r.list()
    [items] = sink.replaced
    assert [k for k, _ in items] == ["a/a", "a/b", "a/c", "a/d", "a/e"]
    for _k, raw in items:
        assert type(raw) is bytes
        obj = msgspec.json.decode(raw)
        assert "managedFields" not in obj["metadata"]  # transformed before encoding
        assert raw == encode_exact(obj)  # the exact-size form the store keeps
    assert r.last_sync_resource_version == str(server.rv)


@pytest.mark.anyio
async def test_reflector_http_410_on_watch_relists_and_errors_back_off() -> None:
    server = FakeServer()
    server.set("a")
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf)
    server.watch_scripts = [500, 410]
    with anyio.move_on_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= 2)
            tg.cancel_scope.cancel()
    assert r.list_count == 2
    kinds = ["watch" if q.url.params.get("watch") == "true" else "list" for q in server.requests]
    # list, watch (500 -> backoff, resume watch), watch (410 -> relist), list
    assert kinds[:4] == ["list", "watch", "watch", "list"]


@pytest.mark.anyio
async def test_reflector_metadata_only_accept_header_and_kind() -> None:
    server = FakeServer()
    server.set("a", secret="s3cr3t")
    inf = informer(metadata_only=True, namespaces=["a"])
    r = fake_reflector(server, inf)

    orig = server.handler

    def strip(req: httpx2.Request) -> httpx2.Response:
        resp = orig(req)
        body = json.loads(resp.content)
        for it in body.get("items", []):
            it.pop("data", None)
            it["apiVersion"], it["kind"] = "meta.k8s.io/v1", "PartialObjectMetadata"
        return httpx2.Response(200, content=json.dumps(body).encode())

    r.http = httpx2.AsyncClient(base_url="http://fake", transport=httpx2.MockTransport(strip))
    await r.list()
    assert server.requests[0].headers["accept"] == METADATA_ACCEPT_LIST
    obj = inf.get_by_key("a/a")
    assert isinstance(obj, PartialObjectMetadata)
    assert (obj.apiVersion, obj.kind, obj.metadata.name) == ("v1", "ConfigMap", "a")


def test_resource_info_for_lightkube_and_custom_types() -> None:
    info = resource_info(ConfigMap)
    assert info.collection_path("ns") == "/api/v1/namespaces/ns/configmaps"
    assert info.metric_label() == "configmaps/v1"

    class Widget:
        __group__, __version__, __kind__ = "example.com", "v1", "Policy"
        __plural__ = "policies"

    w = resource_info(Widget)
    assert (w.plural, w.namespaced) == ("policies", True)
    assert w.object_path("p", "ns", "status") == (
        "/apis/example.com/v1/namespaces/ns/policies/p/status"
    )
    assert w.metric_label(True) == "policies.example.com/v1:metadata"


@pytest.mark.anyio
async def test_resync_delivers_update_with_same_object() -> None:
    inf = informer()
    inf.reflectors[0].store.replace([cm("x"), cm("y")], "1")
    pairs: list[tuple[Any, Any]] = []
    inf.add_event_handler(ResourceEventHandlerFuncs(update=lambda o, n: pairs.append((o, n))))
    async with delivering(inf):
        inf.resync()
    assert sorted(n.metadata.name for _, n in pairs) == ["x", "y"]
    assert all(o is n for o, n in pairs)  # c-r: resync updates carry old is new


@pytest.mark.anyio
async def test_resync_loop_runs_periodically() -> None:
    inf = informer(resync_period=0.01)
    inf.reflectors[0].store.replace([cm("x")], "1")
    count = 0

    def upd(_o: Any, _n: Any) -> None:
        nonlocal count
        count += 1

    inf.add_event_handler(ResourceEventHandlerFuncs(update=upd))
    async with delivering(inf):
        with anyio.move_on_after(0.2):
            await inf._resync_loop(0.01)
    assert count >= 3


@pytest.mark.anyio
async def test_reflector_relists_at_once_on_first_410_and_backs_off_when_repeated() -> None:
    server = FakeServer()
    server.set("a")
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf)
    waits: list[int] = []  # list_count at each backoff
    real_next = r.backoff.next

    def counting_next() -> float:
        waits.append(r.list_count)
        return real_next()

    r.backoff.next = counting_next  # type: ignore[method-assign]
    server.watch_scripts = [410, 410, 410]
    with anyio.move_on_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= 4)
            tg.cancel_scope.cancel()
    # list, 410 -> relist at once, 410 (no event since) -> backoff, 410 -> backoff
    # (later backoffs are the 4th watch's scripted empty answer, a very short watch)
    assert [n for n in waits if n < 4] == [2, 3]


@pytest.mark.anyio
async def test_reflector_survives_a_failing_transform() -> None:
    server = FakeServer()
    server.set("a")
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf)
    calls = 0

    def flaky(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("transform bug")
        return strip_managed_fields(obj)

    r.transform = flaky
    with anyio.move_on_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= 1)
            tg.cancel_scope.cancel()
    assert inf.store.keys() == ["a/a"] and calls >= 2


@pytest.mark.anyio
async def test_reflector_watch_list_streams_initial_state_then_watches() -> None:
    server = FakeServer()
    for n in "abc":
        server.set(n)
    server.objects.pop("c")  # c will be in the store from before and must be dropped
    inf = informer(namespaces=["a"])
    inf.reflectors[0].store.replace([cm("c")], "1")
    rec = Recorder()
    inf.add_event_handler(rec)
    r = fake_reflector(server, inf, use_watch_list=True)
    d = server.set("d")
    server.objects.pop("d")
    server.watch_scripts = [[{"type": "ADDED", "object": d}]]
    with anyio.move_on_after(1):
        async with delivering(inf), anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: inf.store.get("a/d") is not None)
            tg.cancel_scope.cancel()
    assert r.list_count == 1
    assert all(q.url.params.get("watch") == "true" for q in server.requests[:1])
    assert not [q for q in server.requests if q.url.params.get("watch") != "true"]  # no list
    assert sorted(inf.store.keys()) == ["a/a", "a/b", "a/d"]
    assert rec.events == [
        ("add", "c", True),  # synthetic, for the handler added after the seeded state
        ("add", "a", False), ("add", "b", False),  # the streamed state, one replace
        ("delete-unknown", "a/c", "c"),
        ("add", "d", False),  # then a plain watch event on the same stream
    ]
    assert b"managedFields" not in (inf.store.get("a/a") or b"")


@pytest.mark.anyio
async def test_reflector_watch_list_falls_back_to_list_when_refused() -> None:
    server = FakeServer()
    server.set("a")
    server.watch_list = False
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf, use_watch_list=True)
    with anyio.move_on_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= 1)
            tg.cancel_scope.cancel()
    assert inf.store.keys() == ["a/a"]
    assert not r._watch_list_supported
    assert any(q.url.params.get("limit") for q in server.requests)  # a paginated list ran


@pytest.mark.anyio
async def test_undecodable_object_is_skipped_for_handlers_but_reads_raise() -> None:
    import pydantic

    class Thing(pydantic.BaseModel):
        __group__ = "example.com"
        __version__ = "v1"
        __kind__ = "Thing"
        __plural__ = "things"
        metadata: dict[str, Any]
        spec: dict[str, int]

    inf = informer(Thing)
    rec: list[str] = []
    inf.add_event_handler(ResourceEventHandlerFuncs(
        add=lambda o, _i: rec.append(o.metadata["name"]),
        update=lambda _o, n: rec.append("upd-" + n.metadata["name"]),
    ))
    good = {"metadata": {"name": "good", "namespace": "a", "resourceVersion": "1"},
            "spec": {"n": 1}}
    bad = {"metadata": {"name": "bad", "namespace": "a", "resourceVersion": "1"},
           "spec": {"n": "not a number"}}
    sink = inf.reflectors[0].store
    async with delivering(inf):
        sink.replace([good, bad], "1")  # must not raise: the informer keeps working
    assert rec == ["good"]
    assert sorted(inf.store.keys()) == ["a/bad", "a/good"]
    with pytest.raises(pydantic.ValidationError):
        inf.get_by_key("a/bad")
    async with delivering(inf):
        sink.update({**good, "metadata": {**good["metadata"], "resourceVersion": "2"}})
    assert rec == ["good", "upd-good"]


def test_failing_index_function_does_not_break_the_store() -> None:
    def idx(o: dict[str, Any]) -> list[str]:
        if o["metadata"]["name"] == "boom":
            raise KeyError("no such field")
        return [o["metadata"]["name"]]

    s = Store({"by-name": idx})
    s.put(cm("ok"))
    s.put(cm("boom"))
    assert s.index_keys("by-name", "ok") == {"a/ok"}
    assert s.get("a/boom") is not None
    s.remove("a/boom")
    assert len(s) == 1


@pytest.mark.anyio
async def test_reflector_watch_list_error_after_sync_resumes_the_watch() -> None:
    # the stream broke after the initial-events-end bookmark: the state is stored and the RV
    # known, so the watch resumes from it; streaming the whole state again is a relist for
    # nothing (and what the apiserver's watch cache must then serve for every object again)
    server = FakeServer()
    for n in "ab":
        server.set(n)
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf, use_watch_list=True)
    synced_rv = str(server.rv)
    server.watch_scripts = [
        [{"type": "ERROR", "object": {"kind": "Status", "code": 500, "reason": "InternalError"}}],
    ]
    with anyio.move_on_after(1):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: len(server.requests) >= 3)
            tg.cancel_scope.cancel()
    assert r.list_count == 1
    first, second = server.requests[:2]
    assert first.url.params.get("sendInitialEvents") == "true"
    assert second.url.params.get("sendInitialEvents") is None
    assert second.url.params.get("resourceVersion") == synced_rv


@pytest.mark.parametrize("as_event", [False, True])
@pytest.mark.anyio
async def test_reflector_relists_when_the_server_is_behind_its_resource_version(
    as_event: bool,
) -> None:
    # etcd restored from a backup: the server answers "Too large resource version" (504,
    # cause ResourceVersionTooLarge) for every watch from the RV we had. Retrying the watch
    # with it would freeze the cache for good; client-go relists (a consistent read) and
    # watches from the server's own RV.
    server = FakeServer()
    server.set("a")
    server.rv = 900  # the first list sees the world before the restore
    inf = informer(namespaces=["a"])
    r = fake_reflector(server, inf)
    status = {"kind": "Status", "code": 504, "reason": "Timeout",
              "message": "Too large resource version: 900, current: 101",
              "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                      "message": "Too large resource version"}]}}
    orig = server.handler

    def handler(req: httpx2.Request) -> httpx2.Response:
        if req.url.params.get("watch") != "true":
            resp = orig(req)
            server.rv = 101  # restored: every later answer comes from the older state
            return resp
        server.requests.append(req)
        if req.url.params["resourceVersion"] == "900":
            if as_event:
                return httpx2.Response(200, content=json.dumps(
                    {"type": "ERROR", "object": status}).encode() + b"\n")
            return httpx2.Response(504, content=json.dumps(status).encode())
        return httpx2.Response(200, content=b"")

    r.http = httpx2.AsyncClient(base_url="http://fake", transport=httpx2.MockTransport(handler))
    with anyio.move_on_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.run)
            await eventually(lambda: r.list_count >= 2, within=1.5)
            tg.cancel_scope.cancel()
    watches = [q.url.params["resourceVersion"] for q in server.requests
               if q.url.params.get("watch") == "true"]
    assert watches[0] == "900" and "101" in watches


def test_indexer_added_late_tolerates_a_failing_object_like_put() -> None:
    # put() logs and skips an object the index function fails on; add_indexers() on a store
    # that already holds such an object must do the same, not raise half way with the
    # indexer registered and only some objects indexed
    s = Store()
    s.put(cm("boom"))
    s.put(cm("ok"))

    def idx(o: dict[str, Any]) -> list[str]:
        if o["metadata"]["name"] == "boom":
            raise KeyError("no such field")
        return [o["metadata"]["name"]]

    s.add_indexers({"by-name": idx})
    assert s.index_keys("by-name", "ok") == {"a/ok"}
    s.put(cm("ok", rv="2"))
    assert s.index_keys("by-name", "ok") == {"a/ok"}


@pytest.mark.anyio
async def test_separate_pool_client_copies_settings_with_its_own_unbounded_pool() -> None:
    auth = httpx2.BasicAuth("u", "p")
    http = httpx2.AsyncClient(base_url="https://api.example:6443", auth=auth,
                              headers={"X-Test": "1"}, timeout=httpx2.Timeout(7.0),
                              limits=httpx2.Limits(max_connections=3), trust_env=False)
    copy = separate_pool_client(http)
    assert copy is not None
    assert copy.base_url == http.base_url and copy.auth is http.auth
    assert copy.headers["X-Test"] == "1" and copy.timeout == http.timeout
    assert isinstance(copy._transport, httpx2.AsyncHTTPTransport)
    assert copy._transport is not http._transport
    pool, orig = copy._transport._pool, http._transport._pool  # type: ignore[attr-defined]
    assert pool is not orig and orig._max_connections == 3
    assert pool._max_connections > 10**6  # unbounded
    assert pool._ssl_context is orig._ssl_context  # same TLS trust and client certificate
    # a transport it cannot copy (e.g. a test double): None, the caller shares the pool
    mock = httpx2.AsyncClient(transport=httpx2.MockTransport(lambda r: httpx2.Response(200)))
    assert separate_pool_client(mock) is None
    await copy.aclose()
    await http.aclose()
    await mock.aclose()
