"""Liveness/readiness checks with controller-runtime's wire format (``pkg/healthz``).

A :class:`Handler` serves one endpoint (``/healthz`` or ``/readyz``) and its sub-paths:

* ``GET /healthz`` runs every check: ``200 ok`` when all pass; otherwise ``500`` with one
  line per check (``[+]name ok`` / ``[-]name failed: reason withheld``) and
  ``healthz check failed`` (that literal text on ``/readyz`` too). ``?verbose`` prints the
  lines on success too, ending with ``healthz check passed``. ``?exclude=name``
  (repeatable) skips a check (``[+]name excluded: ok``); unknown exclusions produce a
  ``warn:`` line.
* ``GET /healthz/<name>`` runs one check: ``200 ok`` or ``500 internal server error: <err>``
  (the reason is shown only here, where the caller asked for that check by name).
* With no checks registered, ``/healthz/ping`` exists and the aggregate reports ``ping``.

This module is pure: :meth:`Handler.handle` takes a path and query and returns the status,
headers and body; ``runtime.manager`` puts it on the wire.
"""

from __future__ import annotations

import inspect
import logging
import posixpath
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

__all__ = ["Checker", "Handler", "Response", "ping"]

log = logging.getLogger("runtime.healthz")

Checker = Callable[[], Awaitable[None] | None]
"""A check: returns (or awaits to) ``None`` when healthy, raises when not."""

_TEXT = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}


def ping() -> None:
    """Always healthy (``healthz.Ping``)."""
    return None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Status:
    name: str
    healthy: bool
    excluded: bool = False


async def _run(check: Checker) -> Exception | None:
    try:
        r = check()
        if inspect.isawaitable(r):
            await r
    except Exception as err:
        return err
    return None


def _quoted(names: Sequence[str]) -> str:
    return ",".join('"' + n.replace("\\", "\\\\").replace('"', '\\"') + '"' for n in names)


class Handler:
    """Checks of one endpoint; ``name`` only labels log lines."""

    def __init__(self, name: str = "healthz") -> None:
        self.name = name
        self.checks: dict[str, Checker] = {}

    def add_check(self, name: str, check: Checker) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid check name {name!r}")
        if name in self.checks:
            raise ValueError(f"check {name!r} already registered on {self.name}")
        self.checks[name] = check

    async def handle(self, path: str, query: str = "") -> Response:
        """Serve ``path`` relative to the endpoint (``""``, ``"/"`` or ``"/<check>"``)."""
        if not path.startswith("/"):
            path = "/" + path
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if path == "/":
            return await self._aggregated(query)
        name = path[1:]
        if not self.checks and name == "ping":
            return await self._single(ping)
        check = self.checks.get(name)
        if check is None:
            return Response(404, dict(_TEXT), b"404 page not found\n")
        return await self._single(check)

    @staticmethod
    async def _single(check: Checker) -> Response:
        err = await _run(check)
        if err is None:
            return Response(200, dict(_TEXT), b"ok")
        return Response(500, dict(_TEXT), f"internal server error: {err}\n".encode())

    async def _aggregated(self, query: str) -> Response:
        params = parse_qs(query, keep_blank_values=True)
        excluded = set(params.get("exclude", []))
        verbose = "verbose" in params
        parts: list[_Status] = []
        failed = False
        for name, check in self.checks.items():
            if name in excluded:
                excluded.discard(name)
                parts.append(_Status(name, True, excluded=True))
                continue
            err = await _run(check)
            if err is not None:
                log.debug("%s check failed", self.name, extra={"checker": name, "err": str(err)})
                parts.append(_Status(name, False))
                failed = True
            else:
                parts.append(_Status(name, True))
        if not self.checks:
            parts.append(_Status("ping", True))
        parts.sort(key=lambda p: p.name)
        status = 500 if failed else 200
        if not failed and not verbose:
            return Response(status, dict(_TEXT), b"ok")
        lines: list[str] = []
        for p in parts:
            if p.excluded:
                lines.append(f"[+]{p.name} excluded: ok\n")
            elif p.healthy:
                lines.append(f"[+]{p.name} ok\n")
            else:
                lines.append(f"[-]{p.name} failed: reason withheld\n")
        if excluded:
            lines.append(
                "warn: some health checks cannot be excluded: no matches for "
                f"{_quoted(sorted(excluded))}\n"
            )
        if failed:
            log.info("%s check failed", self.name,
                     extra={"statuses": [p.name for p in parts if not p.healthy]})
            lines.append("healthz check failed\n")  # literal, for /readyz too (as in Go)
        else:
            lines.append("healthz check passed\n")
        return Response(status, dict(_TEXT), "".join(lines).encode())
