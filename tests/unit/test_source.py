"""runtime.source.Kind without an API server: informers looked up at start, sync errors that
name the kind, optional kinds skipped and picked up once served."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime.controller import CacheSyncTimeoutError, Controller
from runtime.handler import EnqueueRequestForObject
from runtime.reconcile import Request, Result
from runtime.restmapper import GVK, NoKindMatchError
from runtime.source import Kind

pytestmark = pytest.mark.anyio


class Widget:
    __group__, __version__, __kind__ = "example.com", "v1", "Widget"
    __plural__ = "widgets"


class Informer:
    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def add_event_handler(self, h: Any, concurrency: int = 4) -> None:
        self.handlers.append(h)

    async def wait_for_sync(self) -> None:
        return None


class Cache:
    """Serves Widget only once ``served`` is set; counts lookups."""

    def __init__(self, served: bool = False) -> None:
        self.served = served
        self.lookups = 0
        self.informer = Informer()

    async def informer_for(self, resource: Any, metadata_only: bool = False) -> Informer:
        self.lookups += 1
        if not self.served:
            raise NoKindMatchError(GVK("example.com", "v1", "Widget"))
        return self.informer


class Rec:
    def __init__(self) -> None:
        self.calls: list[Request] = []

    async def reconcile(self, req: Request) -> Result:
        self.calls.append(req)
        return Result()


async def test_unserved_kind_fails_the_controller_within_its_sync_timeout() -> None:
    ctrl = Controller("src-unserved", Rec(), cache_sync_timeout=0.3)
    ctrl.watch(Kind(Cache(), Widget, EnqueueRequestForObject()))
    with anyio.fail_after(5), pytest.raises(CacheSyncTimeoutError) as err:
        await ctrl.start(anyio.Event())
    assert "src-unserved" in str(err.value)
    assert 'no matches for kind "Widget" in version "example.com/v1"' in str(err.value)


async def test_optional_kind_is_skipped_then_watched_once_served() -> None:
    cache = Cache()
    kind = Kind(cache, Widget, EnqueueRequestForObject(), optional=True, recheck_period=0.05)
    ctrl = Controller("src-optional", Rec(), cache_sync_timeout=5)
    ctrl.watch(kind)
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ctrl.start, stopping)
        with anyio.fail_after(5):
            await ctrl.synced.wait()  # not served: nothing to sync, the controller runs
        assert not kind.watching and cache.informer.handlers == []
        cache.served = True
        with anyio.fail_after(5):
            while not kind.watching:
                await anyio.sleep(0.01)
        assert len(cache.informer.handlers) == 1
        stopping.set()
    assert kind.sync_error() is None


async def test_wait_for_sync_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        await Kind(Cache(), Widget, EnqueueRequestForObject()).wait_for_sync()


async def test_controller_is_synced_only_once_initial_async_mappings_are_queued() -> None:
    """c-r's handler.HasSynced: the initial list's requests, async map functions included,
    are on the queue before the controller reports synced and its workers start."""
    import httpx2
    from lightkube.resources.core_v1 import ConfigMap

    from runtime.handler import EnqueueRequestsFromMapFunc
    from runtime.informer import Informer

    inf = Informer(httpx2.AsyncClient(base_url="http://unused"), ConfigMap)
    inf.reflectors[0].store.replace(
        [{"metadata": {"name": f"c{i}", "namespace": "ns", "resourceVersion": "1"}}
         for i in range(6)], "1")
    release = anyio.Event()

    async def slow_map(obj: Any) -> list[Request]:
        await release.wait()
        return [Request("ns", "mapped-" + obj.metadata.name)]

    class OneInformer:
        async def informer_for(self, resource: Any, metadata_only: bool = False) -> Informer:
            return inf

    rec = Rec()
    ctrl = Controller("src-hassynced", rec, cache_sync_timeout=5)
    ctrl.watch(Kind(OneInformer(), ConfigMap, EnqueueRequestsFromMapFunc(slow_map)))
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(inf.run_handlers)
        tg.start_soon(ctrl.start, stopping)
        await anyio.sleep(0.2)
        assert not ctrl.synced.is_set()  # six mappings still running
        release.set()
        with anyio.fail_after(5):
            await ctrl.synced.wait()
        # the workers start with the synced flag: every mapped request was queued before
        assert len(ctrl.queue) + len(rec.calls) == 6  # type: ignore[arg-type]
        with anyio.fail_after(5):
            while len(rec.calls) < 6:
                await anyio.sleep(0.01)
        stopping.set()
        tg.cancel_scope.cancel()
    assert sorted(r.name for r in rec.calls) == [f"mapped-c{i}" for i in range(6)]
