"""The reflector on a real kube-apiserver: paging, watch resume, apiserver crash, 410 relist.

The reflector reaches the apiserver through :class:`TcpProxy`, a TCP relay the test can cut
(drop every connection and refuse new ones) to hold the watch down for as long as it needs
while it changes things through a direct client, kills the apiserver or compacts etcd.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import msgspec
import pytest
import yaml
from anyio.abc import SocketAttribute, TaskStatus
from lightkube import AsyncClient, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from runtime import metrics
from runtime.informer import DeletedFinalStateUnknown, Informer
from runtime.reflector import Backoff, Reflector
from runtime.testing.eventually import eventually
from runtime.transport import http_client

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class TcpProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<upstream_port>, byte for byte (TLS passes through)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.blocked = False
        self._scopes: set[anyio.CancelScope] = set()

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(SocketAttribute.local_port)
        task_status.started()
        await listener.serve(self._handle)

    def block(self) -> None:
        """Cut every relayed connection and refuse new ones until :meth:`unblock`."""
        self.blocked = True
        for scope in list(self._scopes):
            scope.cancel()

    def unblock(self) -> None:
        self.blocked = False

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            if self.blocked:
                return
            try:
                upstream = await anyio.connect_tcp("127.0.0.1", self.upstream_port)
            except OSError:
                return
            async with upstream, anyio.create_task_group() as tg:
                self._scopes.add(tg.cancel_scope)
                tg.start_soon(self._pump, client, upstream, tg.cancel_scope)
                tg.start_soon(self._pump, upstream, client, tg.cancel_scope)
            self._scopes.discard(tg.cancel_scope)

    @staticmethod
    async def _pump(src: anyio.abc.SocketStream, dst: anyio.abc.SocketStream,
                    scope: anyio.CancelScope) -> None:
        try:
            async for chunk in src:
                await dst.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            scope.cancel()  # one side closed: close both


@contextlib.asynccontextmanager
async def proxied_client(envtest: Any) -> AsyncIterator[tuple[AsyncClient, TcpProxy]]:
    """A lightkube client whose connections go through a fresh :class:`TcpProxy`."""
    cfg = yaml.safe_load(envtest.kubeconfig_path.read_text())
    server = cfg["clusters"][0]["cluster"]["server"]
    port = int(server.rsplit(":", 1)[1])
    proxy = TcpProxy(port)
    async with anyio.create_task_group() as tg:
        await tg.start(proxy.serve)
        cfg["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        client = AsyncClient(KubeConfig.from_dict(cfg))
        try:
            yield client, proxy
        finally:
            await client.close()
            tg.cancel_scope.cancel()



def cm(name: str, ns: str, **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns), data=data)


async def server_state(kube: AsyncClient, ns: str) -> dict[str, str]:
    return {c.metadata.name: c.metadata.resourceVersion async for c in kube.list(ConfigMap,
                                                                                 namespace=ns)}


def cache_state(inf: Informer) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, _ in inf.store.items():
        obj = inf.get_by_key(key)
        out[obj.metadata.name] = obj.metadata.resourceVersion
    return out


def restarts(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "controller_runtime_cache_watch_restarts_total",
        {"resource": "configmaps/v1", "reason": reason},
    ) or 0.0


class Recorder:
    def __init__(self) -> None:
        self.adds: list[tuple[str, bool]] = []
        self.updates: list[str] = []
        self.deletes: list[tuple[str, bool]] = []

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self.adds.append((obj.metadata.name, is_in_initial_list))

    def on_update(self, old: Any, new: Any) -> None:
        self.updates.append(new.metadata.name)

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.deletes.append((obj.obj.metadata.name, True))
        else:
            self.deletes.append((obj.metadata.name, False))


def informer(kube: AsyncClient, ns: str) -> Informer:
    return Informer(
        http_client(kube), ConfigMap, namespaces=[ns],
        reflector_options={"backoff": Backoff(initial=0.1, cap=0.5)},
    )


async def test_paginated_list_then_watch(kube_client: AsyncClient, namespace: str) -> None:
    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(kube_client.create, cm(f"p{i:02d}", namespace))
    http = http_client(kube_client)
    pages: list[str] = []

    async def record(request: Any) -> None:
        if request.url.params.get("watch") != "true" and namespace in request.url.path:
            pages.append(request.url.params.get("continue", ""))

    http.event_hooks["request"].append(record)
    try:
        inf = Informer(http, ConfigMap, namespaces=[namespace],
                       reflector_options={"page_size": 5})
        rec = Recorder()
        reg = inf.add_event_handler(rec)
        async with anyio.create_task_group() as tg:
            tg.start_soon(inf.run)
            await reg.wait_for_sync()  # the initial list delivered to the handler
            assert len(pages) == 3 and pages[0] == "" and all(pages[1:])
            assert sorted(rec.adds) == [(f"p{i:02d}", True) for i in range(12)]
            await kube_client.create(cm("late", namespace))
            await eventually(lambda: ("late", False) in rec.adds)
            await kube_client.delete(ConfigMap, "p00", namespace=namespace)
            await eventually(lambda: ("p00", False) in rec.deletes)
            assert cache_state(inf) == await server_state(kube_client, namespace)
            tg.cancel_scope.cancel()
    finally:
        http.event_hooks["request"].remove(record)


async def test_watch_resumes_from_resource_version_after_disconnect(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    for i in range(3):
        await kube_client.create(cm(f"r{i}", namespace))
    async with proxied_client(envtest) as (kube, proxy), anyio.create_task_group() as tg:
        inf = informer(kube, namespace)
        rec = Recorder()
        inf.add_event_handler(rec)
        tg.start_soon(inf.run)
        await inf.wait_for_sync()
        errors_before = restarts("error")

        proxy.block()  # the watch connection drops; reconnects are refused
        await kube_client.create(cm("during", namespace))
        await kube_client.delete(ConfigMap, "r0", namespace=namespace)
        await kube_client.patch(ConfigMap, "r1", {"data": {"k": "v"}}, namespace=namespace)
        await eventually(lambda: restarts("error") > errors_before)
        proxy.unblock()

        expected = await server_state(kube_client, namespace)
        await eventually(lambda: cache_state(inf) == expected)
        # resumed from the last resourceVersion: real events, no relist, no tombstones
        assert inf.reflectors[0].list_count == 1
        assert ("during", False) in rec.adds
        assert ("r0", False) in rec.deletes
        assert "r1" in rec.updates
        tg.cancel_scope.cancel()


async def test_apiserver_killed_and_restarted_nothing_lost(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    for i in range(5):
        await kube_client.create(cm(f"k{i}", namespace))
    async with proxied_client(envtest) as (kube, proxy), anyio.create_task_group() as tg:
        inf = informer(kube, namespace)
        tg.start_soon(inf.run)
        await inf.wait_for_sync()
        assert len(inf.store) == 5

        await anyio.to_thread.run_sync(envtest.kill_apiserver)
        proxy.block()  # keep the watch out after the restart while we change things
        # on the event loop's thread on purpose: envtest children get PR_SET_PDEATHSIG, which
        # fires when the *thread* that spawned them exits (anyio's worker threads do)
        envtest.start_apiserver()
        for attempt in range(50):  # the restarted apiserver may still refuse for a moment
            try:
                await kube_client.create(cm("after-restart-0", namespace))
                break
            except Exception:
                if attempt == 49:
                    raise
                await anyio.sleep(0.2)
        async with anyio.create_task_group() as writers:
            for i in range(1, 10):
                writers.start_soon(kube_client.create, cm(f"after-restart-{i}", namespace))
        await kube_client.delete(ConfigMap, "k0", namespace=namespace)
        await kube_client.patch(ConfigMap, "k1", {"data": {"x": "y"}}, namespace=namespace)
        proxy.unblock()

        expected = await server_state(kube_client, namespace)
        assert len(expected) == 14
        await eventually(lambda: cache_state(inf) == expected)
        tg.cancel_scope.cancel()


async def test_compaction_while_disconnected_relists_and_emits_missed_delete(
    envtest: Any, kube_client: AsyncClient, namespace: str
) -> None:
    for i in range(3):
        await kube_client.create(cm(f"c{i}", namespace))
    async with proxied_client(envtest) as (kube, proxy), anyio.create_task_group() as tg:
        inf = informer(kube, namespace)
        rec = Recorder()
        inf.add_event_handler(rec)
        tg.start_soon(inf.run)
        await inf.wait_for_sync()
        expired_before = restarts("expired")

        proxy.block()
        await kube_client.delete(ConfigMap, "c1", namespace=namespace)
        await kube_client.create(cm("c3", namespace))
        await anyio.to_thread.run_sync(envtest.compact_etcd)
        # a fresh apiserver has an empty watch cache, so the old resourceVersion is gone
        envtest.restart_apiserver()  # loop thread: see the PDEATHSIG note above
        proxy.unblock()

        await eventually(lambda: restarts("expired") > expired_before)
        expected = await server_state(kube_client, namespace)
        await eventually(lambda: cache_state(inf) == expected)
        assert sorted(expected) == ["c0", "c2", "c3"]
        assert inf.reflectors[0].list_count == 2  # the initial list + one relist
        assert ("c1", True) in rec.deletes  # DeletedFinalStateUnknown from the relist
        assert ("c3", False) in rec.adds  # new since the last list: not an initial add
        tg.cancel_scope.cancel()


async def test_label_and_field_selectors_scope_the_watch(
    kube_client: AsyncClient, namespace: str
) -> None:
    await kube_client.create(ConfigMap(metadata=ObjectMeta(
        name="sel-yes", namespace=namespace, labels={"team": "a"})))
    await kube_client.create(ConfigMap(metadata=ObjectMeta(
        name="sel-no", namespace=namespace, labels={"team": "b"})))
    seen: list[dict[str, Any]] = []

    class Sink:
        def replace_encoded(self, items: list[tuple[str, bytes]], rv: str) -> None:
            seen.extend(msgspec.json.decode(raw) for _key, raw in items)

        def add(self, obj: dict[str, Any]) -> None:
            seen.append(obj)

        update = add
        delete = add

    r = Reflector(http_client(kube_client), ConfigMap, Sink(), namespace=namespace,
                  label_selector={"team": "a"}, field_selector={"metadata.name": "sel-yes"})
    await r.list()
    assert [o["metadata"]["name"] for o in seen] == ["sel-yes"]
    assert all("managedFields" not in o["metadata"] for o in seen)
    # and the watch: changes to the non-matching object come first, so had the selectors not
    # reached the watch request they would be seen before the matching one
    async with anyio.create_task_group() as tg:
        tg.start_soon(r.watch)
        await kube_client.patch(ConfigMap, "sel-no", {"data": {"k": "1"}}, namespace=namespace)
        await kube_client.patch(ConfigMap, "sel-yes", {"data": {"k": "1"}},
                                namespace=namespace)
        await eventually(lambda: len(seen) > 1)
        tg.cancel_scope.cancel()
    assert [(o["metadata"]["name"], o.get("data")) for o in seen[1:]] == [
        ("sel-yes", {"k": "1"})
    ]


async def test_watch_list_streaming_initial_state(kube_client: AsyncClient,
                                                  namespace: str) -> None:
    for i in range(7):
        await kube_client.create(cm(f"w{i}", namespace))
    http = http_client(kube_client)
    lists: list[str] = []

    async def record(request: Any) -> None:
        if request.url.params.get("watch") != "true" and namespace in request.url.path:
            lists.append(str(request.url))

    http.event_hooks["request"].append(record)
    try:
        inf = Informer(http, ConfigMap, namespaces=[namespace],
                       reflector_options={"use_watch_list": True})
        rec = Recorder()
        reg = inf.add_event_handler(rec)
        async with anyio.create_task_group() as tg:
            tg.start_soon(inf.run)
            with anyio.fail_after(30):
                await reg.wait_for_sync()
            r = inf.reflectors[0]
            assert r._watch_list_supported, "kube-apiserver 1.34 serves WatchList"
            assert lists == []  # no paginated list: the state came on the watch stream
            assert sorted(rec.adds) == [(f"w{i}", True) for i in range(7)]
            await kube_client.create(cm("after", namespace))
            await eventually(lambda: ("after", False) in rec.adds)
            assert cache_state(inf) == await server_state(kube_client, namespace)
            tg.cancel_scope.cancel()
    finally:
        http.event_hooks["request"].remove(record)
