"""The HTTP layer under every API call: lightkube's httpx client, connection pools and the
``rest_client_*`` request metrics.

This is the only module that reaches into private attributes of lightkube and httpx2 (the
client under a ``lightkube.AsyncClient``, a transport's pool settings, a client's mounts);
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

import time
from typing import Any

import httpcore2
import httpx2

from runtime import metrics

__all__ = [
    "close_pool",
    "http_client",
    "instrument",
    "separate_pool_client",
]


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


def _unpooled_copy(t: httpx2.AsyncBaseTransport | None) -> httpx2.AsyncBaseTransport | None:
    """A new plain transport configured like ``t`` (TLS context, HTTP versions, retries,
    local address, socket options) with an unbounded pool, or None if ``t`` is not a plain
    direct ``AsyncHTTPTransport`` (a proxy or a custom transport cannot be copied)."""
    if isinstance(t, _MetricsTransport):
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


async def close_pool(http: httpx2.AsyncClient) -> None:
    """Close the pooled connections of ``http`` (its transport and mounts) but not the
    client: it opens new connections if used again."""
    await http._transport.aclose()
    for t in http._mounts.values():
        if t is not None:
            await t.aclose()


def instrument(kube: Any) -> httpx2.AsyncClient:
    """Install the request-metrics transport on a lightkube ``AsyncClient`` (or an httpx
    client); idempotent. Returns the httpx client."""
    http = http_client(kube)
    transport = http._transport
    if not isinstance(transport, _MetricsTransport):
        http._transport = _MetricsTransport(transport)
    mounts = http._mounts
    for pattern, t in list(mounts.items()):
        if t is not None and not isinstance(t, _MetricsTransport):
            mounts[pattern] = _MetricsTransport(t)
    return http
