"""A compact HTTP/1.1 server for admission and conversion requests, on anyio byte streams.

The API server calls webhooks with ``POST`` requests carrying a JSON body over keep-alive
connections (one TLS handshake, many requests), so this server keeps connections open
between requests, which matters more for latency than anything else: a TLS handshake costs
about a millisecond of CPU, a small admission request less than that.

What it implements: request line and headers (at most ``max_header_bytes``), bodies by
``Content-Length`` or ``Transfer-Encoding: chunked`` (at most ``max_body_bytes``; a larger
body is answered by the handler's ``too_large`` response, then the rest of the body is
drained and the connection closed), ``Expect: 100-continue``, HTTP/1.0 and
``Connection: close``, an idle timeout between requests and a read timeout per request
(net/http's ``IdleTimeout`` 90 s and ``ReadHeaderTimeout`` 32 s of controller-runtime's
server). Responses always carry ``Content-Length``. No pipelining: a request is answered
before the next is read (clients do not pipeline POSTs).

Nothing here blocks the event loop; the caller decides what runs on a connection's stream
(plain TCP or TLS).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio
import anyio.abc

__all__ = [
    "REASONS",
    "BodyTooLargeError",
    "HTTPConnection",
    "HTTPRequest",
    "HTTPResponse",
    "RequestHandler",
    "TooLargeResponder",
]

log = logging.getLogger("runtime.webhook.http")

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported",
}  # fmt: skip

_RECEIVE = 65536


@dataclass(slots=True)
class HTTPRequest:
    """One request; header names are lower case."""

    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(slots=True)
class HTTPResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


RequestHandler = Callable[[HTTPRequest], Awaitable[HTTPResponse]]
"""Serves one request (never raises for a request it cannot serve: it answers it)."""

TooLargeResponder = Callable[[HTTPRequest, int], HTTPResponse]
"""(request without its body, limit) -> the response to a body over the limit."""


class BodyTooLargeError(Exception):
    """The request body exceeds the limit."""


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Closed(Exception):
    """The peer closed the connection (between or inside requests)."""


class HTTPConnection:
    """Serves requests on one connection until the peer closes it, a timeout, an error, or
    :meth:`close_when_idle`."""

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        handler: RequestHandler,
        *,
        too_large: TooLargeResponder,
        max_body_bytes: int,
        max_header_bytes: int = 1 << 20,
        idle_timeout: float = 90.0,
        read_timeout: float = 32.0,
        drain_limit: int = 64 << 20,
    ) -> None:
        self.stream = stream
        self.handler = handler
        self.too_large = too_large
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.idle_timeout = idle_timeout
        self.read_timeout = read_timeout
        self.drain_limit = drain_limit
        self._buf = bytearray()
        self._idle_scope: anyio.CancelScope | None = None
        self._closing = False
        self.requests = 0

    # ------------------------------------------------------------------ reading

    async def _fill(self) -> None:
        try:
            chunk = await self.stream.receive(_RECEIVE)
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise _Closed from None
        self._buf += chunk

    async def _read_until(self, marker: bytes, limit: int, status: int) -> bytes:
        start = 0
        while True:
            i = self._buf.find(marker, start)
            if i >= 0:
                out = bytes(self._buf[: i + len(marker)])
                del self._buf[: i + len(marker)]
                return out
            if len(self._buf) > limit:
                raise _BadRequestError(status, "request header too large")
            start = max(0, len(self._buf) - len(marker) + 1)
            await self._fill()

    async def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            await self._fill()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def _discard(self, n: int) -> None:
        while n > 0:
            if not self._buf:
                await self._fill()
            k = min(n, len(self._buf))
            del self._buf[:k]
            n -= k

    async def _read_head(self) -> HTTPRequest:
        head = await self._read_until(b"\r\n\r\n", self.max_header_bytes, 431)
        return self._parse_head(head)

    @staticmethod
    def _parse_head(head: bytes) -> HTTPRequest:
        lines = head[:-4].decode("latin-1").split("\r\n")
        while lines and lines[0] == "":  # tolerate stray CRLFs before a request (RFC 9112)
            lines.pop(0)
        if not lines:
            raise _BadRequestError(400, "empty request")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise _BadRequestError(400, f"malformed request line {lines[0][:100]!r}") from None
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _BadRequestError(505, f"unsupported protocol version {version[:20]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequestError(400, f"malformed header line {line[:100]!r}")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        path, _, query = target.partition("?")
        return HTTPRequest(method, path, query, version, headers)

    def _buffered_request(self) -> HTTPRequest | None:
        """The next request if it is already in the buffer whole (the usual case: an
        admission request arrives in one TLS record) with a plain ``Content-Length`` body;
        then no timeout scope is needed to read it."""
        end = self._buf.find(b"\r\n\r\n")
        if end < 0 or end > self.max_header_bytes:
            return None
        req = self._parse_head(bytes(self._buf[: end + 4]))
        h = req.headers
        cl = h.get("content-length", "0")
        if "transfer-encoding" in h or "expect" in h or not cl.isdigit():
            return None
        n = int(cl)
        if n > self.max_body_bytes or len(self._buf) < end + 4 + n:
            return None
        req.body = bytes(self._buf[end + 4: end + 4 + n])
        del self._buf[: end + 4 + n]
        return req

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = await self._read_until(b"\r\n", 4096, 400)
            size_text = line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadRequestError(400, "malformed chunk size") from None
            if size < 0:
                raise _BadRequestError(400, "malformed chunk size")
            if size == 0:
                while (await self._read_until(b"\r\n", self.max_header_bytes, 431)) != b"\r\n":
                    pass  # trailers are ignored
                return bytes(body)
            if len(body) + size > self.max_body_bytes:
                raise BodyTooLargeError
            body += await self._read_exact(size)
            if await self._read_exact(2) != b"\r\n":
                raise _BadRequestError(400, "malformed chunk")

    # ------------------------------------------------------------------ writing

    async def _send(self, resp: HTTPResponse, close: bool) -> None:
        reason = REASONS.get(resp.status, "")
        out = [f"HTTP/1.1 {resp.status} {reason}\r\n"]
        for k, v in resp.headers.items():
            out.append(f"{k}: {v}\r\n")
        out.append(f"Content-Length: {len(resp.body)}\r\n")
        if close:
            out.append("Connection: close\r\n")
        out.append("\r\n")
        await self.stream.send("".join(out).encode("latin-1") + resp.body)

    # ------------------------------------------------------------------ serving

    def close_when_idle(self) -> None:
        """Finish the request in progress (answered with ``Connection: close``), then close;
        an idle connection closes at once."""
        self._closing = True
        if self._idle_scope is not None:
            self._idle_scope.cancel()

    async def serve(self) -> None:
        """Serve until the connection ends; never raises for protocol or I/O errors."""
        try:
            while not self._closing:
                if not await self._serve_one():
                    break
        except (_Closed, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        except Exception as err:  # an ssl.SSLError mid-stream and the like: drop it
            log.debug("connection error: %s", err)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await self.stream.aclose()

    async def _serve_one(self) -> bool:
        # wait for the first byte of the next request (idle)
        if not self._buf:
            with anyio.CancelScope() as scope:
                self._idle_scope = scope
                scope.deadline = anyio.current_time() + self.idle_timeout
                await self._fill()
            self._idle_scope = None
            if scope.cancelled_caught:
                return False
        try:
            req_or_none = self._buffered_request()
        except _BadRequestError as err:
            await self._send(
                HTTPResponse(err.status, f"{err}\n".encode(), {"Content-Type": "text/plain"}), True
            )
            return False
        too_large: int | None = None
        if req_or_none is not None:
            req = req_or_none
        else:
            with anyio.move_on_after(self.read_timeout) as read_scope:
                try:
                    req = await self._read_head()
                    too_large = await self._read_body(req)
                except _BadRequestError as err:
                    await self._send(
                        HTTPResponse(err.status, f"{err}\n".encode(),
                                     {"Content-Type": "text/plain"}),
                        True,
                    )
                    return False
            if read_scope.cancelled_caught:
                await self._send(HTTPResponse(408, b"request timeout\n"), True)
                return False
        keep = req.headers.get("connection", "").lower()
        close = "close" in keep or (req.version == "HTTP/1.0" and "keep-alive" not in keep)
        if too_large is not None:
            await self._send(self.too_large(req, self.max_body_bytes), True)
            await self._drain(too_large)
            return False
        self.requests += 1
        try:
            resp = await self.handler(req)
        except Exception:
            log.exception("webhook request handler failed", extra={"path": req.path})
            resp = HTTPResponse(500, b"internal server error\n")
        close = close or self._closing
        await self._send(resp, close)
        return not close

    async def _read_body(self, req: HTTPRequest) -> int | None:
        """Read the body into ``req``; the byte count left to drain if it is too large."""
        te = req.headers.get("transfer-encoding")
        cl = req.headers.get("content-length")
        if te is not None:
            if te.lower() != "chunked":
                raise _BadRequestError(501, f"unsupported transfer encoding {te[:40]!r}")
            if cl is not None:
                raise _BadRequestError(400, "both Content-Length and Transfer-Encoding")
            await self._continue(req)
            try:
                req.body = await self._read_chunked()
            except BodyTooLargeError:
                return -1
            return None
        if cl is None:
            return None
        if not cl.isdigit():
            raise _BadRequestError(400, f"malformed Content-Length {cl[:40]!r}")
        n = int(cl)
        if n > self.max_body_bytes:
            return n if "100-continue" not in req.headers.get("expect", "").lower() else 0
        await self._continue(req)
        req.body = await self._read_exact(n)
        return None

    async def _continue(self, req: HTTPRequest) -> None:
        if "100-continue" in req.headers.get("expect", "").lower():
            await self.stream.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _drain(self, n: int) -> None:
        """Read and drop the rest of an oversized body so the client reads our answer rather
        than a connection reset (bounded: ``drain_limit`` bytes, 5 s)."""
        if n <= 0 or n > self.drain_limit:
            return
        with anyio.move_on_after(5):
            with contextlib.suppress(_Closed, anyio.BrokenResourceError, OSError):
                await self._discard(n)
