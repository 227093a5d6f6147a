"""runtime.webhook.tls: KServe's TLS flags and the certificate watcher."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from runtime import metrics
from runtime.webhook.dev import write_dev_certificates
from runtime.webhook.tls import (
    GO_CIPHER_SUITES,
    CertWatcher,
    TLSOptions,
    parse_cipher_suites,
    parse_min_version,
)


@pytest.mark.parametrize(
    ("text", "version"),
    [("", ssl.TLSVersion.TLSv1_2), (" VersionTLS12 ", ssl.TLSVersion.TLSv1_2),
     ("VersionTLS13", ssl.TLSVersion.TLSv1_3)],
)
def test_min_version(text: str, version: ssl.TLSVersion) -> None:
    assert parse_min_version(text) == version


def test_min_version_unknown() -> None:
    with pytest.raises(ValueError, match='unrecognized TLS version "VersionTLS11", valid values'):
        parse_min_version("VersionTLS11")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", []),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
         ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]),
        (" TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 , ,TLS_AES_128_GCM_SHA256",
         ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]),
    ],
)
def test_cipher_suites(text: str, names: list[str]) -> None:
    assert parse_cipher_suites(text) == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TLS_FOO, TLS_BAR", "unknown TLS cipher suite(s): TLS_FOO, TLS_BAR"),
        (" , ", "cipher suites flag was set but no valid suites were specified"),
    ],
)
def test_cipher_suites_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_cipher_suites(text)
    assert str(err.value) == message


def test_every_go_suite_maps_to_openssl() -> None:
    available = {c["name"] for c in ssl.create_default_context().get_ciphers()}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for go, openssl in GO_CIPHER_SUITES.items():
        if openssl is None:
            assert go in available  # TLS 1.3 suites are always there
        else:
            ctx.set_ciphers(openssl)  # raises if OpenSSL does not know the name


def test_tls13_with_ciphers_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"cipher suites cannot be configured with TLS 1\.3"):
        TLSOptions("VersionTLS13", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").validate()


def test_context_options(tmp_path: Path) -> None:
    write_dev_certificates(tmp_path)
    ctx = TLSOptions("", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384").context(
        tmp_path / "tls.crt", tmp_path / "tls.key")
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 == ["ECDHE-ECDSA-AES256-GCM-SHA384"]
    only13 = TLSOptions("", "TLS_AES_128_GCM_SHA256").context(
        tmp_path / "tls.crt", tmp_path / "tls.key")
    assert only13.minimum_version == ssl.TLSVersion.TLSv1_3
    default = TLSOptions().context(tmp_path / "tls.crt", tmp_path / "tls.key")
    assert all(c["name"].startswith("ECDHE") for c in default.get_ciphers()
               if c["protocol"] == "TLSv1.2")


@pytest.mark.anyio
async def test_cert_watcher_reloads_changed_pair_and_keeps_good_one(tmp_path: Path) -> None:
    write_dev_certificates(tmp_path)
    watcher = CertWatcher(tmp_path / "tls.crt", tmp_path / "tls.key")
    first = await watcher.load()
    assert await watcher.context() is first  # unchanged files: same context
    write_dev_certificates(tmp_path)
    second = await watcher.context()
    assert second is not first and watcher.reloads == 1
    errors = metrics.CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL._value.get()
    (tmp_path / "tls.crt").write_text("not a certificate")
    assert await watcher.context() is second  # a broken pair keeps the good one
    assert metrics.CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL._value.get() == errors + 1
    assert await watcher.context() is second  # and is not re-read until it changes again
    assert metrics.CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL._value.get() == errors + 1
    write_dev_certificates(tmp_path)
    assert await watcher.context() is not second


@pytest.mark.anyio
async def test_cert_watcher_missing_files_fail_load(tmp_path: Path) -> None:
    watcher = CertWatcher(tmp_path / "tls.crt", tmp_path / "tls.key")
    with pytest.raises(OSError):
        await watcher.load()
