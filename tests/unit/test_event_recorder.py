"""runtime.recorder.EventRecorder logic that needs no apiserver: its bookkeeping under a fake
clock and a client whose writes are slow (runtime.testing.fake_client). What the Events look
like on a real apiserver is tested in tests/integration/test_client.py."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube.resources.events_v1 import Event

from runtime.recorder import EventRecorder
from runtime.testing.fake_client import FakeClient, Request

pytestmark = pytest.mark.anyio


def _target(name: str = "t", uid: str = "u-1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns", "uid": uid}}


def _slow(seconds: float) -> Any:
    async def intercept(_req: Request) -> None:
        await anyio.sleep(seconds)
    return intercept


async def test_recorder_flush_deadline_does_not_cancel_writes_in_flight() -> None:
    # every write takes longer than the flush interval: the periodic flush must not cancel
    # the create (that loses the event, or duplicates it when the server already stored it)
    client = FakeClient(intercept=_slow(0.05))
    rec = EventRecorder("c", client, flush_interval=0.01)
    for i in range(3):
        rec.event(_target(f"t{i}", f"u{i}"), "Normal", "R", "A")
    async with anyio.create_task_group() as tg:
        await tg.start(rec.run)
        await anyio.sleep(0.5)
        tg.cancel_scope.cancel()
    assert (rec.creates, client.count("create")) == (3, 3)
    stored = client.objects(Event)
    assert sorted(e["regarding"]["name"] for e in stored) == ["t0", "t1", "t2"]


async def test_recorder_forgets_idle_rate_limit_buckets() -> None:
    # one token bucket per regarding object; an object quiet for long enough for its bucket to
    # refill is indistinguishable from a new one, so the bucket must not be kept forever
    t = [0.0]
    client = FakeClient()
    rec = EventRecorder("c", client, now=lambda: t[0])
    for i in range(200):
        rec.event(_target(f"t{i}", f"u{i}"), "Normal", "R", "A")
    await rec.drain()
    assert rec.creates == 200 == client.count("create", kind="Event")
    t[0] += rec.burst / rec.qps + 1.0
    await rec.flush()
    assert len(rec._buckets) == 0 and len(rec._series) == 0
    # a bucket still refilling is kept, and still limits
    for i in range(rec.burst + 5):
        rec.event(_target(), "Normal", "R", "A", related=_target(f"r{i}", f"ru{i}"))
    await rec.drain()
    t[0] += 1.0
    await rec.flush()
    assert len(rec._buckets) == 1 and rec.dropped == 5
    assert client.count("create", kind="Event") == 200 + rec.burst


async def test_recorder_series_costs_one_create_and_one_patch_per_flush() -> None:
    client = FakeClient()
    rec = EventRecorder("c", client, flush_interval=3600)
    for i in range(100):
        rec.event(_target(), "Warning", "Failed", "Sync", f"attempt {i}")
    await rec.drain()
    assert (client.count("create"), client.count("patch")) == (1, 2)
    [ev] = client.objects(Event)
    assert ev["series"]["count"] == 100 and ev["note"] == "attempt 0"
