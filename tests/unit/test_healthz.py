"""healthz/readyz handler: controller-runtime's wire format, byte for byte."""

from __future__ import annotations

import pytest

from runtime.healthz import Handler

pytestmark = pytest.mark.anyio


def fail() -> None:
    raise RuntimeError("cache not synced")


async def afail() -> None:
    raise RuntimeError("async nope")


async def aok() -> None:
    return None


def handler(**checks: object) -> Handler:
    h = Handler()
    for name, c in checks.items():
        h.add_check(name, c)  # type: ignore[arg-type]
    return h


async def test_all_ok_is_terse() -> None:
    r = await handler(ping=lambda: None, informers=aok).handle("")
    assert (r.status, r.body) == (200, b"ok")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_verbose_success_lists_sorted_checks() -> None:
    r = await handler(zeta=aok, alpha=lambda: None).handle("/", "verbose")
    assert r.status == 200
    assert r.body == b"[+]alpha ok\n[+]zeta ok\nhealthz check passed\n"


async def test_failure_is_verbose_and_withholds_reason() -> None:
    h = handler(ping=lambda: None, cache=fail, leader=afail)
    r = await h.handle("")
    assert r.status == 500
    assert r.body == (b"[-]cache failed: reason withheld\n[-]leader failed: reason withheld\n"
                      b"[+]ping ok\nhealthz check failed\n")
    assert b"not synced" not in r.body


async def test_exclude_and_unknown_exclude() -> None:
    h = handler(ping=lambda: None, cache=fail)
    r = await h.handle("/", "exclude=cache&exclude=nope&exclude=also")
    assert r.status == 200 and r.body == b"ok"
    r = await h.handle("/", "exclude=cache&exclude=nope&exclude=also&verbose=1")
    assert r.body == (b'[+]cache excluded: ok\n[+]ping ok\n'
                      b'warn: some health checks cannot be excluded: no matches for '
                      b'"also","nope"\nhealthz check passed\n')


async def test_single_check_shows_reason() -> None:
    h = handler(ping=lambda: None, cache=fail)
    r = await h.handle("/cache")
    assert (r.status, r.body) == (500, b"internal server error: cache not synced\n")
    r = await h.handle("/ping/")  # path is cleaned like Go's path.Clean
    assert (r.status, r.body) == (200, b"ok")
    r = await h.handle("/missing")
    assert (r.status, r.body) == (404, b"404 page not found\n")
    # /ping only exists implicitly when there are no checks.
    assert (await h.handle("/ping")).status == 200
    assert (await handler(cache=fail).handle("/ping")).status == 404


async def test_no_checks_means_ping() -> None:
    h = Handler()
    assert (await h.handle("")).body == b"ok"
    assert (await h.handle("", "verbose")).body == b"[+]ping ok\nhealthz check passed\n"
    r = await h.handle("/ping")
    assert (r.status, r.body) == (200, b"ok")


def test_add_check_validation() -> None:
    h = handler(a=aok)
    with pytest.raises(ValueError):
        h.add_check("a", aok)
    with pytest.raises(ValueError):
        h.add_check("x/y", aok)
    with pytest.raises(ValueError):
        h.add_check("", aok)


def test_parse_bind_address() -> None:
    from runtime.manager import parse_bind_address

    assert parse_bind_address(":8080") == (None, 8080)
    assert parse_bind_address("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_bind_address("[::1]:9090") == ("::1", 9090)
    assert parse_bind_address("8081") == (None, 8081)
    for disabled in ("0", "", None):
        assert parse_bind_address(disabled) is None
    for bad in ("x:y", ":70000"):
        with pytest.raises(ValueError):
            parse_bind_address(bad)
