"""A minimal HTTP/1.1 GET server on anyio streams, for the manager's metrics and health-probe
endpoints, rather than starlette+uvicorn: two fixed GET endpoints do not need a framework,
and the hand-written server costs no extra imports (uvicorn + starlette + their deps add
several MB of RSS and startup time to every replica) and no threads."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio
import anyio.abc
from anyio.abc import TaskStatus

from runtime.healthz import Response

__all__ = ["HTTPServer", "Route"]

log = logging.getLogger(__name__)


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error"}
_MAX_HEAD = 16 * 1024

Route = Callable[[str, str], Awaitable[Response]]
"""(path, query) -> Response."""


class HTTPServer:
    """A minimal HTTP/1.1 GET server on anyio streams, one response per connection."""

    def __init__(self, name: str, host: str | None, port: int, routes: dict[str, Route]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.routes = routes  # exact path or "prefix/" -> handler of the rest

    def _route(self, path: str) -> tuple[Route, str] | None:
        for prefix, h in self.routes.items():
            if path == prefix:
                return h, ""
            if path.startswith(prefix + "/"):
                return h, path[len(prefix):]
        return None

    async def _respond(self, stream: anyio.abc.ByteStream, head: bytes) -> None:
        try:
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _version = line.split(" ", 2)
        except ValueError:
            await self._write(stream, Response(400, {}, b"bad request\n"), False)
            return
        u = urlsplit(target)
        found = self._route(u.path)
        if found is None:
            resp = Response(404, {"Content-Type": "text/plain; charset=utf-8"},
                            b"404 page not found\n")
        elif method not in ("GET", "HEAD"):
            resp = Response(405, {}, b"method not allowed\n")
        else:
            handler, rest = found
            try:
                resp = await handler(rest, u.query)
            except Exception:
                log.exception("HTTP handler failed", extra={"server": self.name, "path": u.path})
                resp = Response(500, {}, b"internal server error\n")
        await self._write(stream, resp, method == "HEAD")

    @staticmethod
    async def _write(stream: anyio.abc.ByteStream, resp: Response, head_only: bool) -> None:
        reason = _REASONS.get(resp.status, "")
        headers = {"Content-Length": str(len(resp.body)), "Connection": "close", **resp.headers}
        out = [f"HTTP/1.1 {resp.status} {reason}\r\n".encode("latin-1")]
        out += [f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items()]
        out.append(b"\r\n")
        if not head_only:
            out.append(resp.body)
        await stream.send(b"".join(out))

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            buf = b""
            with anyio.move_on_after(10):  # slow or idle clients do not keep a task forever
                try:
                    while b"\r\n\r\n" not in buf:
                        chunk = await stream.receive(4096)
                        buf += chunk
                        if len(buf) > _MAX_HEAD:
                            return
                    await self._respond(stream, buf)
                except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                    return

    async def serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the bound port through ``task_status``, serve until cancelled."""
        listener = await anyio.create_tcp_listener(
            local_host=self.host, local_port=self.port, reuse_port=False
        )
        port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
        log.info("Serving %s", self.name, extra={"bindAddress": f"{self.host or ''}:{port}"})
        async with listener:
            task_status.started(port)
            await listener.serve(self._handle)


