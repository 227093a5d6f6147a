"""runtime.cache on a real kube-apiserver: metadata-only informers, field indexes, scoping."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, Secret

from runtime import metrics
from runtime.cache import ByObject, Cache, CacheNotStartedError, CacheOptions
from runtime.codec import PartialObjectMetadata
from runtime.informer import ResourceEventHandlerFuncs
from runtime.testing.eventually import eventually

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@contextlib.asynccontextmanager
async def started(cache: Cache) -> AsyncIterator[Cache]:
    async with anyio.create_task_group() as tg:
        await cache.start(tg)
        try:
            yield cache
        finally:
            tg.cancel_scope.cancel()



async def test_metadata_only_secrets_hold_no_data(kube_client: AsyncClient,
                                                  namespace: str) -> None:
    for i in range(5):
        await kube_client.create(Secret(
            metadata=ObjectMeta(name=f"s{i}", namespace=namespace, labels={"i": str(i)}),
            stringData={"password": f"hunter{i}" * 100},
        ))
    cache = Cache(kube_client, CacheOptions(default_namespaces=[namespace]))
    async with started(cache):
        meta_inf = cache.get_informer(Secret, metadata_only=True)
        full_inf = cache.get_informer(Secret)
        assert meta_inf is not full_inf  # one informer per projection
        assert cache.get_informer(Secret, metadata_only=True) is meta_inf  # shared
        await cache.wait_for_cache_sync()

        assert len(meta_inf.store) == 5
        for _key, raw in meta_inf.store.items():
            assert b'"data"' not in raw and b'"password"' not in raw
        for _key, raw in full_inf.store.items():
            assert b'"password"' in raw  # the full projection does hold it
        meta_bytes = sum(len(raw) for _, raw in meta_inf.store.items())
        full_bytes = sum(len(raw) for _, raw in full_inf.store.items())
        assert meta_bytes * 3 < full_bytes

        s = await cache.get(Secret, "s3", namespace, metadata_only=True)
        assert isinstance(s, PartialObjectMetadata)
        assert (s.apiVersion, s.kind) == ("v1", "Secret")
        assert s.metadata.labels == {"i": "3"} and s.metadata.uid
        listed = await cache.list(Secret, namespace, labels={"i": "1"}, metadata_only=True)
        assert [x.metadata.name for x in listed] == ["s1"]
        full = await cache.get(Secret, "s3", namespace)
        assert isinstance(full, Secret) and full.data and "password" in full.data

        # watch events keep the projection: no data arrives later either
        await kube_client.create(Secret(metadata=ObjectMeta(name="late", namespace=namespace),
                                        stringData={"k": "hunter-late"}))
        await eventually(lambda: meta_inf.store.get(f"{namespace}/late") is not None)
        assert b'"data"' not in (meta_inf.store.get(f"{namespace}/late") or b"")
        gauge = metrics.REGISTRY.get_sample_value(
            "controller_runtime_cache_objects", {"resource": "secrets/v1:metadata"}
        )
        assert gauge == 6


def pod(name: str, ns: str, node: str) -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace=ns),
               spec=PodSpec(nodeName=node, containers=[Container(name="c", image="busybox")]))


async def test_field_indexer_lookups(kube_client: AsyncClient, namespace: str) -> None:
    other = f"{namespace}-b"
    await kube_client.create(Namespace(metadata=ObjectMeta(name=other)))
    try:
        for name, ns, node in [("a1", namespace, "node-1"), ("a2", namespace, "node-2"),
                               ("b1", other, "node-1"), ("b2", other, "node-1")]:
            await kube_client.create(pod(name, ns, node))
        cache = Cache(kube_client, CacheOptions(default_namespaces=[namespace, other]))
        cache.index_field(Pod, "spec.nodeName",
                          lambda p: [p.spec.nodeName] if p.spec and p.spec.nodeName else [])
        async with started(cache):
            await cache.wait_for_cache_sync()

            async def names(ns: str | None, **fields: str) -> list[str]:
                return sorted(p.metadata.name for p in await cache.list(Pod, ns, fields=fields))

            assert await names(None, **{"spec.nodeName": "node-1"}) == ["a1", "b1", "b2"]
            assert await names(namespace, **{"spec.nodeName": "node-1"}) == ["a1"]
            assert await names(other, **{"spec.nodeName": "node-1"}) == ["b1", "b2"]
            assert await names(None, **{"spec.nodeName": "node-3"}) == []
            assert await names(None, **{"metadata.name": "a2"}) == ["a2"]
            with pytest.raises(ValueError, match="not supported"):
                await cache.list(Pod, fields={"spec.serviceAccountName": "x"})
            # the index follows deletions
            await kube_client.delete(Pod, "b1", namespace=other, grace_period=0)

            async def b1_gone() -> bool:
                return await names(None, **{"spec.nodeName": "node-1"}) == ["a1", "b2"]

            await eventually(b1_gone)
            with pytest.raises(ValueError, match="not cached"):
                await cache.list(Pod, "elsewhere")
    finally:
        await kube_client.delete(Namespace, other)


async def test_by_object_scoping_transform_and_late_handlers(
    kube_client: AsyncClient, namespace: str
) -> None:
    for i in range(4):
        await kube_client.create(ConfigMap(
            metadata=ObjectMeta(name=f"cm{i}", namespace=namespace,
                                labels={"keep": "yes" if i % 2 == 0 else "no"}),
            data={"big": "x" * 1000},
        ))

    def drop_data(obj: dict[str, Any]) -> dict[str, Any]:
        obj.pop("data", None)
        return obj

    cache = Cache(kube_client, CacheOptions(by_object={
        ConfigMap: ByObject(namespaces=[namespace], label_selector={"keep": "yes"},
                            transform=drop_data),
    }))
    with pytest.raises(CacheNotStartedError):
        await cache.get(ConfigMap, "cm0", namespace)
    async with started(cache):
        # reading a type nobody registered starts its informer and waits for it
        cms = await cache.list(ConfigMap, namespace)
        assert sorted(c.metadata.name for c in cms) == ["cm0", "cm2"]
        assert all(c.data is None for c in cms)

        inf = cache.get_informer(ConfigMap)
        adds: list[tuple[str, bool]] = []
        reg = inf.add_event_handler(ResourceEventHandlerFuncs(
            add=lambda o, initial: adds.append((o.metadata.name, initial))))
        # synthetic initial adds, delivered through the late handler's own buffer
        with anyio.fail_after(5):
            await reg.wait_for_sync()
        assert sorted(adds) == [("cm0", True), ("cm2", True)]
        # cm8 first: the watch delivers in order, so once cm9 is seen, cm8 would have been too
        # had the label selector not scoped the watch
        await kube_client.create(ConfigMap(
            metadata=ObjectMeta(name="cm8", namespace=namespace, labels={"keep": "no"})))
        await kube_client.create(ConfigMap(
            metadata=ObjectMeta(name="cm9", namespace=namespace, labels={"keep": "yes"})))
        await eventually(lambda: ("cm9", False) in adds)
        assert ("cm8", False) not in adds
        # the namespaces resource is unaffected by the ConfigMap scoping
        nss = await cache.list(Namespace)
        assert namespace in {n.metadata.name for n in nss}
