"""``eventually``: poll a condition until it holds, like gomega's ``Eventually``.

Tests against a real apiserver wait for state that no event announces to them (a Deployment's
ready replicas, an object garbage-collected, a cache catching up); this is the one polling
loop they share.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


async def eventually(
    condition: Callable[[], T | Awaitable[T]], within: float = 20.0, interval: float = 0.05
) -> T:
    """Return the first truthy value of ``condition()`` (sync or async). An
    ``AssertionError`` raised by the condition counts as "not yet", as in gomega. After
    ``within`` seconds raise ``TimeoutError`` naming the last value or assertion seen."""
    last: Any = None
    try:
        with anyio.fail_after(within):
            while True:
                try:
                    value = condition()
                    if inspect.isawaitable(value):
                        value = await value
                except AssertionError as exc:
                    last = exc
                else:
                    if value:
                        return value
                    last = value
                await anyio.sleep(interval)
    except TimeoutError as exc:
        raise TimeoutError(f"condition not reached within {within:g} s (last: {last!r})") from exc
