"""The informer cache against envtest: initial sync time and memory per cached object.

Setup: 10k ConfigMaps of ~1.2 KB (10 data keys) and 10k Secrets of ~1 KB data, created with 64
concurrent requests. Figures:

* ``cache_sync_10k_configmaps_s``: a fresh Cache's ConfigMap informer, start until synced
  (paginated list of 500, decode, managedFields stripped, stored), median of 3.
* ``cache_sync_10k_configmaps_watchlist_s``: the same with the streaming WatchList.
* ``cache_bytes_per_configmap``: Python heap (tracemalloc) held by the informer after sync,
  divided by the object count: stored bytes + keys + dict and index entries.
* ``cache_payload_bytes_per_configmap``: the stored JSON alone (what the encoding costs).
* ``cache_struct_bytes_per_configmap``: what the same objects would take decoded as lightkube
  models (msgspec Structs), the alternative the store format was chosen against.
* ``cache_get_us``: one cached ``Cache.get`` (a fresh decoded ConfigMap), mean.
* ``cache_list_10k_configmaps_ms``: ``Cache.list`` of every ConfigMap (10k fresh objects).
* ``cache_sync_10k_secrets_metadata_s`` / ``cache_bytes_per_secret_metadata``: the same for a
  metadata-only (PartialObjectMetadata) Secret informer; ``cache_bytes_per_secret_full`` for
  the full Secret informer, for comparison.
* ``reflector_watch_events_per_s``: watch lines (MODIFIED ConfigMaps) through decode, transform,
  store and one handler that gets the decoded (old, new) pair: the informer's own ceiling,
  without the network.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import Any

import anyio
import msgspec
from lightkube import AsyncClient, KubeConfig
from lightkube.resources.core_v1 import ConfigMap, Secret

from bench._common import cluster, configmap_1kb, create_all, post_json, secret_1kb
from bench._results import print_table, record
from runtime.cache import Cache, CacheOptions
from runtime.transport import http_client

N = 10_000
CONCURRENCY = 64
NS = "bench-cache"


def _configmap(i: int) -> dict[str, Any]:
    return configmap_1kb(f"cm-{i:05d}", NS, {"app": "bench", "shard": str(i % 10)})


def _secret(i: int) -> dict[str, Any]:
    return secret_1kb(f"s-{i:05d}", NS, {"app": "bench"})


async def _sync(kube: AsyncClient, resource: Any, metadata_only: bool,
                measure_memory: bool, watch_list: bool = False) -> tuple[float, float, Cache]:
    """(sync seconds, heap bytes held after sync, the cache); the cache keeps running until
    the caller's task group is cancelled, so it is returned to keep it alive."""
    gc.collect()
    base = tracemalloc.get_traced_memory()[0] if measure_memory else 0
    cache = Cache(kube, CacheOptions(default_namespaces=[NS], use_watch_list=watch_list))
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        await cache.start(tg)
        cache.get_informer(resource, metadata_only=metadata_only)
        await cache.wait_for_cache_sync()
        dt = time.perf_counter() - t0
        tg.cancel_scope.cancel()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base if measure_memory else 0
    return dt, float(held), cache


async def _run(kubeconfig: str) -> dict[str, float]:
    kube = AsyncClient(KubeConfig.from_file(kubeconfig))
    http = http_client(kube)
    resp = await post_json(http, "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    assert resp.status_code in (201, 409), resp.text
    t0 = time.perf_counter()
    await create_all(http, f"/api/v1/namespaces/{NS}/configmaps", _configmap, N, CONCURRENCY)
    await create_all(http, f"/api/v1/namespaces/{NS}/secrets", _secret, N, CONCURRENCY)
    setup = time.perf_counter() - t0
    print(f"   created {N} ConfigMaps + {N} Secrets in {setup:.1f} s", flush=True)

    figures: dict[str, float] = {}
    times = [(await _sync(kube, ConfigMap, False, False))[0] for _ in range(3)]
    figures["cache_sync_10k_configmaps_s"] = statistics.median(times)
    times = [(await _sync(kube, ConfigMap, False, False, watch_list=True))[0] for _ in range(3)]
    figures["cache_sync_10k_configmaps_watchlist_s"] = statistics.median(times)

    tracemalloc.start()
    _, held, cache = await _sync(kube, ConfigMap, False, True)
    tracemalloc.stop()
    inf = cache.get_informer(ConfigMap)
    n = len(inf.store)
    assert n == N, n
    figures["cache_bytes_per_configmap"] = held / n
    raws = [raw for _, raw in inf.store.items()]
    figures["cache_payload_bytes_per_configmap"] = sum(len(r) for r in raws) / n

    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    structs = [msgspec.json.decode(r, type=ConfigMap) for r in raws]
    figures["cache_struct_bytes_per_configmap"] = (tracemalloc.get_traced_memory()[0] - base) / n
    tracemalloc.stop()
    del structs

    # reads: the cache must be running for get/list; restart it (already-filled store)
    async with anyio.create_task_group() as tg:
        await cache.start(tg)
        names = [f"cm-{i:05d}" for i in range(0, N, 10)]
        t0 = time.perf_counter()
        for name in names:
            await cache.get(ConfigMap, name, NS)
        figures["cache_get_us"] = (time.perf_counter() - t0) / len(names) * 1e6
        t0 = time.perf_counter()
        listed = await cache.list(ConfigMap, NS)
        figures["cache_list_10k_configmaps_ms"] = (time.perf_counter() - t0) * 1e3
        assert len(listed) == N
        tg.cancel_scope.cancel()
    del cache, inf, raws, listed

    times = [(await _sync(kube, Secret, True, False))[0] for _ in range(3)]
    figures["cache_sync_10k_secrets_metadata_s"] = statistics.median(times)
    tracemalloc.start()
    _, held, cache = await _sync(kube, Secret, True, True)
    figures["cache_bytes_per_secret_metadata"] = held / N
    del cache
    _, held, _full = await _sync(kube, Secret, False, True)
    figures["cache_bytes_per_secret_full"] = held / N
    tracemalloc.stop()
    await kube.close()
    return figures


async def _watch_events_per_s() -> float:
    import httpx2

    from runtime.codec import encode_exact
    from runtime.informer import Informer, ResourceEventHandlerFuncs
    from runtime.store import object_key

    inf = Informer(httpx2.AsyncClient(base_url="http://unused"), ConfigMap, namespaces=[NS])
    seen = 0

    def on_update(_old: Any, _new: Any) -> None:
        nonlocal seen
        seen += 1

    inf.add_event_handler(ResourceEventHandlerFuncs(update=on_update))
    r = inf.reflectors[0]
    items = []
    for i in range(1000):
        o = _configmap(i)
        o["metadata"]["resourceVersion"] = str(i)
        items.append(o)
    r.store.replace_encoded([(object_key(o), encode_exact(o)) for o in items], "1000")
    lines = []
    for n in range(N):
        o = _configmap(n % 1000)
        o["metadata"]["resourceVersion"] = str(1000 + n)
        o["metadata"]["managedFields"] = [{"manager": "bench", "operation": "Update"}]
        lines.append(msgspec.json.encode({"type": "MODIFIED", "object": o}).decode())
    async with anyio.create_task_group() as tg:
        tg.start_soon(inf.run_handlers)  # the handler's own delivery task
        t0 = time.perf_counter()
        for line in lines:
            r._handle_line(line)
        await inf.wait_handlers_idle()
        dt = time.perf_counter() - t0
        tg.cancel_scope.cancel()
    assert seen == N
    return N / dt


def main() -> None:
    with cluster() as kubeconfig:
        figures = anyio.run(_run, kubeconfig)
    figures["reflector_watch_events_per_s"] = anyio.run(_watch_events_per_s)
    print_table(figures, "informer cache (envtest, 10k objects)")
    record(figures)


if __name__ == "__main__":
    main()
