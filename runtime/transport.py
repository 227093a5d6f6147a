"""The HTTP layer under every API call: lightkube's httpx client, connection pools, retries
and the ``rest_client_*`` request metrics.

Retries (client-go's ``rest.Request`` with its ``withRetry``), for every request made through
an instrumented client (the CRUD client, the cache's lists and watches, discovery, leader
election), at most ``RetryPolicy.max_retries`` (10, client-go's default) times:

* a response **429 or 5xx carrying ``Retry-After``** (what API Priority and Fairness and an
  overloaded or starting apiserver send) is retried after that many seconds, and at least an
  exponential backoff with jitter (0.1 s doubling, capped at 10 s, half of it random) so that
  a crowd of clients told "1 s" does not come back in lock step and repeated refusals slow
  down. A 429/5xx without ``Retry-After`` is returned as is (client-go does not retry it
  either: the caller's own backoff, e.g. the controller's requeue, handles it);
* a **connection reset or early EOF on a GET** (idempotent) is retried after the backoff;
  so is a **failed connect** on any verb (nothing was sent). client-go retries only the
  former; a refused connect is as safe to retry and is what an apiserver restart looks like.

Each attempt counts in ``rest_client_requests_total`` (with its own code) and each retry in
``rest_client_request_retries_total{code,verb,host}``. A request body must be in memory to be
retried (ours always is). ``RetryPolicy.request_timeout`` bounds each attempt's wait for the
response headers (watches excepted), on top of httpx's per-read/connect timeouts, so one hung
request cannot hold a worker forever.

This is the only module that reaches into private attributes of lightkube and httpx2 (the
client under a ``lightkube.AsyncClient``, a resource class's type info, a transport's pool
settings, a client's mounts);
``tests/unit/test_transport.py`` pins them, so an upgrade that changes them fails there, loudly,
instead of somewhere in a reflector.

Connections: HTTP/1.1 has one request per connection at a time, so every open watch holds a
connection for minutes. The reflectors should therefore not share a bounded pool with writes
(httpx's default is 100 connections: 100 watches would leave writes waiting for a free
connection until they time out). :func:`separate_pool_client` makes a client with the same
server, credentials, TLS and timeouts but its own *unbounded* pool; ``runtime.cache.Cache``
gives it to its reflectors. Unbounded is right-sized by construction: a reflector has at most
one request in flight (its list or its watch), so the pool never holds more connections than
there are reflectors, and none of them can wait behind another.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore2
import httpx2

from runtime import metrics

__all__ = [
    "DEFAULT_RETRY",
    "RetryPolicy",
    "close_pool",
    "connection_pool",
    "http_client",
    "instrument",
    "lightkube_type_info",
    "retry_after_seconds",
    "separate_pool_client",
]

log = logging.getLogger(__name__)


def http_client(kube: Any) -> httpx2.AsyncClient:
    """The httpx client under a ``lightkube.AsyncClient`` (base URL, TLS and auth set up from
    the kubeconfig), or ``kube`` itself if it is an httpx client. The reflector and the client
    use it for what lightkube cannot express."""
    if isinstance(kube, httpx2.AsyncClient):
        return kube
    inner = getattr(kube, "_client", None)
    http = getattr(inner, "_client", None)
    if not isinstance(http, httpx2.AsyncClient):
        raise TypeError("expected a lightkube.AsyncClient")
    return http


def lightkube_type_info(resource: Any) -> tuple[str, str, str, str, bool] | None:
    """``(group, version, kind, plural, namespaced)`` of a lightkube resource class or
    instance (its private ``_api_info``; subresources report their parent's kind), or None
    for anything else."""
    api = getattr(resource, "_api_info", None)
    if api is None:
        return None
    from lightkube.core.resource import GlobalResource, GlobalSubResource

    rd = api.parent or api.resource
    namespaced = not (
        isinstance(resource, type) and issubclass(resource, GlobalResource | GlobalSubResource)
    )
    return rd.group, rd.version, rd.kind, api.plural, namespaced


# --------------------------------------------------------------------------- request metrics


class _MetricsTransport(httpx2.AsyncBaseTransport):
    """Counts and times every request (client-go's ``rest_client_*`` adapters). The duration
    is time to response headers, as client-go measures it (a watch counts when it opens)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.netloc.decode()
        method = request.method
        start = time.perf_counter()
        code = "<error>"
        try:
            resp = await self.inner.handle_async_request(request)
            code = str(resp.status_code)
            return resp
        finally:
            metrics.REST_CLIENT_REQUESTS_TOTAL.labels(code=code, method=method, host=host).inc()
            metrics.REST_CLIENT_REQUEST_DURATION_SECONDS.labels(verb=method, host=host).observe(
                time.perf_counter() - start
            )

    async def aclose(self) -> None:
        await self.inner.aclose()


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry (see the module doc)."""

    max_retries: int = 10
    """Retries after the first attempt (client-go: 10)."""
    backoff_base: float = 0.1
    """First backoff; doubles per retry."""
    backoff_cap: float = 10.0
    max_retry_after: float = 60.0
    """A larger ``Retry-After`` is capped to this."""
    request_timeout: float | None = 30.0
    """Bound on one attempt's wait for response headers (not for watches); None: no bound."""

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """The backoff before retry number ``retry`` (0-based): half fixed, half random."""
        d = min(self.backoff_cap, self.backoff_base * 2.0**retry)
        return d / 2 + rand() * d / 2


DEFAULT_RETRY = RetryPolicy()

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_after_seconds(resp: httpx2.Response) -> float | None:
    """The response's ``Retry-After`` in seconds (delta-seconds or an HTTP date), or None
    when absent or unreadable."""
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_watch(request: httpx2.Request) -> bool:
    return request.url.params.get("watch") in ("true", "1")


class _RetryTransport(httpx2.AsyncBaseTransport):
    """Retries per :class:`RetryPolicy` around the metrics transport (so every attempt is
    counted there)."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self._sleep = sleep
        self._rand = rand

    async def _attempt(self, request: httpx2.Request) -> httpx2.Response:
        timeout = self.policy.request_timeout
        if timeout is None or _is_watch(request):
            return await self.inner.handle_async_request(request)
        with anyio.move_on_after(timeout) as scope:
            return await self.inner.handle_async_request(request)
        assert scope.cancelled_caught
        raise httpx2.ReadTimeout(
            f"no response to {request.method} {request.url.path} within {timeout:g}s",
            request=request,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        policy = self.policy
        replayable = isinstance(request.stream, httpx2.ByteStream)
        retry = 0
        while True:
            delay: float | None = None
            try:
                resp = await self._attempt(request)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as e:
                if retry >= policy.max_retries or not replayable:
                    raise
                code, reason = "<error>", f"{type(e).__name__}: {e}"
            except (httpx2.ReadError, httpx2.RemoteProtocolError) as e:
                if (retry >= policy.max_retries or request.method not in _IDEMPOTENT
                        or not replayable):
                    raise
                code, reason = "<error>", f"{type(e).__name__}: {e}"
            else:
                status = resp.status_code
                if not (status == 429 or status >= 500) or retry >= policy.max_retries:
                    return resp
                after = retry_after_seconds(resp)
                if after is None or not replayable:
                    return resp
                await resp.aclose()  # give the connection back before sleeping
                code, reason = str(status), f"{status} with Retry-After {after:g}s"
                delay = min(after, policy.max_retry_after)
            backoff = policy.backoff(retry, self._rand)
            delay = backoff if delay is None else max(delay, backoff)
            host = request.url.netloc.decode()
            metrics.REST_CLIENT_REQUEST_RETRIES_TOTAL.labels(
                code=code, verb=request.method, host=host).inc()
            log.info("retrying %s %s in %.2fs (attempt %d of %d): %s", request.method,
                     request.url.path, delay, retry + 2, policy.max_retries + 1, reason)
            await self._sleep(delay)
            retry += 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def _unpooled_copy(t: httpx2.AsyncBaseTransport | None) -> httpx2.AsyncBaseTransport | None:
    """A new plain transport configured like ``t`` (TLS context, HTTP versions, retries,
    local address, socket options) with an unbounded pool, or None if ``t`` is not a plain
    direct ``AsyncHTTPTransport`` (a proxy or a custom transport cannot be copied)."""
    while isinstance(t, _RetryTransport | _MetricsTransport):
        t = t.inner
    if type(t) is not httpx2.AsyncHTTPTransport:
        return None
    pool = t._pool
    if type(pool) is not httpcore2.AsyncConnectionPool or pool._proxy is not None:
        return None
    return httpx2.AsyncHTTPTransport(
        verify=pool._ssl_context if pool._ssl_context is not None else True,
        http1=pool._http1,
        http2=pool._http2,
        limits=httpx2.Limits(
            max_connections=None,
            max_keepalive_connections=None,
            keepalive_expiry=pool._keepalive_expiry,
        ),
        uds=pool._uds,
        local_address=pool._local_address,
        retries=pool._retries,
        socket_options=pool._socket_options,
    )


def separate_pool_client(kube: Any) -> httpx2.AsyncClient | None:
    """A client like ``kube``'s httpx client (a lightkube ``AsyncClient`` or an httpx
    client): same base URL, auth, headers, timeouts and TLS context, but its own
    unbounded connection pool, for requests that hold a connection for long (watches).
    Not instrumented (see :func:`instrument`).

    Returns None when a transport (the main one or a mount) cannot be copied: a custom
    transport such as a test double, or a proxy; the caller then shares ``kube``'s pool."""
    http = http_client(kube)
    transport = _unpooled_copy(http._transport)
    if transport is None:
        return None
    mounts: dict[str, httpx2.AsyncBaseTransport | None] = {}
    for pattern, t in http._mounts.items():
        copy = _unpooled_copy(t) if t is not None else None
        if t is not None and copy is None:
            return None
        mounts[pattern.pattern] = copy
    return httpx2.AsyncClient(
        base_url=http.base_url,
        auth=http.auth,
        headers=http.headers,
        cookies=http.cookies,
        timeout=http.timeout,
        follow_redirects=http.follow_redirects,
        max_redirects=http.max_redirects,
        event_hooks=http.event_hooks,
        trust_env=http.trust_env,
        transport=transport,
        mounts=mounts,
    )


def connection_pool(http: httpx2.AsyncClient) -> httpcore2.AsyncConnectionPool | None:
    """The connection pool under ``http``'s main transport (through the retry and metrics
    wrappers), or None for a custom transport."""
    t: Any = http._transport
    while isinstance(t, _RetryTransport | _MetricsTransport):
        t = t.inner
    pool = getattr(t, "_pool", None)
    return pool if isinstance(pool, httpcore2.AsyncConnectionPool) else None


async def close_pool(http: httpx2.AsyncClient) -> None:
    """Close the pooled connections of ``http`` (its transport and mounts) but not the
    client: it opens new connections if used again."""
    await http._transport.aclose()
    for t in http._mounts.values():
        if t is not None:
            await t.aclose()


def _wrap(t: httpx2.AsyncBaseTransport, policy: RetryPolicy | None) -> httpx2.AsyncBaseTransport:
    if isinstance(t, _RetryTransport | _MetricsTransport):
        return t  # already instrumented
    metered = _MetricsTransport(t)
    return metered if policy is None else _RetryTransport(metered, policy)


def instrument(kube: Any, retry: RetryPolicy | None = DEFAULT_RETRY) -> httpx2.AsyncClient:
    """Install request metrics and retries (``retry=None``: metrics only) on a lightkube
    ``AsyncClient`` (or an httpx client), its main transport and its mounts; idempotent.
    Returns the httpx client."""
    http = http_client(kube)
    http._transport = _wrap(http._transport, retry)
    mounts = http._mounts
    for pattern, t in list(mounts.items()):
        if t is not None:
            mounts[pattern] = _wrap(t, retry)
    return http
