"""An events.k8s.io/v1 event recorder (client-go's ``tools/events`` broadcaster + recorder).

``recorder.event(regarding, "Warning", "SyncFailed", "Reconcile", "quota exceeded")`` never
blocks and never raises: it puts the event on a bounded buffer (1000, like client-go's
broadcaster; overflow is dropped and counted) that :meth:`EventRecorder.run`, started in the
manager's task group, writes to the API.

What keeps an error loop from flooding the API server:

* **Series** (client-go ``eventBroadcasterImpl.recordToSink``): events with the same key
  (regarding object, action, reason, reporting controller, related object; *not* the note) seen
  within ``series_window`` (6 min, client-go's ``finishTime``) are one Event: the first
  occurrence creates it, the second patches ``series: {count: 2, lastObservedTime}`` at once,
  later ones only bump the count in memory, written by a periodic flush (every
  ``flush_interval``; client-go waits up to 30 min, we default to 30 s so ``kubectl events``
  stays useful). A loop failing 100 times a second costs one create, one patch, and one patch
  per flush interval.
* **Rate** (client-go ``tools/record`` ``EventSourceObjectSpamFilter``): new Events per regarding
  object go through a token bucket, burst 25, one token per 5 minutes; events over it are
  dropped and counted in :attr:`EventRecorder.dropped`. A bucket that has refilled is
  forgotten at the next flush, so memory follows the objects recently reported on.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskStatus
from lightkube.resources.events_v1 import Event

from runtime.codec import PartialObjectMetadata
from runtime.event import meta_name, meta_namespace, meta_resource_version, meta_uid
from runtime.restmapper import gvk_of

__all__ = ["NORMAL", "WARNING", "EventRecorder", "TokenBucket"]

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
_MAX_NOTE_BYTES = 1024  # events.k8s.io/v1 validation limit


class TokenBucket:
    """``golang.org/x/time/rate.Limiter`` used as ``Allow()``: ``burst`` tokens, refilled at
    ``qps`` per second."""

    def __init__(self, qps: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.qps, self.burst, self._now = qps, burst, now
        self.tokens = float(burst)
        self.last = now()

    def allow(self) -> bool:
        t = self._now()
        self.tokens = min(float(self.burst), self.tokens + (t - self.last) * self.qps)
        self.last = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def full(self) -> bool:
        """Whether the bucket has refilled to ``burst`` by now."""
        return self.tokens + (self._now() - self.last) * self.qps >= self.burst


def _micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reference(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    elif isinstance(obj, PartialObjectMetadata):  # metadata-only: the watched type's GVK
        api_version, kind = obj.apiVersion or "", obj.kind or ""
    else:
        gvk = gvk_of(type(obj))
        api_version, kind = gvk.api_version, gvk.kind
    ref: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "name": meta_name(obj)}
    if ns := meta_namespace(obj):
        ref["namespace"] = ns
    if uid := meta_uid(obj):
        ref["uid"] = uid
    if rv := meta_resource_version(obj):
        ref["resourceVersion"] = rv
    return ref


def _ref_key(ref: dict[str, Any] | None) -> tuple[str, ...]:
    if ref is None:
        return ()
    return tuple(str(ref.get(k, "")) for k in ("apiVersion", "kind", "namespace", "name", "uid"))


@dataclass
class _Series:
    name: str
    namespace: str
    count: int = 1
    last_observed: float = 0.0  # wall clock
    last_seen: float = 0.0  # monotonic
    dirty: bool = False


@dataclass
class _Pending:
    regarding: dict[str, Any]
    related: dict[str, Any] | None
    type: str
    reason: str
    action: str
    note: str
    wall: float
    mono: float = field(default_factory=time.monotonic)


class EventRecorder:
    """Records events.k8s.io/v1 Events for ``component`` (the reporting controller) through
    ``client`` (a :class:`runtime.client.Client`: ``create``/``patch`` are used).

    Call :meth:`event` from anywhere; run :meth:`run` in a task group to deliver them."""

    def __init__(
        self,
        component: str,
        client: Any,
        *,
        reporting_instance: str | None = None,
        series_window: float = 360.0,
        flush_interval: float = 30.0,
        burst: int = 25,
        qps: float = 1.0 / 300.0,
        buffer: int = 1000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.component = component
        self.client = client
        self.reporting_instance = (reporting_instance or f"{component}-{socket.gethostname()}")[
            :128
        ]
        self.series_window = series_window
        self.flush_interval = flush_interval
        self.burst, self.qps = burst, qps
        self._now = now
        self._send, self._receive = anyio.create_memory_object_stream[_Pending](buffer)
        self._series: dict[tuple[Any, ...], _Series] = {}
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        #: events not written: buffer full or over the per-object rate
        self.dropped = 0
        #: API writes done: creates and patches (tests and benchmarks read these)
        self.creates = 0
        self.patches = 0

    # ------------------------------------------------------------- recording

    def event(
        self,
        regarding: Any,
        type: str,  # client-go's parameter name (shadows the builtin here only)
        reason: str,
        action: str,
        note: str = "",
        *,
        related: Any = None,
    ) -> None:
        """Record an event about ``regarding`` (a typed object or dict with metadata).
        ``type`` is ``"Normal"`` or ``"Warning"``. Never blocks."""
        if type not in (NORMAL, WARNING):
            raise ValueError(f"event type must be Normal or Warning, not {type!r}")
        p = _Pending(
            regarding=_reference(regarding),
            related=_reference(related) if related is not None else None,
            type=type,
            reason=reason[:128],
            action=action[:128],
            note=note.encode()[:_MAX_NOTE_BYTES].decode(errors="ignore"),
            wall=time.time(),
            mono=self._now(),
        )
        try:
            self._send.send_nowait(p)
        except anyio.WouldBlock:
            self.dropped += 1
            log.warning("event buffer full, dropping event %s/%s", reason, action)

    # ------------------------------------------------------------- delivery

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write recorded events until cancelled; flushes series counts periodically."""
        task_status.started()
        next_flush = self._now() + self.flush_interval
        while True:
            # only the wait is bounded by the flush deadline: a write in flight is never
            # cancelled (that would lose the event, or duplicate it if the server had it)
            p = None
            with anyio.move_on_after(max(0.0, next_flush - self._now())):
                p = await self._receive.receive()
            if p is not None:
                await self._process(p)
                while True:  # drain what is queued without waiting
                    try:
                        p = self._receive.receive_nowait()
                    except anyio.WouldBlock:
                        break
                    await self._process(p)
            if self._now() >= next_flush:
                await self.flush()
                next_flush = self._now() + self.flush_interval

    async def drain(self) -> None:
        """Process everything queued now and write pending series counts (shutdown, tests)."""
        while True:
            try:
                p = self._receive.receive_nowait()
            except anyio.WouldBlock:
                break
            await self._process(p)
        await self.flush(expire=False)

    async def flush(self, *, expire: bool = True) -> None:
        """Write pending series counts; with ``expire``, forget series not seen for
        ``series_window`` (the next occurrence then starts a new Event)."""
        now = self._now()
        for key, s in list(self._series.items()):
            if s.dirty:
                await self._patch_series(s, key)
            if expire and now - s.last_seen > self.series_window:
                self._series.pop(key, None)
        if expire:
            # a bucket that has refilled is the same as a new one: forget it, or the map
            # grows by one entry per object ever reported on (client-go bounds it by an LRU)
            for bkey, bucket in list(self._buckets.items()):
                if bucket.full():
                    del self._buckets[bkey]

    async def _process(self, p: _Pending) -> None:
        key = (
            _ref_key(p.regarding), p.action, p.reason, self.component, _ref_key(p.related),
        )
        s = self._series.get(key)
        if s is not None and p.mono - s.last_seen <= self.series_window:
            s.count += 1
            s.last_observed = p.wall
            s.last_seen = p.mono
            if s.count == 2:
                await self._patch_series(s, key)  # client-go patches on the first repetition
            else:
                s.dirty = True
            return
        bucket_key = _ref_key(p.regarding)
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = TokenBucket(self.qps, self.burst, self._now)
        if not bucket.allow():
            self.dropped += 1
            return
        name = await self._create(p)
        if name is not None:
            self._series[key] = _Series(
                name=name,
                namespace=p.regarding.get("namespace") or "default",
                last_observed=p.wall,
                last_seen=p.mono,
            )

    async def _create(self, p: _Pending) -> str | None:
        ns = p.regarding.get("namespace") or "default"
        name = f"{p.regarding.get('name') or 'event'}.{time.time_ns():x}"
        body: dict[str, Any] = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "eventTime": _micro_time(p.wall),
            "reportingController": self.component,
            "reportingInstance": self.reporting_instance,
            "action": p.action,
            "reason": p.reason,
            "type": p.type,
            "regarding": p.regarding,
        }
        if p.note:
            body["note"] = p.note
        if p.related is not None:
            body["related"] = p.related
        try:
            await self.client.create(msgspec.convert(body, Event))
        except Exception as e:
            log.warning("could not create event %s/%s on %s: %s", p.reason, p.action,
                        p.regarding.get("name"), e)
            return None
        self.creates += 1
        return name

    async def _patch_series(self, s: _Series, key: tuple[Any, ...]) -> None:
        s.dirty = False
        patch = {"series": {"count": s.count, "lastObservedTime": _micro_time(s.last_observed)}}
        try:
            await self.client.patch(Event, s.name, patch, namespace=s.namespace)
            self.patches += 1
        except Exception as e:
            log.warning("could not update event series %s/%s: %s", s.namespace, s.name, e)
            # the Event is gone (TTL, deleted): the next occurrence creates a new one
            # (client-go re-creates on NotFound) instead of counting into nothing
            gone = getattr(getattr(e, "status", None), "code", None) == 404
            if gone and self._series.get(key) is s:
                del self._series[key]
