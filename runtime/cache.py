"""The shared informer cache and its reader (controller-runtime's ``pkg/cache``).

A :class:`Cache` holds one :class:`~runtime.informer.Informer` per (resource type,
projection): full objects, or metadata only (``PartialObjectMetadata``, so 10k Secrets can be
watched without their data). Reads (``get``, ``list``) decode fresh objects from the
informer's store (``runtime.store``: JSON bytes, half the memory of the most compact decoded
form), so the caller owns what it reads and may mutate it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx2
from anyio.abc import TaskStatus

from runtime.codec import Transform, api_error, strip_managed_fields
from runtime.informer import Informer
from runtime.restmapper import ResourceInfo, RESTMapper, gvk_of, resource_info
from runtime.selector import LabelSelector
from runtime.transport import close_pool, instrument, separate_pool_client

__all__ = [
    "ByObject",
    "Cache",
    "CacheNotStartedError",
    "CacheOptions",
    "CacheSyncTimeoutError",
]

log = logging.getLogger(__name__)


class CacheNotStartedError(RuntimeError):
    """controller-runtime's ``ErrCacheNotStarted``."""


@dataclass
class ByObject:
    """Per-type cache options (controller-runtime's ``cache.ByObject``). ``None`` inherits the
    cache-wide default; ``namespaces=[]`` means all namespaces."""

    namespaces: Sequence[str] | None = None
    label_selector: LabelSelector | None = None
    field_selector: LabelSelector | None = None
    transform: Transform | None = None
    #: set to True to store objects untransformed even if the cache has a default transform
    disable_transform: bool = False
    sync_period: float | None = None


@dataclass
class CacheOptions:
    """controller-runtime's ``cache.Options`` (the parts that apply here)."""

    default_namespaces: Sequence[str] | None = None
    default_label_selector: LabelSelector | None = None
    default_field_selector: LabelSelector | None = None
    default_transform: Transform | None = strip_managed_fields
    by_object: Mapping[Any, ByObject] = field(default_factory=dict)
    #: c-r ``SyncPeriod``: periodic local resync (``on_update(obj, obj)``), default 10 h;
    #: None disables it
    sync_period: float | None = 10 * 3600.0
    #: fail reads of types without an informer instead of starting one (c-r
    #: ``ReaderFailOnMissingInformer``)
    reader_fail_on_missing_informer: bool = False
    #: passed to every Reflector (e.g. ``{"backoff": Backoff(initial=0.1)}`` in tests)
    reflector_options: Mapping[str, Any] = field(default_factory=dict)
    #: client-go's WatchList (streaming initial list from the watch cache, falls back to a
    #: paginated list when the server refuses it); off by default like c-r today
    use_watch_list: bool = False


class CacheSyncTimeoutError(TimeoutError):
    """Informers did not sync in time; the message names each kind and why (the last list
    error: missing RBAC, CRD not installed...)."""


class Cache:
    """Shared informers plus a reader over them (controller-runtime's ``cache.Cache``).

    Lifecycle::

        cache = Cache(kube_client, CacheOptions(...))
        cache.get_informer(ConfigMap)            # optional: register before start
        async with anyio.create_task_group() as tg:
            await cache.start(tg)                # returns once running (not synced)
            await cache.wait_for_cache_sync()
            cm = await cache.get(ConfigMap, "name", namespace="ns")
            ...
            tg.cancel_scope.cancel()             # stops every reflector

    Informers requested after start are started at once in the cache's task group. Controllers
    ask for theirs with :meth:`informer_for` when they start, which checks with the
    :class:`~runtime.restmapper.RESTMapper` that the kind is served first (an unserved kind
    raises :class:`~runtime.restmapper.NoKindMatchError` rather than creating an informer that
    can never sync), as controller-runtime does. A read of a type without an informer does the
    same and waits for it to sync (unless ``reader_fail_on_missing_informer``); a read waiting
    for an informer whose list is refused (403, 404) raises that error instead of hanging.
    Reads return fresh objects the caller may mutate.

    The reflectors' lists and watches use ``http`` if given, else a client made by
    :func:`~runtime.transport.separate_pool_client` from ``kube`` (same server and
    credentials, its own unbounded connection pool, one connection per reflector at most), so
    that long-lived watches never occupy the connections ``kube`` serves writes and direct
    reads from. If ``kube``'s transport cannot be copied (a custom transport) the reflectors
    share ``kube``'s pool, as before. The connections of a pool the cache made are closed when
    it stops.
    """

    def __init__(
        self,
        kube: Any,
        options: CacheOptions | None = None,
        *,
        http: httpx2.AsyncClient | None = None,
        rest_mapper: RESTMapper | None = None,
    ) -> None:
        self._own_http: httpx2.AsyncClient | None = None
        if http is None:
            self._own_http = separate_pool_client(kube)
            if self._own_http is None:
                log.info("cache: cannot copy the client's transport; the reflectors share its "
                         "connection pool")
            http = self._own_http if self._own_http is not None else kube
        self.http = instrument(http)  # rest_client_* metrics for lists and watches
        self.rest_mapper = rest_mapper if rest_mapper is not None else RESTMapper(self.http)
        self.options = options or CacheOptions()
        self._informers: dict[tuple[ResourceInfo, bool], Informer] = {}
        #: (type, metadata_only) -> informer: the reads' fast path (no lookup, no await)
        self._by_type: dict[tuple[Any, bool], Informer] = {}
        self._tg: anyio.abc.TaskGroup | None = None

    # ------------------------------------------------------------- informers

    def _by_object(self, resource: Any) -> ByObject:
        by = self.options.by_object
        opt = by.get(resource)
        if opt is None:
            gvk = gvk_of(resource)
            for k, v in by.items():
                if gvk_of(k) == gvk:
                    return v
        return opt or ByObject()

    def get_informer(
        self, resource: Any, *, metadata_only: bool = False, info: ResourceInfo | None = None
    ) -> Informer:
        """The shared informer of ``resource`` (and projection), created on first use.

        No request is made: ``resource`` must declare its plural (lightkube types, custom
        resources with ``__crd__``), or pass ``info`` (from the RESTMapper). Prefer
        :meth:`informer_for`, which checks that the kind is served."""
        if info is None:
            info = resource_info(resource)
        key = (info, metadata_only)
        inf = self._informers.get(key)
        if inf is not None:
            return inf
        o = self.options
        bo = self._by_object(resource)
        namespaces = bo.namespaces if bo.namespaces is not None else o.default_namespaces
        transform = None if bo.disable_transform else (bo.transform or o.default_transform)
        inf = Informer(
            self.http,
            resource,
            info=info,
            metadata_only=metadata_only,
            namespaces=namespaces,
            label_selector=bo.label_selector
            if bo.label_selector is not None
            else o.default_label_selector,
            field_selector=bo.field_selector
            if bo.field_selector is not None
            else o.default_field_selector,
            transform=transform,
            reflector_options={"use_watch_list": o.use_watch_list, **o.reflector_options},
            resync_period=bo.sync_period if bo.sync_period is not None else o.sync_period,
        )
        self._informers[key] = inf
        with contextlib.suppress(TypeError):  # an unhashable resource: no fast path
            self._by_type.setdefault((resource, metadata_only), inf)
        if self._tg is not None:
            self._tg.start_soon(inf.run, name=f"informer {info.metric_label(metadata_only)}")
        return inf

    async def informer_for(self, resource: Any, *, metadata_only: bool = False) -> Informer:
        """The shared informer of ``resource``, created (and started, if the cache runs) on
        first use once discovery confirms the kind is served (c-r's ``GetInformer``).
        Raises :class:`~runtime.restmapper.NoKindMatchError` for an unserved kind."""
        with contextlib.suppress(TypeError):
            inf = self._by_type.get((resource, metadata_only))
            if inf is not None:
                return inf
        info = await self.rest_mapper.mapping(resource)
        return self.get_informer(resource, metadata_only=metadata_only, info=info)

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def index_field(
        self,
        resource: Any,
        field_name: str,
        extract: Callable[[Any], Iterable[str]],
        *,
        metadata_only: bool = False,
    ) -> None:
        """controller-runtime's ``FieldIndexer.IndexField``: afterwards
        ``list(resource, fields={field_name: value})`` is an index lookup."""
        self.get_informer(resource, metadata_only=metadata_only).index_field(field_name, extract)

    # ------------------------------------------------------------- lifecycle

    @property
    def started(self) -> bool:
        return self._tg is not None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run every informer (present and future) until cancelled."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for key, inf in self._informers.items():
                    tg.start_soon(inf.run, name=f"informer {key[0].metric_label(key[1])}")
                task_status.started()
                try:
                    await anyio.sleep_forever()
                finally:
                    self._tg = None
        finally:
            if self._own_http is not None:  # every reflector has stopped: close its pool
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await close_pool(self._own_http)

    async def start(self, task_group: anyio.abc.TaskGroup) -> None:
        """Start :meth:`run` in ``task_group``; returns once informers are running."""
        await task_group.start(self.run)

    async def wait_for_cache_sync(self, within: float | None = None) -> bool:
        """Wait until every informer created so far has synced. With ``within`` seconds, raise
        :class:`CacheSyncTimeoutError` naming the informers that did not, and why."""
        pending = list(self._informers.values())
        with anyio.move_on_after(within if within is not None else math.inf):
            for inf in pending:
                await inf.wait_for_sync()
            return True
        late = [inf for inf in pending if not inf.has_synced()]
        why = "; ".join(
            f"{inf.info.describe()}: {inf.sync_error() or 'no answer to the list yet'}"
            for inf in late
        )
        raise CacheSyncTimeoutError(
            f"timed out after {within}s waiting for caches to sync: {why}"
        )

    # ------------------------------------------------------------- reads

    async def _informer_for_read(self, resource: Any, metadata_only: bool) -> Informer:
        if self._tg is None:
            raise CacheNotStartedError("the cache is not started, can not read objects")
        try:
            inf = self._by_type.get((resource, metadata_only))
        except TypeError:
            inf = None
        if inf is None:
            if self.options.reader_fail_on_missing_informer:
                info = await self.rest_mapper.resource_info(resource)
                inf = self._informers.get((info, metadata_only))
                if inf is None:
                    raise LookupError(f"{info.kind} is not cached (no informer)")
            else:
                inf = await self.informer_for(resource, metadata_only=metadata_only)
        if not inf.has_synced():
            await inf.wait_for_sync_or_error()
        return inf

    async def get(
        self,
        resource: Any,
        name: str,
        namespace: str | None = None,
        *,
        metadata_only: bool = False,
    ) -> Any:
        """The cached object (a fresh copy), or lightkube ``ApiError`` 404 NotFound."""
        inf = await self._informer_for_read(resource, metadata_only)
        key = f"{namespace}/{name}" if inf.info.namespaced and namespace else name
        if inf.info.namespaced and not namespace:
            raise ValueError(f"{inf.info.kind} is namespaced: namespace is required")
        if inf.namespaces is not None and namespace not in inf.namespaces:
            raise ValueError(
                f"unable to get: namespace {namespace!r} is not cached for {inf.info.kind}"
            )
        obj = inf.get_by_key(key)
        if obj is None:
            raise api_error(
                404, "NotFound", f'{inf.info.plural} "{name}" not found'
            )
        return obj

    async def list(
        self,
        resource: Any,
        namespace: str | None = None,
        *,
        labels: LabelSelector | None = None,
        fields: Mapping[str, str] | None = None,
        metadata_only: bool = False,
    ) -> list[Any]:
        """Cached objects (fresh copies), filtered by namespace, label selector and exact
        field matches: ``metadata.name``, ``metadata.namespace`` or an indexed field.

        An object the type cannot decode makes the whole call raise (the reconcile fails and
        is retried) rather than being silently left out of the result."""
        inf = await self._informer_for_read(resource, metadata_only)
        return [inf.decode(raw) for raw in inf.list_raw(namespace, labels, fields)]
