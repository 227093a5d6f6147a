"""Shared informers and the cache-backed reader (controller-runtime's ``pkg/cache``).

One :class:`Informer` per (resource type, projection) per :class:`Cache`, i.e. per process:
every controller watching ConfigMaps and every cached ``client.get(ConfigMap, ...)`` share one
list+watch and one store. The projection is either full objects or metadata only
(``PartialObjectMetadata``, so 10k Secrets can be watched without their data).

Store format: **JSON bytes**, decoded on every read. Measured (``bench/bench_cache.py``,
10k ConfigMaps of ~1.2 KB with 10 data keys, on envtest; Python 3.11, msgspec 0.22, heap
measured with tracemalloc after the initial sync):

=================================== ============== ==============================
held as                              bytes/object   cost of a private copy
=================================== ============== ==============================
JSON ``bytes`` (chosen), whole cache 1,430          decode on read: ~3.6 us/get
  of which the JSON itself           1,254
lightkube model (msgspec Struct)     2,624          ``copy.deepcopy``: ~24 us
plain ``dict``                       ~3,060         ``copy.deepcopy``: more
=================================== ============== ==============================

(The bytes are copied out of a reused encode buffer: ``msgspec.json.encode`` hands back its
growth buffer, which measured 1,876 bytes allocated per 1,254-byte object.) A metadata-only
Secret costs ~400 bytes; the initial sync of 10k ConfigMaps takes ~0.5 s and a ``list`` of
all 10k (fresh objects) ~33 ms.

So the encoded form is both half the memory of the most compact decoded form and makes the
"caller may mutate what it read" guarantee (controller-runtime deep-copies on every read)
cheaper than a deep copy would be: **every** ``get``/``list`` returns freshly decoded objects
the caller owns and may mutate. A (re)list reaches the store already in this form: the
reflector encodes each item as its page arrives and :meth:`Store.replace_encoded` adopts those
bytes (an unchanged object keeps its stored copy), so the list is never held decoded (that
cost a manager started with 10k ConfigMaps + 10k Secrets ~30 MB of RSS, see
``bench/bench_manager.py``). Index keys are computed when an object is stored, and label
matching decodes only ``metadata`` (msgspec skips the rest). The store is a plain dict keyed
``namespace/name`` (cluster scoped: ``name``); there are no threads, so no locks: it is only
touched from the event loop.

Event handlers (:class:`ResourceEventHandler`) are called synchronously on the reflector's
task, **after** the store was updated (client-go's ``processDeltas`` order), with one decoded
object shared by all handlers of that event: handlers must not mutate it and must not block
(hand work to a work queue). A handler added after the informer synced first gets a synthetic
``on_add(obj, is_in_initial_list=True)`` for every object already cached, as client-go does.
Deletions inferred from a relist (the object vanished while the watch was down) are delivered
as ``on_delete(DeletedFinalStateUnknown(key, last_known_obj))``.

A relist (after a 410) calls ``on_update`` only for objects whose resourceVersion changed, not
for every object as client-go's ``Replaced`` delta does; unchanged objects need no reconcile
and a relist of 10k objects would otherwise enqueue 10k keys.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.abc
import anyio.lowlevel
import httpx2
import msgspec
from anyio.abc import TaskStatus
from lightkube.core.exceptions import ApiError

from runtime import metrics
from runtime.codec import (
    PartialObjectMetadata,
    Transform,
    api_error,
    decode_object,
    encode_exact,
    strip_managed_fields,
)
from runtime.reflector import Reflector
from runtime.restmapper import ResourceInfo, RESTMapper, gvk_of, resource_info
from runtime.selector import LabelSelector, selector_of
from runtime.transport import close_pool, instrument, separate_pool_client

__all__ = [
    "ALL_NAMESPACES_INDEX_PREFIX",
    "NAMESPACE_INDEX",
    "ByObject",
    "Cache",
    "CacheNotStartedError",
    "CacheOptions",
    "CacheSyncTimeoutError",
    "DeletedFinalStateUnknown",
    "HandlerRegistration",
    "IndexFunc",
    "Informer",
    "ResourceEventHandler",
    "ResourceEventHandlerFuncs",
    "Store",
    "field_index_name",
    "object_key",
]

log = logging.getLogger(__name__)

NAMESPACE_INDEX = "namespace"
"""client-go's ``cache.NamespaceIndex``: always present."""
ALL_NAMESPACES_INDEX_PREFIX = "__all_namespaces"
"""controller-runtime's key prefix for field-index values regardless of namespace."""

IndexFunc = Callable[[dict[str, Any]], list[str]]
"""A store index function: a cached object (its JSON dict) -> the index values."""


def field_index_name(field_name: str) -> str:
    """controller-runtime's ``FieldIndexName``: ``field:<name>``."""
    return f"field:{field_name}"


def object_key(obj: Mapping[str, Any]) -> str:
    """client-go's ``MetaNamespaceKeyFunc``: ``namespace/name``, or ``name`` when cluster
    scoped."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def _key_namespace(key: str) -> str:
    ns, sep, _ = key.partition("/")
    return ns if sep else ""


# --------------------------------------------------------------------------- store


class _Meta(msgspec.Struct):
    """Just enough of an object to match selectors without decoding it all."""

    resourceVersion: str | None = None
    labels: dict[str, str] | None = None


class _MetaOnly(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


_meta_decoder = msgspec.json.Decoder(_MetaOnly)


class Store:
    """An indexed, thread-free store of encoded objects keyed ``namespace/name``.

    client-go's ``Indexer`` over a ``ThreadSafeStore``, minus the threads. The namespace index
    is always present and derived from the key; other indexers are functions of the object's
    JSON dict, evaluated when an object is stored (and on the previous version when it is
    replaced or removed, so no reverse map is kept)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, bytes] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        for name in self._indexers:
            self._indices[name] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # ------------------------------------------------------------- indexes

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexers, indexing what is already stored (allowed after start, as client-go)."""
        for name, fn in indexers.items():
            if name in self._indices:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = fn
            idx: dict[str, set[str]] = {}
            self._indices[name] = idx
            for key, raw in self._items.items():
                try:
                    values = fn(msgspec.json.decode(raw))
                except Exception:
                    log.exception("index function %r failed on %s; not indexed", name, key)
                    continue
                for v in values:
                    idx.setdefault(v, set()).add(key)

    @property
    def indexers(self) -> Mapping[str, IndexFunc]:
        return dict(self._indexers)

    def _index(self, key: str, obj: dict[str, Any] | None, add: bool) -> None:
        ns = _key_namespace(key)
        ns_idx = self._indices[NAMESPACE_INDEX]
        if add:
            ns_idx.setdefault(ns, set()).add(key)
        else:
            keys = ns_idx.get(ns)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del ns_idx[ns]
        if obj is None or not self._indexers:
            return
        for name, fn in self._indexers.items():
            idx = self._indices[name]
            try:
                values = fn(obj)
            except Exception:
                log.exception("index function %r failed on %s; not indexed", name, key)
                continue
            for v in values:
                if add:
                    idx.setdefault(v, set()).add(key)
                else:
                    keys = idx.get(v)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del idx[v]

    def _unindex(self, key: str, raw: bytes) -> None:
        self._index(key, msgspec.json.decode(raw) if self._indexers else None, add=False)

    # ------------------------------------------------------------- writes

    def put(self, obj: dict[str, Any]) -> tuple[str, bytes | None, bytes]:
        """Insert or replace ``obj``; returns ``(key, previous bytes or None, new bytes)``."""
        return self.put_encoded(object_key(obj), encode_exact(obj), obj)

    def put_encoded(
        self, key: str, raw: bytes, obj: dict[str, Any] | None = None
    ) -> tuple[str, bytes | None, bytes]:
        """Insert or replace an already encoded object (``raw`` is kept as is: it must be
        exact-size JSON, see :func:`~runtime.codec.encode_exact`); ``obj`` is its decoded
        form if the caller has it (for the indexers; decoded from ``raw`` otherwise).

        Returns ``(key, previous bytes or None, stored bytes)``. Bytes equal to what is
        stored (an unchanged object in a relist) keep the stored copy and its index
        entries."""
        old = self._items.get(key)
        if old is not None:
            if old == raw:
                return key, old, old
            self._unindex(key, old)
        self._items[key] = raw
        if self._indexers and obj is None:
            obj = msgspec.json.decode(raw)
        self._index(key, obj, add=True)
        return key, old, raw

    def remove(self, key: str) -> bytes | None:
        """Remove ``key``; returns what was stored, or None."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(
        self, objs: Iterable[dict[str, Any]], namespace: str | None = None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        """client-go's ``Replace``: the store's content in scope (``namespace``, or everything
        when None) becomes exactly ``objs``.

        Returns ``(upserts, deletes)``: ``(key, old, new)`` per listed object, and
        ``(key, last stored bytes)`` per object that was in scope but is not listed."""
        return self._drop_unlisted([self.put(o) for o in objs], namespace)

    def replace_encoded(
        self, items: Iterable[tuple[str, bytes]], namespace: str | None = None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        """:meth:`replace` with pre-encoded ``(key, bytes)`` items (see :meth:`put_encoded`):
        what a reflector's list hands over, so a 10k-object list is never held decoded."""
        return self._drop_unlisted(
            [self.put_encoded(key, raw) for key, raw in items], namespace
        )

    def _drop_unlisted(
        self, upserts: list[tuple[str, bytes | None, bytes]], namespace: str | None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        seen = {k for k, _, _ in upserts}
        if namespace is None:
            scope: Iterable[str] = list(self._items)
        else:
            scope = list(self._indices[NAMESPACE_INDEX].get(namespace, ()))
        deletes: list[tuple[str, bytes]] = []
        for key in scope:
            if key not in seen:
                old = self.remove(key)
                if old is not None:
                    deletes.append((key, old))
        return upserts, deletes

    # ------------------------------------------------------------- reads

    def get(self, key: str) -> bytes | None:
        return self._items.get(key)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, bytes]]:
        return iter(list(self._items.items()))

    def index_keys(self, index_name: str, value: str) -> set[str]:
        """client-go's ``IndexKeys``: the keys whose ``index_name`` values include ``value``."""
        idx = self._indices.get(index_name)
        if idx is None:
            raise KeyError(f"index {index_name!r} does not exist")
        return set(idx.get(value, ()))

    def by_index(self, index_name: str, value: str) -> list[bytes]:
        return [self._items[k] for k in self.index_keys(index_name, value)]

    def list_index_values(self, index_name: str) -> list[str]:
        return list(self._indices.get(index_name, {}))


# --------------------------------------------------------------------------- handlers


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """client-go's tombstone: the object was deleted while we were not watching; ``obj`` is
    the last state the cache held (controller-runtime: ``DeleteEvent.DeleteStateUnknown``)."""

    key: str
    obj: Any


class ResourceEventHandler(Protocol):
    """client-go's ``ResourceEventHandler``. Called synchronously from the informer; must not
    block or mutate the objects."""

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None: ...

    def on_update(self, old: Any, new: Any) -> None: ...

    def on_delete(self, obj: Any) -> None:
        """``obj`` is the final object, or a :class:`DeletedFinalStateUnknown`."""
        ...


@dataclass
class ResourceEventHandlerFuncs:
    """client-go's ``ResourceEventHandlerFuncs``: any subset of the three callbacks."""

    add: Callable[[Any, bool], None] | None = None
    update: Callable[[Any, Any], None] | None = None
    delete: Callable[[Any], None] | None = None

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        if self.add is not None:
            self.add(obj, is_in_initial_list)

    def on_update(self, old: Any, new: Any) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: Any) -> None:
        if self.delete is not None:
            self.delete(obj)


class HandlerRegistration:
    """Returned by :meth:`Informer.add_event_handler` (client-go's
    ``ResourceEventHandlerRegistration``)."""

    def __init__(self, informer: Informer, handler: ResourceEventHandler) -> None:
        self.informer = informer
        self.handler = handler

    def has_synced(self) -> bool:
        """True once the handler has been told about every object of the initial list
        (delivery is synchronous, so: once the informer has synced)."""
        return self.informer.has_synced()

    async def wait_for_sync(self) -> None:
        await self.informer.wait_for_sync()


# --------------------------------------------------------------------------- informer


class CacheNotStartedError(RuntimeError):
    """controller-runtime's ``ErrCacheNotStarted``."""


class _Sink:
    """The :class:`ReflectorStore` of one reflector: replace is scoped to its namespace."""

    def __init__(self, informer: Informer, namespace: str | None) -> None:
        self.informer = informer
        self.namespace = namespace
        self.lists = 0

    def replace_encoded(self, items: Sequence[tuple[str, bytes]], resource_version: str) -> None:
        initial = self.lists == 0
        self.lists += 1
        self.informer._replace(items, self.namespace, initial)

    def replace(self, items: Iterable[dict[str, Any]], resource_version: str) -> None:
        """:meth:`replace_encoded` from decoded objects (tests, tools)."""
        self.replace_encoded([(object_key(o), encode_exact(o)) for o in items],
                             resource_version)

    def add(self, obj: dict[str, Any]) -> None:
        self.informer._upsert(obj)

    def update(self, obj: dict[str, Any]) -> None:
        self.informer._upsert(obj)

    def delete(self, obj: dict[str, Any]) -> None:
        self.informer._delete(obj)


def list_error_hint(info: ResourceInfo, err: BaseException, namespace: str | None = None) -> str:
    """A failed list or watch of ``info``, said so that an operator knows what to fix."""
    where = f" in namespace {namespace!r}" if namespace else ""
    res = f"{info.plural}.{info.group}" if info.group else info.plural
    if isinstance(err, ApiError):
        code, msg = err.status.code, err.status.message or err.status.reason or ""
        if code == 403:
            return (f"listing {info.describe()}{where} is forbidden (403: {msg}): the "
                    f"manager's RBAC must allow get, list and watch on {res}")
        if code == 404:
            return (f"the API server does not serve {info.describe()} (404: {msg}): is its "
                    "CRD installed?")
        return f"listing {info.describe()}{where} failed ({code}: {msg})"
    return f"listing {info.describe()}{where} failed ({type(err).__name__}: {err})"


class Informer:
    """A shared informer: reflector(s) + indexed store + event handlers.

    One reflector per namespace when scoped to several namespaces (controller-runtime's
    multi-namespace cache), all feeding one store.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        resource: Any,
        *,
        metadata_only: bool = False,
        namespaces: Sequence[str] | None = None,
        label_selector: LabelSelector | None = None,
        field_selector: LabelSelector | None = None,
        transform: Transform | None = strip_managed_fields,
        reflector_options: Mapping[str, Any] | None = None,
        resync_period: float | None = None,
        info: ResourceInfo | None = None,
    ) -> None:
        self.resource = resource
        self.resync_period = resync_period
        #: the resource (from discovery when the cache made it; else as the type declares)
        self.info: ResourceInfo = info if info is not None else resource_info(resource)
        self.metadata_only = metadata_only
        if metadata_only:
            self.object_type: Any = PartialObjectMetadata
        elif isinstance(resource, ResourceInfo):
            self.object_type = dict
        else:
            self.object_type = resource
        self.store = Store()
        self._handlers: list[ResourceEventHandler] = []
        self.namespaces: tuple[str, ...] | None = (
            tuple(namespaces) if namespaces and self.info.namespaced else None
        )
        self.reflectors: list[Reflector] = []
        self._sinks: list[_Sink] = []
        for ns in self.namespaces or (None,):
            sink = _Sink(self, ns)
            self._sinks.append(sink)
            self.reflectors.append(
                Reflector(
                    http,
                    self.info,
                    sink,
                    namespace=ns,
                    label_selector=label_selector,
                    field_selector=field_selector,
                    metadata_only=metadata_only,
                    transform=transform,
                    **dict(reflector_options or {}),
                )
            )
        self._gauge = metrics.CACHE_OBJECTS.labels(resource=self.info.metric_label(metadata_only))
        self._gauge.set(0)
        self._synced = anyio.Event()
        self.started = False

    # ------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Run the reflectors until cancelled."""
        self.started = True
        async with anyio.create_task_group() as tg:
            for r in self.reflectors:
                tg.start_soon(r.run, name=f"reflector {r.name}")
            if self.resync_period:
                tg.start_soon(self._resync_loop, self.resync_period)

    async def _resync_loop(self, period: float) -> None:
        """controller-runtime's ``SyncPeriod``: every ``period`` (+ up to 10 % jitter, as c-r)
        deliver ``on_update(obj, obj)`` for every cached object. Purely local: no API call."""
        while True:
            await anyio.sleep(period * (1.0 + 0.1 * random.random()))
            await self.wait_for_sync()
            self.resync()
            await anyio.lowlevel.checkpoint()

    def resync(self) -> None:
        """One resync pass (see :meth:`_resync_loop`)."""
        if not self._handlers:
            return
        for _key, raw in self.store.items():
            obj = self._decode_for_handlers(raw)
            if obj is None:
                continue
            for h in list(self._handlers):
                self._call(h.on_update, obj, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    def sync_error(self) -> str | None:
        """Why the informer has not synced yet, if a list or watch failed: the API error
        with a hint (missing RBAC, CRD not installed), else None."""
        for r in self.reflectors:
            if r.list_count == 0 and r.last_error is not None:
                return list_error_hint(self.info, r.last_error, r.namespace)
        return None

    async def wait_for_sync_or_error(self, *, fail_on: tuple[int, ...] = (403, 404)) -> None:
        """Wait for the sync, but raise the initial list's error at once if it is one of
        ``fail_on`` (forbidden, not found): the reflector keeps retrying, and a read that
        waits for it would otherwise hang until the reconcile timeout."""
        while not self._synced.is_set():
            for r in self.reflectors:
                err = r.last_error
                if (r.list_count == 0 and isinstance(err, ApiError)
                        and err.status.code in fail_on):
                    raise err
            with anyio.move_on_after(0.1):
                await self._synced.wait()

    def _check_synced(self) -> None:
        if not self._synced.is_set() and all(s.lists > 0 for s in self._sinks):
            self._synced.set()

    # ------------------------------------------------------------- handlers

    def add_event_handler(self, handler: ResourceEventHandler) -> HandlerRegistration:
        """Register a handler; if objects are already cached it first receives a synthetic
        ``on_add(obj, True)`` for each of them."""
        for _key, raw in self.store.items():
            obj = self._decode_for_handlers(raw)
            if obj is not None:
                self._call(handler.on_add, obj, True)
        self._handlers.append(handler)
        return HandlerRegistration(self, handler)

    def remove_event_handler(self, registration: HandlerRegistration) -> None:
        self._handlers = [h for h in self._handlers if h is not registration.handler]

    @staticmethod
    def _call(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("informer event handler %r failed", fn)

    # ------------------------------------------------------------- indexes

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def index_field(self, field_name: str, extract: Callable[[Any], Iterable[str]]) -> None:
        """controller-runtime's ``IndexField``: index ``field:<name>`` with values stored as
        ``<ns>/<value>`` and ``__all_namespaces/<value>`` (cluster-scoped objects: only the
        latter). ``extract`` gets the typed object (as reads return it)."""

        def index(obj: dict[str, Any]) -> list[str]:
            ns = (obj.get("metadata") or {}).get("namespace") or ""
            raw_vals = list(extract(self.convert(obj)))
            vals = [f"{ns}/{v}" if ns else f"{ALL_NAMESPACES_INDEX_PREFIX}/{v}" for v in raw_vals]
            if ns:
                vals.extend(f"{ALL_NAMESPACES_INDEX_PREFIX}/{v}" for v in raw_vals)
            return vals

        self.add_indexers({field_index_name(field_name): index})

    # ------------------------------------------------------------- decoding

    def decode(self, raw: bytes) -> Any:
        """Stored bytes -> a fresh typed object (the caller owns it)."""
        return decode_object(self.object_type, raw)

    def _decode_for_handlers(self, raw: bytes) -> Any | None:
        """Like :meth:`decode`, but an object the type refuses (e.g. a custom resource the
        Pydantic model rejects although the CRD schema accepted it) is logged and skipped
        instead of breaking the informer for every other object. Reads still raise."""
        try:
            return self.decode(raw)
        except Exception:
            log.exception("cannot decode %s %s for event handlers; event skipped",
                          self.info.kind, object_key_name(raw))
            return None

    def convert(self, obj: dict[str, Any]) -> Any:
        """A JSON dict -> a typed object (for handlers and index functions)."""
        tp = self.object_type
        if tp is dict:
            return obj
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            return msgspec.convert(obj, tp)
        validate = getattr(tp, "model_validate", None)
        if validate is not None:
            return validate(obj)
        return tp(obj)

    # ------------------------------------------------------------- store updates

    def _upsert(self, obj: dict[str, Any]) -> None:
        _key, old, raw = self.store.put(obj)
        self._gauge.set(len(self.store))
        if not self._handlers:
            return
        new_obj = self._decode_for_handlers(raw)
        if new_obj is None:
            return
        old_obj = None if old is None else self._decode_for_handlers(old)
        if old_obj is None:
            for h in list(self._handlers):
                self._call(h.on_add, new_obj, False)
        else:
            for h in list(self._handlers):
                self._call(h.on_update, old_obj, new_obj)

    def _delete(self, obj: dict[str, Any]) -> None:
        key = object_key(obj)
        self.store.remove(key)
        self._gauge.set(len(self.store))
        if not self._handlers:
            return
        try:
            final = self.convert(obj)
        except Exception:
            log.exception("cannot decode deleted %s %s for event handlers; event skipped",
                          self.info.kind, key)
            return
        for h in list(self._handlers):
            self._call(h.on_delete, final)

    def _replace(
        self, items: Sequence[tuple[str, bytes]], namespace: str | None, initial: bool
    ) -> None:
        upserts, deletes = self.store.replace_encoded(items, namespace)
        self._gauge.set(len(self.store))
        if self._handlers:
            for _key, old, raw in upserts:
                if old is not None and _rv(old) == _rv(raw):
                    continue
                new_obj = self._decode_for_handlers(raw)
                if new_obj is None:
                    continue
                old_obj = None if old is None else self._decode_for_handlers(old)
                if old_obj is None:
                    for h in list(self._handlers):
                        self._call(h.on_add, new_obj, initial)
                else:
                    for h in list(self._handlers):
                        self._call(h.on_update, old_obj, new_obj)
            for key, old in deletes:
                last = self._decode_for_handlers(old)
                if last is None:
                    continue
                tomb = DeletedFinalStateUnknown(key, last)
                for h in list(self._handlers):
                    self._call(h.on_delete, tomb)
        self._check_synced()

    # ------------------------------------------------------------- reads

    def get_by_key(self, key: str) -> Any | None:
        raw = self.store.get(key)
        return None if raw is None else self.decode(raw)

    def list_raw(
        self,
        namespace: str | None = None,
        labels: LabelSelector | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> list[bytes]:
        """Stored entries matching the filters (see :meth:`Cache.list`)."""
        if namespace and self.namespaces is not None and namespace not in self.namespaces:
            raise ValueError(
                f"unable to list: namespace {namespace!r} is not cached for {self.info.kind}"
            )
        ns = namespace if self.info.namespaced else None
        keys: set[str] | None = None
        other: dict[str, str] = {}
        for fname, value in (fields or {}).items():
            if fname == "metadata.namespace":
                if ns and ns != value:
                    return []
                ns = value
            elif fname == "metadata.name":
                other[fname] = value
            else:
                index = field_index_name(fname)
                if index not in self.store.indexers:
                    raise ValueError(
                        f"field label {fname!r} not supported: no index {index!r} on "
                        f"{self.info.kind} (register one with index_field)"
                    )
                prefix = ns if ns else ALL_NAMESPACES_INDEX_PREFIX
                found = self.store.index_keys(index, f"{prefix}/{value}")
                keys = found if keys is None else keys & found
        if keys is None:
            if ns:
                keys = self.store.index_keys(NAMESPACE_INDEX, ns)
                selected = [self.store.get(k) for k in keys]
            else:
                selected = [raw for _, raw in self.store.items()]
        else:
            if ns:
                keys = {k for k in keys if _key_namespace(k) == ns}
            selected = [self.store.get(k) for k in keys]
        name = other.get("metadata.name")
        sel = selector_of(labels) if labels else None
        out: list[bytes] = []
        for raw in selected:
            if raw is None:
                continue
            if name is not None and object_key_name(raw) != name:
                continue
            if sel is not None and not sel.matches(_meta_decoder.decode(raw).metadata.labels):
                continue
            out.append(raw)
        return out


def object_key_name(raw: bytes) -> str:
    obj = msgspec.json.decode(raw, type=_NameOnly)
    return obj.metadata.name


class _NameMeta(msgspec.Struct):
    name: str = ""


class _NameOnly(msgspec.Struct):
    metadata: _NameMeta = msgspec.field(default_factory=_NameMeta)


def _rv(raw: bytes) -> str | None:
    return _meta_decoder.decode(raw).metadata.resourceVersion


# --------------------------------------------------------------------------- cache


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
