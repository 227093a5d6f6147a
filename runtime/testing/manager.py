"""A :class:`~runtime.manager.Manager` started for a test: run in a task group until it
leads (and, by default, its informers have synced), stopped when the test is done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from runtime.manager import Manager
from runtime.testing.eventually import eventually

__all__ = ["started"]


@asynccontextmanager
async def started(
    mgr: Manager, *, synced: bool = True, within: float = 20.0
) -> AsyncIterator[Manager]:
    """``mgr`` running, elected and (``synced``) with every informer synced within
    ``within`` seconds; stopped on exit."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(mgr.start)
        await eventually(
            lambda: mgr.elected().is_set()
            and (not synced or all(inf.has_synced() for inf in mgr.cache.informers())),
            within=within,
        )
        try:
            yield mgr
        finally:
            mgr.stop()
