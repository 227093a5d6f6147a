"""runtime.transport: retries (429/5xx with Retry-After, resets on GET, failed connects), the
rest_client metrics per attempt, and the private lightkube/httpx2 attributes it relies on
(pinned here, so an upgrade that moves them fails in this file, loudly)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpcore2
import httpx2
import pytest
from lightkube import AsyncClient, KubeConfig

from runtime import metrics
from runtime.transport import (
    RetryPolicy,
    _MetricsTransport,
    _RetryTransport,
    close_pool,
    http_client,
    instrument,
    lightkube_type_info,
    retry_after_seconds,
    separate_pool_client,
)

pytestmark = pytest.mark.anyio
HOST = "retry.test"


class Script:
    """A fake API server answering from a script of responses or exceptions, in order."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.method, request.read()))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers = step
        return httpx2.Response(status, headers=headers, json={"kind": "Status", "code": status})


def client(script: Script, sleeps: list[float], **policy: Any) -> httpx2.AsyncClient:
    async def sleep(d: float) -> None:
        sleeps.append(d)

    inner = _MetricsTransport(httpx2.MockTransport(script))
    transport = _RetryTransport(inner, RetryPolicy(**policy), sleep=sleep, rand=lambda: 0.0)
    return httpx2.AsyncClient(base_url=f"http://{HOST}", transport=transport)


def count(metric: Any, **labels: str) -> float:
    return float(metric.labels(**labels)._value.get())


async def test_429_with_retry_after_is_retried_after_it() -> None:
    before = (count(metrics.REST_CLIENT_REQUESTS_TOTAL, code="429", method="GET", host=HOST),
              count(metrics.REST_CLIENT_REQUESTS_TOTAL, code="200", method="GET", host=HOST),
              count(metrics.REST_CLIENT_REQUEST_RETRIES_TOTAL, code="429", verb="GET", host=HOST))
    script = Script((429, {"Retry-After": "3"}), (429, {"Retry-After": "1"}), (200, {}))
    sleeps: list[float] = []
    resp = await client(script, sleeps).get("/api/v1/namespaces/a/configmaps")
    assert resp.status_code == 200
    assert sleeps == [3.0, 1.0]  # what the server asked for (backoff 0.05 s, 0.1 s is less)
    after = (count(metrics.REST_CLIENT_REQUESTS_TOTAL, code="429", method="GET", host=HOST),
             count(metrics.REST_CLIENT_REQUESTS_TOTAL, code="200", method="GET", host=HOST),
             count(metrics.REST_CLIENT_REQUEST_RETRIES_TOTAL, code="429", verb="GET", host=HOST))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 2]


async def test_retry_after_is_waited_in_real_time_and_the_body_sent_again() -> None:
    script = Script((503, {"Retry-After": "1"}), (201, {}))
    inner = _MetricsTransport(httpx2.MockTransport(script))
    http = httpx2.AsyncClient(base_url=f"http://{HOST}",
                              transport=_RetryTransport(inner, RetryPolicy()))
    t0 = time.monotonic()
    resp = await http.post("/api/v1/namespaces/a/configmaps", content=b'{"a":1}')
    assert resp.status_code == 201 and time.monotonic() - t0 >= 1.0
    assert script.seen == [("POST", b'{"a":1}'), ("POST", b'{"a":1}')]


@pytest.mark.parametrize(
    ("steps", "method", "statuses_seen", "sleeps"),
    [
        # no Retry-After: returned as is, as client-go does
        ([(429, {}), (200, {})], "GET", 1, []),
        ([(500, {}), (200, {})], "GET", 1, []),
        ([(409, {"Retry-After": "1"}), (200, {})], "PUT", 1, []),
        # repeated refusals back off at least exponentially (0.05, 0.1, 0.2, 0.4 with rand=0)
        ([(429, {"Retry-After": "0"})] * 4 + [(200, {})], "GET", 5, [0.05, 0.1, 0.2, 0.4]),
        # connection reset: retried for GET only
        ([httpx2.ReadError("reset"), (200, {})], "GET", 2, [0.05]),
        ([httpx2.RemoteProtocolError("eof"), (200, {})], "GET", 2, [0.05]),
        # a failed connect sent nothing: retried for any verb
        ([httpx2.ConnectError("refused"), (200, {})], "POST", 2, [0.05]),
    ],
)
async def test_what_is_retried(steps: list[Any], method: str, statuses_seen: int,
                               sleeps: list[float]) -> None:
    script = Script(*steps)
    slept: list[float] = []
    resp = await client(script, slept).request(method, "/x", content=b"{}")
    assert len(script.seen) == statuses_seen
    assert slept == pytest.approx(sleeps)
    assert resp.status_code in (200, 429, 500, 409)


async def test_reset_on_a_write_is_not_retried() -> None:
    script = Script(httpx2.ReadError("reset"), (200, {}))
    with pytest.raises(httpx2.ReadError):
        await client(script, []).patch("/x", content=b"{}")
    assert len(script.seen) == 1


async def test_retries_are_bounded() -> None:
    script = Script(*[(429, {"Retry-After": "1"})] * 12)
    sleeps: list[float] = []
    resp = await client(script, sleeps, max_retries=10).get("/x")
    assert resp.status_code == 429
    assert len(script.seen) == 11 and len(sleeps) == 10


async def test_a_huge_retry_after_is_capped() -> None:
    script = Script((429, {"Retry-After": "86400"}), (200, {}))
    sleeps: list[float] = []
    await client(script, sleeps, max_retry_after=60).get("/x")
    assert sleeps == [60]


async def test_per_request_timeout_bounds_a_hung_request_but_not_a_watch() -> None:
    async def hang(request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep(0.3)
        return httpx2.Response(200)

    http = httpx2.AsyncClient(base_url=f"http://{HOST}", transport=_RetryTransport(
        httpx2.MockTransport(hang), RetryPolicy(request_timeout=0.05)))
    with pytest.raises(httpx2.ReadTimeout, match=r"within 0\.05s"):
        await http.get("/x")
    assert (await http.get("/x", params={"watch": "true"})).status_code == 200


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), ("0", 0.0), (" 2 ", 2.0), ("soon", None), (None, None),
     ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    resp = httpx2.Response(429, headers={} if header is None else {"Retry-After": header})
    assert retry_after_seconds(resp) == seconds


# --------------------------------------------------------------------------- pinned internals


def _kube() -> AsyncClient:
    cfg = KubeConfig.from_dict({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    })
    return AsyncClient(cfg)


def test_pinned_private_attributes_still_exist() -> None:
    """The private attributes runtime/transport.py reads. If this fails after an upgrade of
    lightkube, httpx2 or httpcore2 (pinned in requirements.lock), update that module to the
    new names: nothing else in the project touches them."""
    kube = _kube()
    http = getattr(getattr(kube, "_client", None), "_client", None)
    assert isinstance(http, httpx2.AsyncClient), "lightkube.AsyncClient._client._client"
    assert http_client(kube) is http
    assert isinstance(http._transport, httpx2.AsyncHTTPTransport), "httpx2 AsyncClient._transport"
    assert isinstance(http._mounts, dict), "httpx2 AsyncClient._mounts"
    pool = http._transport._pool
    assert type(pool) is httpcore2.AsyncConnectionPool, "AsyncHTTPTransport._pool"
    for attr in ("_ssl_context", "_http1", "_http2", "_keepalive_expiry", "_uds",
                 "_local_address", "_retries", "_socket_options", "_proxy",
                 "_max_connections"):
        assert hasattr(pool, attr), f"httpcore2 AsyncConnectionPool.{attr}"
    # lightkube resource classes' type info (_api_info)
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import Namespace, Pod

    assert lightkube_type_info(Deployment) == ("apps", "v1", "Deployment", "deployments", True)
    assert lightkube_type_info(Namespace) == ("", "v1", "Namespace", "namespaces", False)
    assert lightkube_type_info(Pod.Status) == ("", "v1", "Pod", "pods", True)
    assert lightkube_type_info(object) is None


async def test_instrument_wraps_once_and_the_pool_copy_sees_through_it() -> None:
    kube = _kube()
    http = instrument(kube)
    assert isinstance(http._transport, _RetryTransport)
    assert isinstance(http._transport.inner, _MetricsTransport)
    assert instrument(kube)._transport is http._transport  # idempotent
    copy = separate_pool_client(kube)
    assert copy is not None and copy.base_url == http.base_url
    pool = copy._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections == pool._max_keepalive_connections == 2**63 - 1  # unbounded
    assert copy.auth is http.auth and copy.timeout == http.timeout
    await close_pool(copy)
    await kube.close()
