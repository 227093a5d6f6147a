"""Structured JSON logging on stdlib ``logging``.

Every record written inside a reconcile carries ``controller``, ``controllerGroup``,
``controllerKind``, ``<Kind>: {name, namespace}``, ``namespace``, ``name`` and
``reconcileID``, read from the reconcile contextvars, so a reconciler just uses
``logging.getLogger(__name__)``. Extra fields go through ``extra={...}``. Keys are the ones
controller-runtime's zap logger emits, so log queries written for Go operators work.

No secrets: values whose key looks like a credential (token, password, secret, authorization,
...) are replaced by ``"<redacted>"``; never log object ``data`` of Secrets.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

from runtime import reconcile

__all__ = ["JSONFormatter", "get_logger", "setup_logging"]

_STD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)
_SECRET_WORDS = ("password", "passwd", "token", "secret", "authorization", "apikey", "api_key",
                 "private_key", "bearer", "credential")


def _redact(key: str, value: Any) -> Any:
    k = key.lower()
    if any(w in k for w in _SECRET_WORDS):
        return "<redacted>"
    return value


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, the reconcile context,
    any ``extra`` fields, and ``error``/``stacktrace`` for exceptions."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = reconcile.current()
        if ctx is not None:
            out["controller"] = ctx.controller
            if ctx.kind:  # controller-runtime's keys: controllerGroup, controllerKind, <Kind>
                out["controllerGroup"] = ctx.group
                out["controllerKind"] = ctx.kind
                obj = {"name": ctx.request.name}
                if ctx.request.namespace:
                    obj["namespace"] = ctx.request.namespace
                out[ctx.kind] = obj
            if ctx.request.namespace:
                out["namespace"] = ctx.request.namespace
            out["name"] = ctx.request.name
            out["reconcileID"] = ctx.reconcile_id
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = _redact(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            exc = record.exc_info[1]
            out["error"] = f"{type(exc).__name__}: {exc}"
            out["stacktrace"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, default=str, separators=(",", ":"))


def setup_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> None:
    """Install the JSON formatter on the root logger (idempotent: replaces our own handler)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_runtime_json", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler._runtime_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # The HTTP stack logs every request at INFO: one line per API call would drown the
    # controllers' own logs (rest_client_requests_total counts them instead).
    for noisy in _QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


_QUIET_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2")


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
