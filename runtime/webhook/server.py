"""The webhook server (controller-runtime's ``webhook.DefaultServer``): HTTPS on port 9443,
one handler per path, a manager runnable that runs on every replica.

Conventions kept from c-r: port 9443, certificates ``tls.crt``/``tls.key`` in
``/tmp/k8s-webhook-server/serving-certs`` (reloaded when they change, see
:class:`~runtime.webhook.tls.CertWatcher`), an optional client CA, exact-path routing (404
otherwise), per-path metrics ``controller_runtime_webhook_requests_total{webhook,code}``,
``..._requests_in_flight{webhook}`` and ``..._latency_seconds{webhook}`` (``webhook`` is the
path, ``code`` the HTTP status), a ``started_checker`` for ``/readyz`` and ``/healthz`` that
passes once a TLS handshake with the server succeeds, and a graceful stop (no new
connections, requests in progress finish, idle keep-alive connections close; bounded by
``shutdown_timeout``, c-r's 1 minute).

Not leader-gated (``need_leader_election() -> False``): every replica answers admission
requests. Added to a manager it starts with the other non-leader runnables, after the caches
synced, so handlers that read the cache never answer from an empty one (c-r starts webhooks
before the caches because conversion webhooks may be needed to list; no conversion is
needed to start this manager).

Handlers run on the event loop. An InferenceService validation costs about 0.07 ms of CPU and
a whole request (TLS, HTTP, JSON, handler, metrics) 0.2-0.3 ms (``bench/bench_webhook.py``:
about 4,000 requests/s on one core), less than moving the work to a thread or process would
cost, so nothing is offloaded; a handler that does heavy or blocking work offloads it itself
(``anyio.to_thread``). A request that arrived whole (the usual case) is parsed without a
timeout scope; only one still arriving is read under ``read_timeout``.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.abc
from anyio.abc import TaskStatus
from anyio.streams.tls import TLSStream

from runtime import metrics
from runtime.webhook.admission import MAX_REQUEST_BYTES, Admission
from runtime.webhook.conversion import ConversionWebhook
from runtime.webhook.http import HTTPConnection, HTTPRequest, HTTPResponse
from runtime.webhook.tls import DEFAULT_CERT_DIR, CertWatcher, TLSOptions

__all__ = ["CONVERT_PATH", "DEFAULT_PORT", "Hook", "WebhookServer"]

log = logging.getLogger("runtime.webhook")

DEFAULT_PORT = 9443
CONVERT_PATH = "/convert"
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


class Hook(Protocol):
    """What serves one path: an :class:`~runtime.webhook.admission.Admission`, a
    :class:`~runtime.webhook.conversion.ConversionWebhook`, or anything with ``serve``
    (and optionally ``too_large(request, limit) -> HTTPResponse``)."""

    async def serve(self, request: HTTPRequest) -> HTTPResponse: ...


class WebhookServer:
    """An HTTPS server for admission and conversion webhooks.

    ``port=0`` binds an ephemeral port (see :attr:`port` once started). ``dev`` is a
    :class:`~runtime.webhook.dev.DevCertificates`: it makes a CA and serving certificate in
    ``cert_dir`` before the server starts and, once it listens, patches ``caBundle`` (and,
    for a local API server, the URL) into the named webhook configurations.
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int = DEFAULT_PORT,
        cert_dir: str | os.PathLike[str] = DEFAULT_CERT_DIR,
        cert_name: str = "tls.crt",
        key_name: str = "tls.key",
        tls_options: TLSOptions | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        idle_timeout: float = 90.0,
        read_timeout: float = 32.0,
        handshake_timeout: float = 10.0,
        shutdown_timeout: float = 60.0,
        dev: Any = None,
    ) -> None:
        self.host = host
        self.port = port
        self.cert_dir = Path(cert_dir)
        self.cert_name = cert_name
        self.key_name = key_name
        self.tls_options = tls_options or TLSOptions()
        self.tls_options.validate()
        self.max_request_bytes = max_request_bytes
        self.idle_timeout = idle_timeout
        self.read_timeout = read_timeout
        self.handshake_timeout = handshake_timeout
        self.shutdown_timeout = shutdown_timeout
        self.dev = dev
        self.watcher = CertWatcher(
            self.cert_dir / cert_name, self.cert_dir / key_name, self.tls_options
        )
        self._hooks: dict[str, Hook] = {}
        #: path -> (in-flight gauge, latency histogram, {code: counter}): label lookups once
        self._metrics: dict[str, tuple[Any, Any, dict[int, Any]]] = {}
        self._conversion: ConversionWebhook | None = None
        self._connections: set[HTTPConnection] = set()
        self._started = anyio.Event()
        self._accept_scope: anyio.CancelScope | None = None
        self._conns_scope: anyio.CancelScope | None = None
        self._conns_idle = anyio.Event()

    # ------------------------------------------------------------------ registration

    def register(self, path: str, hook: Hook) -> None:
        """Serve ``hook`` at ``path`` (c-r ``Register``; a duplicate path is an error)."""
        if not path.startswith("/"):
            raise ValueError(f"webhook path {path!r} must start with '/'")
        if path in self._hooks:
            raise ValueError(f"can't register duplicate path: {path}")
        self._hooks[path] = hook
        metrics.init_webhook_metrics(path)
        self._metrics[path] = (
            metrics.WEBHOOK_REQUESTS_IN_FLIGHT.labels(webhook=path),
            metrics.WEBHOOK_LATENCY_SECONDS.labels(webhook=path),
            {},
        )
        log.info("Registering webhook", extra={"path": path})

    @property
    def paths(self) -> list[str]:
        return sorted(self._hooks)

    def hook(self, path: str) -> Hook | None:
        return self._hooks.get(path)

    @property
    def conversion(self) -> ConversionWebhook:
        """The conversion webhook at ``/convert`` (registered on first use)."""
        if self._conversion is None:
            self._conversion = ConversionWebhook()
            self.register(CONVERT_PATH, self._conversion)
        return self._conversion

    def need_leader_election(self) -> bool:
        return False

    # ------------------------------------------------------------------ serving a request

    async def dispatch(self, request: HTTPRequest) -> HTTPResponse:
        """Route one request (what a connection calls; tests may call it directly)."""
        path = request.path
        hook = self._hooks.get(path)
        if hook is None:
            return HTTPResponse(404, b"404 page not found\n", _TEXT)
        if request.method != "POST":
            return HTTPResponse(405, b"method not allowed\n", {**_TEXT, "Allow": "POST"})
        gauge, latency, _ = self._metrics[path]
        gauge.inc()
        t0 = time.perf_counter()
        try:
            resp = await hook.serve(request)
        except Exception:
            log.exception("webhook failed", extra={"path": path})
            resp = HTTPResponse(500, b"internal server error\n", _TEXT)
        finally:
            gauge.dec()
        latency.observe(time.perf_counter() - t0)
        self._count(path, resp.status)
        return resp

    def _count(self, path: str, status: int) -> None:
        counters = self._metrics[path][2]
        counter = counters.get(status)
        if counter is None:
            counter = counters[status] = metrics.WEBHOOK_REQUESTS_TOTAL.labels(
                webhook=path, code=str(status))
        counter.inc()

    def _too_large(self, request: HTTPRequest, limit: int) -> HTTPResponse:
        hook = self._hooks.get(request.path)
        responder: Callable[[HTTPRequest, int], HTTPResponse] = getattr(
            hook, "too_large", Admission.too_large
        )
        resp = responder(request, limit)
        if hook is not None:
            self._count(request.path, resp.status)
        return resp

    # ------------------------------------------------------------------ connections

    async def _connection(self, tcp: anyio.abc.SocketStream) -> None:
        try:
            ctx = await self.watcher.context()
            with anyio.fail_after(self.handshake_timeout):
                stream = await TLSStream.wrap(
                    tcp, server_side=True, ssl_context=ctx, standard_compatible=False
                )
        except (TimeoutError, ssl.SSLError, OSError, anyio.EndOfStream,
                anyio.BrokenResourceError) as err:
            log.debug("TLS handshake failed: %s", err)
            with anyio.CancelScope(shield=True):
                await tcp.aclose()
            return
        conn = HTTPConnection(
            stream,
            self.dispatch,
            too_large=self._too_large,
            max_body_bytes=self.max_request_bytes,
            idle_timeout=self.idle_timeout,
            read_timeout=self.read_timeout,
        )
        self._connections.add(conn)
        self._conns_idle = anyio.Event() if len(self._connections) == 1 else self._conns_idle
        try:
            await conn.serve()
        finally:
            self._connections.discard(conn)
            if not self._connections:
                self._conns_idle.set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def started(self) -> bool:
        return self._started.is_set()

    async def serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        """Load the certificate, bind, report the port, serve until cancelled. Raises if the
        certificate does not load or the port cannot be bound."""
        if self.dev is not None:
            await self.dev.prepare(self)
        await self.watcher.load()
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self.port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
        log.info("Serving webhook server", extra={"host": self.host or "", "port": self.port})
        async with anyio.create_task_group() as conns:
            self._conns_scope = conns.cancel_scope
            async with listener:
                with anyio.CancelScope() as accept:
                    self._accept_scope = accept
                    self._started.set()
                    task_status.started(self.port)
                    if self.dev is not None:
                        await self.dev.started(self)
                    await listener.serve(self._connection, task_group=conns)
            # not accepting any more: let the open connections finish (see shutdown)
            await anyio.sleep_forever()

    async def shutdown(self) -> None:
        """Stop accepting, finish requests in progress, close idle connections; after
        ``shutdown_timeout`` the remaining connections are cut."""
        log.info("Shutting down webhook server with timeout of %s s", self.shutdown_timeout)
        if self._accept_scope is not None:
            self._accept_scope.cancel()
        for conn in list(self._connections):
            conn.close_when_idle()
        if self._connections:
            with anyio.move_on_after(self.shutdown_timeout):
                await self._conns_idle.wait()
        if self._conns_scope is not None:
            self._conns_scope.cancel()

    async def start(self, stopping: anyio.Event) -> None:
        """The manager runnable: serve until ``stopping`` is set, then shut down."""
        async with anyio.create_task_group() as tg:
            await tg.start(self.serve)
            await stopping.wait()
            await self.shutdown()
            tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ readiness

    def dial_host(self) -> str:
        if self.host in (None, "", "0.0.0.0"):
            return "127.0.0.1"
        if self.host == "::":
            return "::1"
        return self.host

    async def started_checker(self) -> None:
        """A health check (c-r ``StartedChecker``): fails until the server listens and a TLS
        handshake with it succeeds (certificate not verified)."""
        if not self._started.is_set():
            raise RuntimeError("webhook server has not been started yet")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with anyio.fail_after(10):
                stream = await anyio.connect_tcp(
                    self.dial_host(), self.port, tls=True, ssl_context=ctx,
                    tls_standard_compatible=False,
                )
                await stream.aclose()
        except (OSError, TimeoutError, ssl.SSLError) as err:
            raise RuntimeError(f"webhook server is not reachable: {err}") from err

    def url(self, path: str = "") -> str:
        """``https://<host>:<port><path>`` as a local client reaches the server."""
        host = self.dial_host()
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}{path}"


StartedChecker = Callable[[], Awaitable[None]]
