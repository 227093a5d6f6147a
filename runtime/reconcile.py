"""The reconciler contract: ``Request`` in, ``Result`` out (controller-runtime's ``pkg/reconcile``).

A reconciler is level-based: it is told *which* object to look at (namespace/name), never *what
happened*. It reads the current state, writes the desired state, and returns a ``Result``
saying whether (and when) to look again. Raising an exception means "retry with backoff";
raising ``TerminalError`` means "do not retry until the object changes again".

The reconcile context (controller name, request, reconcile id) lives in contextvars so that
logs written anywhere below ``reconcile()`` carry it without threading a ``ctx`` argument.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "ReconcileContext",
    "Reconciler",
    "ReconcilerFunc",
    "Request",
    "Result",
    "TerminalError",
    "current",
    "reconcile_context",
]


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The key of the object to reconcile (``reconcile.Request{NamespacedName}``).

    ``namespace`` is ``""`` for cluster-scoped objects, as in Go.
    """

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What the controller should do with the request after a successful reconcile.

    ``requeue_after`` (seconds, > 0) wins over ``requeue``: the key is forgotten by the rate
    limiter and re-added after that delay. ``requeue=True`` (deprecated upstream, kept for
    parity) re-adds the key with rate-limited backoff. The zero ``Result()`` means done.
    """

    requeue_after: float | None = None
    requeue: bool = False

    def is_zero(self) -> bool:
        return not self.requeue and not (self.requeue_after and self.requeue_after > 0)


class TerminalError(Exception):
    """An error that retrying cannot fix (``reconcile.TerminalError``).

    The controller logs and counts it but does not requeue; the next change to the object
    (a new watch event) triggers a fresh reconcile. Wrap a cause with
    ``raise TerminalError("bad spec") from err`` or ``TerminalError(err)``.
    """


@runtime_checkable
class Reconciler(Protocol):
    """Anything with ``async def reconcile(self, req) -> Result``."""

    async def reconcile(self, req: Request) -> Result: ...


class ReconcilerFunc:
    """Adapts a plain ``async def fn(req) -> Result`` to the ``Reconciler`` protocol
    (``reconcile.Func``)."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[Request], Awaitable[Result]]) -> None:
        self._fn = fn

    async def reconcile(self, req: Request) -> Result:
        return await self._fn(req)


@dataclass(frozen=True, slots=True)
class ReconcileContext:
    """Who is reconciling what: set by the controller around each ``reconcile()`` call."""

    controller: str
    request: Request
    reconcile_id: str
    kind: str = ""
    """Kind of the controller's ``for_()`` type ("" if none): logs key the object by it."""
    group: str = ""


_current: contextvars.ContextVar[ReconcileContext | None] = contextvars.ContextVar(
    "runtime_reconcile_context", default=None
)


def current() -> ReconcileContext | None:
    """The context of the reconcile running in this task, or ``None`` outside a reconcile."""
    return _current.get()


def new_reconcile_id() -> str:
    """A fresh reconcile id (a UUID4, like controller-runtime's ``reconcileID``)."""
    return str(uuid.uuid4())


@contextmanager
def reconcile_context(
    controller: str,
    request: Request,
    reconcile_id: str | None = None,
    *,
    kind: str = "",
    group: str = "",
) -> Iterator[ReconcileContext]:
    """Bind a reconcile context for the duration of the ``with`` block."""
    ctx = ReconcileContext(
        controller, request, reconcile_id or new_reconcile_id(), kind=kind, group=group
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
