"""Shared informers (client-go's ``SharedIndexInformer``): reflector(s) + an indexed store +
event handlers, each handler with its own buffer.

One :class:`Informer` per (resource type, projection) per cache: every controller watching
ConfigMaps and every cached ``client.get(ConfigMap, ...)`` share one list+watch and one
store (``runtime.store``). One reflector per namespace when scoped to several namespaces
(controller-runtime's multi-namespace cache), all feeding the one store.

Delivery (client-go's ``sharedProcessor`` / ``processorListener``): the store is updated
first (``processDeltas`` order), then each event is appended to **every handler's own
unbounded buffer**, and each handler's task delivers from its buffer, handing the event
loop back after every 2 ms slice (so after every event of a slow handler, while a fast one
drains its buffer in one go). A slow handler (a predicate that takes its time, a map function
that reads the API) therefore delays only its own deliveries, never the reflector, the other
handlers or the lease renewals sharing the loop; its buffer grows meanwhile, as client-go's
does. (A handler that *blocks* the loop still blocks it while it runs, one event at a time:
only a thread could help that, and handlers must not block.) One decoded object is shared
by the handlers of an event: handlers must not mutate it.

A handler callback may return an awaitable (an async map function's work): it runs in the
handler's task group with at most ``concurrency`` in flight, and the handler's buffer waits
for a slot, so a burst of events costs a bounded number of tasks, not one per event.

A handler added after the informer synced first gets a synthetic
``on_add(obj, is_in_initial_list=True)`` for every object already cached, as client-go does;
that replay goes through its buffer too (the objects are decoded as they are delivered, not
all at once). :meth:`HandlerRegistration.has_synced` (client-go's, and controller-runtime's
``handler.HasSynced``) is true once the informer synced *and* the handler has processed every
initial-list event, awaitables included: a controller counts as synced only once its initial
requests are on its queue.

Deletions inferred from a relist (the object vanished while the watch was down) are delivered
as ``on_delete(DeletedFinalStateUnknown(key, last_known_obj))``. A relist (after a 410) calls
``on_update`` only for objects whose resourceVersion changed, not for every object as
client-go's ``Replaced`` delta does; unchanged objects need no reconcile and a relist of 10k
objects would otherwise enqueue 10k keys.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import anyio.abc
import anyio.lowlevel
import httpx2
import msgspec
from lightkube.core.exceptions import ApiError

from runtime import metrics
from runtime.codec import (
    PartialObjectMetadata,
    Transform,
    decode_object,
    encode_exact,
    strip_managed_fields,
)
from runtime.reflector import Reflector
from runtime.restmapper import ResourceInfo, resource_info
from runtime.selector import LabelSelector, selector_of
from runtime.store import (
    ALL_NAMESPACES_INDEX_PREFIX,
    NAMESPACE_INDEX,
    IndexFunc,
    Store,
    field_index_name,
    key_namespace,
    object_key,
    object_key_name,
    object_labels,
    resource_version,
)

__all__ = [
    "DEFAULT_HANDLER_CONCURRENCY",
    "DeletedFinalStateUnknown",
    "HandlerRegistration",
    "Informer",
    "ResourceEventHandler",
    "ResourceEventHandlerFuncs",
    "list_error_hint",
]

log = logging.getLogger(__name__)

DEFAULT_HANDLER_CONCURRENCY = 4
"""Awaitables (async map functions) one handler may have in flight at once."""


# --------------------------------------------------------------------------- handlers


@dataclass(frozen=True, slots=True)
class DeletedFinalStateUnknown:
    """client-go's tombstone: the object was deleted while we were not watching; ``obj`` is
    the last state the cache held (controller-runtime: ``DeleteEvent.DeleteStateUnknown``)."""

    key: str
    obj: Any


class ResourceEventHandler(Protocol):
    """client-go's ``ResourceEventHandler``, called from the handler's own task. A callback
    may return an awaitable, run with bounded concurrency (see the module doc)."""

    def on_add(self, obj: Any, is_in_initial_list: bool) -> Awaitable[None] | None: ...

    def on_update(self, old: Any, new: Any) -> Awaitable[None] | None: ...

    def on_delete(self, obj: Any) -> Awaitable[None] | None:
        """``obj`` is the final object, or a :class:`DeletedFinalStateUnknown`."""
        ...


@dataclass
class ResourceEventHandlerFuncs:
    """client-go's ``ResourceEventHandlerFuncs``: any subset of the three callbacks."""

    add: Callable[[Any, bool], Any] | None = None
    update: Callable[[Any, Any], Any] | None = None
    delete: Callable[[Any], Any] | None = None

    def on_add(self, obj: Any, is_in_initial_list: bool) -> Any:
        if self.add is not None:
            return self.add(obj, is_in_initial_list)
        return None

    def on_update(self, old: Any, new: Any) -> Any:
        if self.update is not None:
            return self.update(old, new)
        return None

    def on_delete(self, obj: Any) -> Any:
        if self.delete is not None:
            return self.delete(obj)
        return None


_ADD, _ADD_RAW, _UPDATE, _DELETE = range(4)
_SLICE = 0.002
"""Seconds a handler's task delivers before handing the loop back."""
_Notification = tuple[int, Any, Any, bool]  # (kind, obj or raw or old, new, in initial list)


class _Listener:
    """client-go's ``processorListener``: one handler's unbounded buffer and the task that
    delivers from it (see the module doc)."""

    def __init__(self, informer: Informer, handler: ResourceEventHandler,
                 concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("handler concurrency must be >= 1")
        self.informer = informer
        self.handler = handler
        self.concurrency = concurrency
        self._buffer: deque[_Notification] = deque()
        self._wakeup = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()
        self._in_flight = 0
        self._initial_outstanding = 0
        self._synced = anyio.Event()
        self.scope: anyio.CancelScope | None = None
        self.running = False

    def __len__(self) -> int:
        return len(self._buffer)

    def push(self, kind: int, a: Any, b: Any = None, initial: bool = False) -> None:
        self._buffer.append((kind, a, b, initial))
        if initial:
            self._initial_outstanding += 1
        if self._idle.is_set():
            self._idle = anyio.Event()
        self._wakeup.set()

    async def run(self) -> None:
        with anyio.CancelScope() as self.scope:
            self.running = True
            try:
                limiter = anyio.Semaphore(self.concurrency)
                async with anyio.create_task_group() as tg:
                    await self._deliver_forever(tg, limiter)
            finally:
                self.running = False

    async def _deliver_forever(self, tg: anyio.abc.TaskGroup,
                               limiter: anyio.Semaphore) -> None:
        buffer = self._buffer
        slice_start = time.perf_counter()
        while True:
            if not buffer:
                self._check_idle()
                self._wakeup = anyio.Event()
                await self._wakeup.wait()
                slice_start = time.perf_counter()
                continue
            kind, a, b, initial = buffer.popleft()
            result = self._deliver(kind, a, b, initial)
            if result is None:
                self._done(initial)
            else:
                await limiter.acquire()  # backpressure: the buffer grows, not the tasks
                self._in_flight += 1
                tg.start_soon(self._finish, result, initial, limiter)
            # A time slice, then the loop goes to whoever else is ready: a fast handler
            # drains its buffer in one go, a slow one hands the loop back after each event.
            if time.perf_counter() - slice_start > _SLICE:
                await anyio.lowlevel.checkpoint()
                slice_start = time.perf_counter()

    def _deliver(self, kind: int, a: Any, b: Any, initial: bool) -> Awaitable[None] | None:
        h = self.handler
        try:
            if kind == _ADD:
                result = h.on_add(a, initial)
            elif kind == _ADD_RAW:
                obj = self.informer._decode_for_handlers(a)
                if obj is None:
                    return None
                result = h.on_add(obj, initial)
            elif kind == _UPDATE:
                result = h.on_update(a, b)
            else:
                result = h.on_delete(a)
        except Exception:
            log.exception("informer event handler %r failed", h)
            return None
        return result if inspect.isawaitable(result) else None

    async def _finish(self, aw: Awaitable[None], initial: bool,
                      limiter: anyio.Semaphore) -> None:
        try:
            await aw
        except Exception:
            log.exception("informer event handler %r failed", self.handler)
        finally:
            limiter.release()
            self._in_flight -= 1
            self._done(initial)

    def _done(self, initial: bool) -> None:
        if initial:
            self._initial_outstanding -= 1
            self.check_synced()
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._buffer and self._in_flight == 0:
            self._idle.set()

    def check_synced(self) -> None:
        if (not self._synced.is_set() and self._initial_outstanding == 0
                and self.informer.has_synced()):
            self._synced.set()

    async def wait_idle(self) -> None:
        while not (self._idle.is_set() and not self._buffer):
            await self._idle.wait()


class HandlerRegistration:
    """Returned by :meth:`Informer.add_event_handler` (client-go's
    ``ResourceEventHandlerRegistration``)."""

    def __init__(self, informer: Informer, listener: _Listener) -> None:
        self.informer = informer
        self.handler = listener.handler
        self._listener = listener

    def has_synced(self) -> bool:
        """True once the informer synced and this handler has processed every event of the
        initial list (its awaitables included)."""
        return self._listener._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._listener._synced.wait()

    def pending(self) -> int:
        """Events waiting in this handler's buffer."""
        return len(self._listener)


# --------------------------------------------------------------------------- informer


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
    """A shared informer: reflector(s) + indexed store + per-handler delivery (module doc).

    ``await informer.run()`` runs the reflectors and the handlers' delivery tasks until
    cancelled; :meth:`run_handlers` runs only the delivery (for a store fed by hand)."""

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
        self._listeners: list[_Listener] = []
        self._tg: anyio.abc.TaskGroup | None = None
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
        """Run the reflectors and the handlers' delivery until cancelled."""
        self.started = True
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run_handlers, name=f"handlers {self.info.metric_label()}")
            for r in self.reflectors:
                tg.start_soon(r.run, name=f"reflector {r.name}")
            if self.resync_period:
                tg.start_soon(self._resync_loop, self.resync_period)

    async def run_handlers(self) -> None:
        """Run every handler's delivery task (present and future) until cancelled."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for listener in self._listeners:
                    if not listener.running:
                        tg.start_soon(listener.run)
                await anyio.sleep_forever()
        finally:
            self._tg = None

    async def wait_handlers_idle(self) -> None:
        """Return once every handler has delivered what it was given so far (tests, tools)."""
        for listener in list(self._listeners):
            await listener.wait_idle()

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
        if not self._listeners:
            return
        for _key, raw in self.store.items():
            obj = self._decode_for_handlers(raw)
            if obj is None:
                continue
            self._notify(_UPDATE, obj, obj)

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
            for listener in self._listeners:
                listener.check_synced()

    # ------------------------------------------------------------- handlers

    def add_event_handler(
        self, handler: ResourceEventHandler, *, concurrency: int = DEFAULT_HANDLER_CONCURRENCY
    ) -> HandlerRegistration:
        """Register a handler with its own buffer and delivery task (``concurrency``: its
        awaitables in flight at most). Objects already cached are queued to it first as
        ``on_add(obj, True)``."""
        listener = _Listener(self, handler, concurrency)
        for _key, raw in self.store.items():
            listener.push(_ADD_RAW, raw, None, True)
        self._listeners.append(listener)
        listener.check_synced()
        if self._tg is not None:
            self._tg.start_soon(listener.run)
        return HandlerRegistration(self, listener)

    def remove_event_handler(self, registration: HandlerRegistration) -> None:
        """Stop delivering to a handler (what is still in its buffer is dropped)."""
        listener = registration._listener
        self._listeners = [x for x in self._listeners if x is not listener]
        if listener.scope is not None:
            listener.scope.cancel()

    def _notify(self, kind: int, a: Any, b: Any = None, initial: bool = False) -> None:
        for listener in self._listeners:
            listener.push(kind, a, b, initial)

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
        if not self._listeners:
            return
        new_obj = self._decode_for_handlers(raw)
        if new_obj is None:
            return
        old_obj = None if old is None else self._decode_for_handlers(old)
        if old_obj is None:
            self._notify(_ADD, new_obj, None, False)
        else:
            self._notify(_UPDATE, old_obj, new_obj)

    def _delete(self, obj: dict[str, Any]) -> None:
        key = object_key(obj)
        self.store.remove(key)
        self._gauge.set(len(self.store))
        if not self._listeners:
            return
        try:
            final = self.convert(obj)
        except Exception:
            log.exception("cannot decode deleted %s %s for event handlers; event skipped",
                          self.info.kind, key)
            return
        self._notify(_DELETE, final)

    def _replace(
        self, items: Sequence[tuple[str, bytes]], namespace: str | None, initial: bool
    ) -> None:
        upserts, deletes = self.store.replace_encoded(items, namespace)
        self._gauge.set(len(self.store))
        if self._listeners:
            for _key, old, raw in upserts:
                if old is not None and resource_version(old) == resource_version(raw):
                    continue
                new_obj = self._decode_for_handlers(raw)
                if new_obj is None:
                    continue
                old_obj = None if old is None else self._decode_for_handlers(old)
                if old_obj is None:
                    self._notify(_ADD, new_obj, None, initial)
                else:
                    self._notify(_UPDATE, old_obj, new_obj)
            for key, old in deletes:
                last = self._decode_for_handlers(old)
                if last is None:
                    continue
                self._notify(_DELETE, DeletedFinalStateUnknown(key, last))
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
                keys = {k for k in keys if key_namespace(k) == ns}
            selected = [self.store.get(k) for k in keys]
        name = other.get("metadata.name")
        sel = selector_of(labels) if labels else None
        out: list[bytes] = []
        for raw in selected:
            if raw is None:
                continue
            if name is not None and object_key_name(raw) != name:
                continue
            if sel is not None and not sel.matches(object_labels(raw)):
                continue
            out.append(raw)
        return out


