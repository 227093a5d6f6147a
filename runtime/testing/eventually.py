"""``eventually``: poll a condition until it holds, like gomega's ``Eventually``.

Tests against a real apiserver wait for state that no event announces to them (a Deployment's
ready replicas, an object garbage-collected); this is the one polling loop they share.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


async def eventually(
    condition: Callable[[], T | Awaitable[T]], within: float = 20.0, interval: float = 0.05
) -> T:
    """Return the first truthy value of ``condition()`` (sync or async); raise ``TimeoutError``
    after ``within`` seconds."""
    with anyio.fail_after(within):
        while True:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            await anyio.sleep(interval)
