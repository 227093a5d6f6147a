"""client-go's Reflector: list, then watch from the list's resourceVersion, forever.

One :class:`Reflector` keeps a :class:`ReflectorStore` (the informer's store) in step with one
collection on the API server: one resource type, one namespace (or all), one label/field
selector, one projection (full objects or metadata only). The loop is client-go's
``Reflector.ListAndWatch`` (``tools/cache/reflector.go``):

1. **List** in pages of 500 (``limit``/``continue``), a consistent read (``resourceVersion``
   unset). Each item is transformed and encoded to the store's form (``(key, exact-size JSON
   bytes)``, :func:`encode_exact`) as its page arrives, so the decoded page is garbage before
   the next one is read: holding a 10k-object list costs what the store will hold anyway, not
   ~2.5x that as decoded dicts. The items then replace the store
   (``ReflectorStore.replace_encoded``, which adopts the bytes as they are), which emits
   deletes for objects that vanished since the last list (client-go's ``Replace`` with
   ``DeletedFinalStateUnknown`` tombstones). An expired ``continue`` token (410 mid-list)
   restarts the list.
2. **Watch** from the list's resourceVersion with ``allowWatchBookmarks=true`` and a server
   timeout drawn uniformly from [5 min, 10 min] so that many reflectors do not reconnect in
   lock step. Every ADDED/MODIFIED/DELETED/BOOKMARK advances the resourceVersion (a BOOKMARK
   carries only that). A cleanly closed watch is re-opened from the last resourceVersion.
3. **410 Gone** (a watch ``ERROR`` event with code 410, or an HTTP 410 on the watch request):
   the resourceVersion is no longer in etcd's history, so events were possibly lost; relist
   (step 1), which replaces the store and emits the missed deletes. Likewise "Too large
   resource version" (the server is behind our resourceVersion, e.g. etcd restored from a
   backup): watching from it again would never succeed.
4. **Errors** (connection refused/reset, 5xx, 429, a "very short" watch that closed within
   1 s without events): retry with exponential backoff 0.8 s -> 30 s, factor 2, full jitter
   (client-go's ``NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)``); the backoff resets
   after 2 minutes without errors. A watch error resumes the *watch* from the last
   resourceVersion (no relist) when the server still has it, as client-go does.

Deviation from client-go: the initial list is a consistent paginated read (``RV=""``) instead
of ``RV="0"`` from the apiserver's watch cache, because the watch cache ignores ``limit`` for
``RV="0"`` (one huge response) and a consistent read cannot return data older than what a
previous incarnation of this process already saw. client-go's streaming ``WatchList``
(``sendInitialEvents=true``, on by default in client-go since 1.35) is available with
``use_watch_list=True`` (``CacheOptions.use_watch_list``): the state arrives as ADDED events on
the watch stream up to a bookmark annotated ``k8s.io/initial-events-end``, is stored with one
``replace``, and the stream goes on as the watch; a server that refuses it gets the paginated
list instead.

The reflector speaks raw JSON over lightkube's underlying httpx client, because lightkube's
watch cannot send ``allowWatchBookmarks`` or the ``Accept`` header for metadata-only
(``PartialObjectMetadata``) lists and watches, and it resumes a 410 from the same expired
resourceVersion. Objects reach the store as plain dicts after the ``transform`` hook (default:
:func:`strip_managed_fields`), or, for a (re)list, already encoded; decoding into typed
objects is the cache's business.

The list and watch requests go through the cache's HTTP client (``runtime.transport``: its
own unbounded connection pool, request metrics).
"""

from __future__ import annotations

import builtins
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import httpx2
import msgspec
from lightkube.core.exceptions import ApiError
from lightkube.models import meta_v1

from runtime import metrics
from runtime.codec import (
    METADATA_ACCEPT_LIST,
    METADATA_ACCEPT_WATCH,
    Transform,
    encode_exact,
    status_error,
    strip_managed_fields,
)
from runtime.restmapper import resource_info
from runtime.selector import LabelSelector, selector_string

__all__ = [
    "Backoff",
    "Reflector",
    "ReflectorStore",
]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- backoff


class Backoff:
    """client-go's exponential backoff manager for the reflector.

    ``next()`` returns the delay before the next attempt: ``initial * factor**n`` capped at
    ``cap``, with jitter in ``[d, d * (1 + jitter)]`` (also capped); the step resets when the
    previous failure is older than ``reset_after`` seconds."""

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        rand: Callable[[], float] = random.random,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial, self.cap, self.factor, self.jitter = initial, cap, factor, jitter
        self.reset_after = reset_after
        self._rand, self._now = rand, now
        self._current = 0.0
        self._last_failure: float | None = None

    def next(self) -> float:
        now = self._now()
        if self._last_failure is None or now - self._last_failure > self.reset_after:
            self._current = self.initial
        else:
            self._current = min(self.cap, self._current * self.factor)
        self._last_failure = now
        return min(self.cap, self._current * (1.0 + self.jitter * self._rand()))

    def reset(self) -> None:
        self._last_failure = None


# --------------------------------------------------------------------------- reflector


class ReflectorStore(Protocol):
    """Where a reflector puts what it sees (client-go's ``Store`` as the reflector uses it).

    All methods are synchronous and are called from the reflector's task, one at a time."""

    def replace_encoded(
        self, items: Sequence[tuple[str, bytes]], resource_version: str
    ) -> None:
        """The full current state of this reflector's scope, as ``(key, JSON bytes)`` pairs
        (key ``namespace/name``, or ``name`` when cluster scoped; the bytes from
        :func:`encode_exact` of the transformed object, which the store may keep as they
        are); anything else it holds in that scope was deleted meanwhile."""
        ...

    def add(self, obj: dict[str, Any]) -> None: ...

    def update(self, obj: dict[str, Any]) -> None: ...

    def delete(self, obj: dict[str, Any]) -> None: ...


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist."""


class _VeryShortWatch(Exception):
    pass


class _WatchListUnsupported(Exception):
    """The server refused ``sendInitialEvents`` (older server or feature gate off)."""


INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end"


def _rv_too_large(status: meta_v1.Status) -> bool:
    """client-go's ``isTooLargeResourceVersionError``: the server is behind the requested
    resourceVersion (cause ``ResourceVersionTooLarge``; older servers: a 504 Timeout whose
    message says so). After an etcd restore it stays behind, so only a relist recovers."""
    details = status.details
    if details is not None and any(
        c.reason == "ResourceVersionTooLarge" for c in details.causes or ()
    ):
        return True
    return status.code == 504 and "Too large resource version" in (status.message or "")


def _rv_of(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata")
    if isinstance(meta, Mapping):
        rv = meta.get("resourceVersion")
        return rv if isinstance(rv, str) else None
    return None


class Reflector:
    """List and watch one collection into a :class:`ReflectorStore`, until cancelled.

    ``await reflector.run()`` never returns on its own; run it in a task group and cancel the
    group to stop. ``synced`` is set after the first successful list was stored.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        resource: Any,
        store: ReflectorStore,
        *,
        namespace: str | None = None,
        label_selector: LabelSelector | None = None,
        field_selector: LabelSelector | None = None,
        metadata_only: bool = False,
        transform: Transform | None = strip_managed_fields,
        page_size: int = 500,
        min_watch_timeout: float = 300.0,
        max_watch_timeout: float = 600.0,
        backoff: Backoff | None = None,
        name: str | None = None,
        use_watch_list: bool = False,
    ) -> None:
        self.info = resource_info(resource)
        self.use_watch_list = use_watch_list
        self._watch_list_supported = True
        #: while a streaming initial list (WatchList) is in progress: key -> encoded object
        self._initial: dict[str, bytes] | None = None
        self.http = http
        self.store = store
        self.namespace = namespace if self.info.namespaced else None
        self.label_selector = selector_string(label_selector)
        self.field_selector = selector_string(field_selector, for_fields=True)
        self.metadata_only = metadata_only
        self.transform = transform
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.max_watch_timeout = max_watch_timeout
        self.backoff = backoff or Backoff()
        self.metric_resource = self.info.metric_label(metadata_only)
        self.name = name or f"{self.metric_resource}@{self.namespace or '*'}"
        self.last_sync_resource_version = ""
        self.synced = anyio.Event()
        #: number of completed lists (the initial one included); tests and metrics read it
        self.list_count = 0
        #: the error of the last failed attempt, until a list succeeds (for sync errors)
        self.last_error: BaseException | None = None
        self._events_since_list = 0

    # ------------------------------------------------------------------ helpers

    def _params(self) -> dict[str, str]:
        p: dict[str, str] = {}
        if self.label_selector:
            p["labelSelector"] = self.label_selector
        if self.field_selector:
            p["fieldSelector"] = self.field_selector
        return p

    def _prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self.metadata_only:
            # PartialObjectMetadata -> present it as the watched kind (c-r does the same)
            obj["apiVersion"] = self.info.api_version
            obj["kind"] = self.info.kind
        elif "kind" not in obj:
            obj["apiVersion"] = self.info.api_version
            obj["kind"] = self.info.kind
        return self.transform(obj) if self.transform is not None else obj

    def _encode(self, obj: dict[str, Any]) -> tuple[str, bytes]:
        """A listed object -> ``(key, bytes)`` as the store keeps it (transform applied)."""
        obj = self._prepare(obj)
        return _key(obj), encode_exact(obj)

    def _restart(self, reason: str) -> None:
        metrics.CACHE_WATCH_RESTARTS_TOTAL.labels(
            resource=self.metric_resource, reason=reason
        ).inc()

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        """client-go's ``Reflector.Run``: ``ListAndWatch`` under the backoff manager."""
        need_list = True
        gone_streak = 0
        while True:
            lists_before = self.list_count
            try:
                if need_list and self.use_watch_list and self._watch_list_supported:
                    try:
                        await self.watch(initial=True)  # stores the state, then keeps watching
                    except _WatchListUnsupported as e:
                        log.info("reflector %s: WatchList not served (%s); falling back to "
                                 "list+watch", self.name, e)
                        self._watch_list_supported = False
                        continue
                    need_list = False
                    gone_streak = 0
                    continue
                if need_list:
                    await self.list()
                    need_list = False
                await self.watch()
                gone_streak = 0
            except _Gone:
                log.info("reflector %s: resourceVersion %s expired (410), relisting",
                         self.name, self.last_sync_resource_version)
                self._restart("expired")
                need_list = True
                # relist at once; a relist whose watch is 410 again before any event backs off
                gone_streak = gone_streak + 1 if self._events_since_list == 0 else 1
                if gone_streak > 1:
                    await anyio.sleep(self.backoff.next())
            except (httpx2.HTTPError, OSError, _VeryShortWatch, ApiError,
                    msgspec.DecodeError) as e:
                if self.list_count > lists_before:
                    # a WatchList stored its state before the stream failed: resume the
                    # watch from its resourceVersion, as after a list
                    need_list = False
                self.last_error = e
                delay = self.backoff.next()
                log.warning("reflector %s: %s: %s; retrying in %.1fs",
                            self.name, type(e).__name__, e, delay)
                self._restart("error")
                await anyio.sleep(delay)
            except Exception as e:
                # e.g. a failing transform: never let one bad object kill the informer
                self.last_error = e
                delay = self.backoff.next()
                log.exception("reflector %s: unexpected error; retrying in %.1fs",
                              self.name, delay)
                self._restart("error")
                await anyio.sleep(delay)

    async def list(self) -> None:
        """Paginated consistent list; replaces the store. Retries from scratch if the
        ``continue`` token expires (410) mid-way."""
        url = self.info.collection_path(self.namespace)
        headers = {"Accept": METADATA_ACCEPT_LIST} if self.metadata_only else {}
        while True:
            items: list[tuple[str, bytes]] = []
            params = self._params()
            params["limit"] = str(self.page_size)
            rv = ""
            restart = False
            while True:
                resp = await self.http.get(url, params=params, headers=headers)
                if resp.status_code == 410 and "continue" in params:
                    restart = True  # continue token expired: start over
                    break
                if resp.status_code != 200:
                    raise status_error(resp.content, resp.status_code)
                # Items stay raw JSON until each is decoded, transformed and encoded on its
                # own: one object's dict is garbage before the next is decoded.
                page = _list_page_decoder.decode(resp.content)
                del resp
                for raw in page.items or ():
                    items.append(self._encode(msgspec.json.decode(raw)))
                rv = page.metadata.resourceVersion or rv
                cont = page.metadata.continue_
                del page
                if not cont:
                    break
                params["continue"] = cont
                await anyio.lowlevel.checkpoint()
            if not restart:
                break
            log.info("reflector %s: continue token expired, restarting the list", self.name)
        self._listed(items, rv)

    def _listed(self, items: builtins.list[tuple[str, bytes]], rv: str) -> None:
        self.store.replace_encoded(items, rv)
        self.last_error = None
        self._events_since_list = 0
        self.last_sync_resource_version = rv
        self.list_count += 1
        self.synced.set()

    async def watch(self, *, initial: bool = False) -> None:
        """Watch until the server closes the stream (returns), the RV expires (``_Gone``) or
        an error (raises). Returns after a normal server-side timeout so ``run`` loops.

        ``initial=True`` is client-go's WatchList (streaming list, KEP-3157): a watch with
        ``sendInitialEvents=true`` and ``resourceVersionMatch=NotOlderThan`` whose ADDED events
        up to the BOOKMARK annotated ``k8s.io/initial-events-end`` are the current state
        (stored with one ``replace``, like a list); the same stream then goes on as a watch.
        The apiserver serves it from its watch cache instead of paging through etcd."""
        timeout = random.uniform(self.min_watch_timeout, self.max_watch_timeout)
        params = self._params()
        params.update(
            watch="true",
            allowWatchBookmarks="true",
            timeoutSeconds=str(int(timeout)),
        )
        if initial:
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
            self._initial = {}
        else:
            self._initial = None
            params["resourceVersion"] = self.last_sync_resource_version
        headers = {"Accept": METADATA_ACCEPT_WATCH} if self.metadata_only else {}
        started = time.monotonic()
        events = 0
        # read timeout: a client-side guard in case the server vanished silently
        http_timeout = httpx2.Timeout(10.0, read=timeout + 30.0)
        async with self.http.stream(
            "GET", self.info.collection_path(self.namespace), params=params,
            headers=headers, timeout=http_timeout,
        ) as resp:
            if resp.status_code == 410:
                raise _Gone()
            if resp.status_code != 200:
                body = await resp.aread()
                if initial and resp.status_code in (400, 403, 422):
                    raise _WatchListUnsupported(status_error(body, resp.status_code))
                err = status_error(body, resp.status_code)
                if _rv_too_large(err.status):
                    raise _Gone()
                raise err
            async for line in resp.aiter_lines():
                if not line:
                    continue
                events += 1
                self._handle_line(line)
        if self._initial is not None:
            self._initial = None
            raise _VeryShortWatch("the stream ended before the initial events were complete")
        # clean end of stream: the server-side timeout (or the server going away)
        if events == 0 and time.monotonic() - started < 1.0:
            raise _VeryShortWatch("watch closed within 1s without events")
        self._restart("timeout")

    def _handle_line(self, line: str) -> None:
        ev = msgspec.json.decode(line)
        typ = ev.get("type")
        obj = ev.get("object") or {}
        if typ == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise _Gone()
            status = msgspec.convert(obj, meta_v1.Status)
            if _rv_too_large(status):
                raise _Gone()
            raise ApiError(status=status)
        rv = _rv_of(obj)
        self._events_since_list += 1
        if self._initial is not None:
            self._handle_initial(typ, obj, rv)
            return
        if typ == "BOOKMARK":
            if rv:
                self.last_sync_resource_version = rv
            return
        obj = self._prepare(obj)
        if typ == "ADDED":
            self.store.add(obj)
        elif typ == "MODIFIED":
            self.store.update(obj)
        elif typ == "DELETED":
            self.store.delete(obj)
        else:
            log.warning("reflector %s: unknown watch event type %r", self.name, typ)
        if rv:
            self.last_sync_resource_version = rv

    def _handle_initial(self, typ: str | None, obj: dict[str, Any], rv: str | None) -> None:
        """One event of a WatchList's initial phase."""
        assert self._initial is not None
        if typ == "BOOKMARK":
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if annotations.get(INITIAL_EVENTS_END_ANNOTATION) == "true":
                items = list(self._initial.items())
                self._initial = None
                self._listed(items, rv or "")
            return
        if typ == "DELETED":
            self._initial.pop(_key(obj), None)
        else:
            key, raw = self._encode(obj)
            self._initial[key] = raw


class _ListMeta(msgspec.Struct):
    resourceVersion: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")


class _ListPage(msgspec.Struct):
    """One page of a list response, its items left undecoded."""

    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: builtins.list[msgspec.Raw] | None = None


_list_page_decoder = msgspec.json.Decoder(_ListPage)


def _key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)
