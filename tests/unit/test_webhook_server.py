"""runtime.webhook.server on a loopback socket: HTTP/1.1 keep-alive, bodies, limits,
routing, metrics, readiness, certificate rotation while serving, TLS options, graceful
stop. No process is started: the server runs in the test's event loop."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from runtime import metrics
from runtime.webhook import (
    Admission,
    DevCertificates,
    Validator,
    ValidatorHandler,
    WebhookServer,
)
from runtime.webhook.dev import write_dev_certificates
from runtime.webhook.http import HTTPRequest, HTTPResponse
from runtime.webhook.tls import TLSOptions

PATH = "/validate-x"
REVIEW = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                     "request": {"uid": "u", "operation": "CREATE", "object": {"a": 1}}}).encode()


def client_ctx(cert_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert_dir / "ca.crt"))


class Conn:
    """A raw HTTP/1.1 client on one TLS connection."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.buf = b""

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self.buf += await self.stream.receive()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self.buf += await self.stream.receive()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    async def post(self, path: str, body: bytes, extra: str = "") -> tuple[int, dict[str, str],
                                                                           bytes]:
        await self.send(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n".encode() + body)
        return await self.response()


async def connect(server: WebhookServer, ctx: ssl.SSLContext | None = None) -> Conn:
    ctx = ctx or client_ctx(server.cert_dir)
    stream = await anyio.connect_tcp("127.0.0.1", server.port, tls=True, ssl_context=ctx,
                                     tls_hostname="127.0.0.1", tls_standard_compatible=False)
    return Conn(stream)


class Slow:
    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()

    async def validate_create(self, obj: Any, req: Any) -> None:
        self.entered.set()
        await self.release.wait()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[WebhookServer]:
    srv = WebhookServer(port=0, host="127.0.0.1", cert_dir=tmp_path, dev=DevCertificates(),
                        shutdown_timeout=5)
    srv.register(PATH, Admission(ValidatorHandler(Validator(create=lambda o, r: ["ok"]))))
    async with anyio.create_task_group() as tg:
        await tg.start(srv.serve)
        yield srv
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_keep_alive_serves_many_requests_on_one_connection(server: WebhookServer) -> None:
    conn = await connect(server)
    for _ in range(3):
        status, headers, body = await conn.post(PATH, REVIEW)
        assert status == 200 and "connection" not in headers
        assert json.loads(body)["response"]["warnings"] == ["ok"]
    assert len(server._connections) == 1
    status, headers, _ = await conn.post(PATH, REVIEW, "Connection: close\r\n")
    assert status == 200 and headers["connection"] == "close"


@pytest.mark.anyio
async def test_chunked_body_and_expect_continue(server: WebhookServer) -> None:
    conn = await connect(server)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (REVIEW[:10], REVIEW[10:]))
    await conn.send(f"POST {PATH} HTTP/1.1\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n")
    status, _, body = await conn.response()
    assert status == 200 and json.loads(body)["response"]["allowed"] is True
    await conn.send(f"POST {PATH} HTTP/1.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(REVIEW)}\r\nExpect: 100-continue\r\n\r\n".encode())
    status, _, _ = await conn.response()
    assert status == 100
    await conn.send(REVIEW)
    status, _, _ = await conn.response()
    assert status == 200


@pytest.mark.anyio
async def test_body_over_limit_is_413_and_connection_closes(server: WebhookServer) -> None:
    conn = await connect(server)
    big = b" " * (server.max_request_bytes + 1)
    before = metrics.WEBHOOK_REQUESTS_TOTAL.labels(webhook=PATH, code="413")._value.get()
    status, headers, body = await conn.post(PATH, big)
    assert status == 413 and headers["connection"] == "close"
    msg = json.loads(body)["response"]["status"]["message"]
    assert msg == "request entity is too large; limit is 7340032 bytes"
    after = metrics.WEBHOOK_REQUESTS_TOTAL.labels(webhook=PATH, code="413")._value.get()
    assert after == before + 1
    conn2 = await connect(server)  # the server is fine
    assert (await conn2.post(PATH, REVIEW))[0] == 200


@pytest.mark.anyio
async def test_routing_and_metrics(server: WebhookServer) -> None:
    conn = await connect(server)
    assert (await conn.post("/nope", REVIEW))[0] == 404
    await conn.send(f"GET {PATH} HTTP/1.1\r\n\r\n".encode())
    assert (await conn.response())[0] == 405
    total = metrics.WEBHOOK_REQUESTS_TOTAL.labels(webhook=PATH, code="200")
    before = total._value.get()
    await conn.post(PATH, REVIEW)
    assert total._value.get() == before + 1
    assert metrics.WEBHOOK_REQUESTS_IN_FLIGHT.labels(webhook=PATH)._value.get() == 0
    text = metrics.exposition().decode()
    assert f'controller_runtime_webhook_latency_seconds_count{{webhook="{PATH}"}}' in text


@pytest.mark.anyio
async def test_malformed_request_lines(server: WebhookServer) -> None:
    for raw, status in [
        (b"GARBAGE\r\n\r\n", 400),
        (f"POST {PATH} HTTP/2.0\r\n\r\n".encode(), 505),
        (f"POST {PATH} HTTP/1.1\r\nContent-Length: x\r\n\r\n".encode(), 400),
        (f"POST {PATH} HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".encode(), 501),
    ]:
        conn = await connect(server)
        await conn.send(raw)
        got, headers, _ = await conn.response()
        assert got == status and headers["connection"] == "close"
    # plain HTTP on the TLS port: the handshake fails, the server keeps serving
    stream = await anyio.connect_tcp("127.0.0.1", server.port)
    await stream.send(b"POST / HTTP/1.1\r\n\r\n")
    with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError, OSError)):
        with anyio.fail_after(5):
            while True:
                await stream.receive()
    assert (await (await connect(server)).post(PATH, REVIEW))[0] == 200


@pytest.mark.anyio
async def test_readiness_checker(tmp_path: Path) -> None:
    srv = WebhookServer(port=0, cert_dir=tmp_path, dev=DevCertificates())
    with pytest.raises(RuntimeError, match="not been started"):
        await srv.started_checker()
    async with anyio.create_task_group() as tg:
        await tg.start(srv.serve)
        await srv.started_checker()
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_missing_certificate_fails_start(tmp_path: Path) -> None:
    srv = WebhookServer(port=0, cert_dir=tmp_path / "none")
    with pytest.raises(OSError):
        await srv.serve()


@pytest.mark.anyio
async def test_certificate_rotated_while_serving(server: WebhookServer) -> None:
    old_ctx = client_ctx(server.cert_dir)
    old = await connect(server, old_ctx)
    assert (await old.post(PATH, REVIEW))[0] == 200
    write_dev_certificates(server.cert_dir)  # a new CA and serving pair
    new_ctx = client_ctx(server.cert_dir)
    fresh = await connect(server, new_ctx)  # served with the new certificate
    assert (await fresh.post(PATH, REVIEW))[0] == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(server, old_ctx)  # the old CA no longer verifies new connections
    assert (await old.post(PATH, REVIEW))[0] == 200  # the open connection keeps working
    assert server.watcher.reloads == 1


@pytest.mark.anyio
async def test_tls_min_version_13(tmp_path: Path) -> None:
    srv = WebhookServer(port=0, cert_dir=tmp_path, dev=DevCertificates(),
                        tls_options=TLSOptions("VersionTLS13"))
    async with anyio.create_task_group() as tg:
        await tg.start(srv.serve)
        ctx = client_ctx(tmp_path)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, anyio.EndOfStream)):
            await connect(srv, ctx)
        conn = await connect(srv)
        assert conn.stream.extra(anyio.streams.tls.TLSAttribute.tls_version) == "TLSv1.3"
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_graceful_stop_finishes_in_flight_request(tmp_path: Path) -> None:
    slow = Slow()
    srv = WebhookServer(port=0, cert_dir=tmp_path, dev=DevCertificates(), shutdown_timeout=5)
    srv.register(PATH, Admission(ValidatorHandler(slow)))
    stopping = anyio.Event()
    results: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(srv.start, stopping)
        with anyio.fail_after(10):
            while not srv.started:
                await anyio.sleep(0.01)
        busy = await connect(srv)
        idle = await connect(srv)
        slow.release.set()
        assert (await idle.post(PATH, REVIEW))[0] == 200  # idle afterwards
        slow.release, slow.entered = anyio.Event(), anyio.Event()

        async def call() -> None:
            status, headers, _ = await busy.post(PATH, REVIEW)
            results.append(status)
            assert headers["connection"] == "close"

        tg.start_soon(call)
        await slow.entered.wait()
        stopping.set()
        await anyio.sleep(0.2)
        with pytest.raises(OSError):
            await connect(srv)  # no new connections
        slow.release.set()
        with anyio.fail_after(5):  # the idle connection was closed by the server
            with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                await idle.stream.receive()
    assert results == [200]


@pytest.mark.anyio
async def test_handler_exception_at_http_level_is_500(tmp_path: Path) -> None:
    class Broken:
        async def serve(self, request: HTTPRequest) -> HTTPResponse:
            raise RuntimeError("boom")

    srv = WebhookServer(port=0, cert_dir=tmp_path, dev=DevCertificates())
    srv.register("/raw", Broken())
    async with anyio.create_task_group() as tg:
        await tg.start(srv.serve)
        conn = await connect(srv)
        assert (await conn.post("/raw", REVIEW))[0] == 500
        assert (await conn.post("/raw", REVIEW))[0] == 500  # the connection survives
        tg.cancel_scope.cancel()


def test_duplicate_path_is_an_error(tmp_path: Path) -> None:
    srv = WebhookServer(cert_dir=tmp_path)
    srv.register(PATH, Admission(ValidatorHandler(Validator())))
    with pytest.raises(ValueError, match="duplicate path"):
        srv.register(PATH, Admission(ValidatorHandler(Validator())))
    with pytest.raises(ValueError, match="must start with"):
        srv.register("x", Admission(ValidatorHandler(Validator())))
