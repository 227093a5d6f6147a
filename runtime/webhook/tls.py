"""TLS for the webhook server: the serving certificate from a directory, reloaded when it
changes, and the ``--tls-min-version`` / ``--tls-cipher-suites`` options.

:class:`CertWatcher` is controller-runtime's ``certwatcher`` without fsnotify: every new
connection compares the files' identity (inode, size, mtime) with the loaded ones (two
``stat`` calls, microseconds) and reloads them when they differ, so a rotated certificate
(a Secret volume swaps its ``..data`` symlink; cert-manager renews) is served from the next
handshake on, with no poll interval to wait for. A pair that does not load (the key written
before the certificate, a half-written file) keeps the previous one in force and is retried
on the next connection; ``certwatcher_read_certificate_total`` and
``..._errors_total`` count the reads, as in c-r.

Options follow KServe's ``pkg/tls`` (the manager's flags): the minimum version is
``VersionTLS12`` (default) or ``VersionTLS13``; cipher suites are Go's names
(``tls.CipherSuites()``), mapped to OpenSSL's; cipher suites with TLS 1.3 as minimum are an
error (neither Go nor OpenSSL lets TLS 1.3 suites be chosen). Without a list, the suites are
ECDHE with AEAD ciphers (KServe's "hardened intermediate" default). ALPN offers only
``http/1.1``: this server does not speak HTTP/2.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from runtime import metrics

__all__ = [
    "DEFAULT_CERT_DIR",
    "GO_CIPHER_SUITES",
    "CertWatcher",
    "TLSOptions",
    "parse_cipher_suites",
    "parse_min_version",
]

log = logging.getLogger("runtime.webhook.tls")

DEFAULT_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # c-r's default

_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

GO_CIPHER_SUITES: dict[str, str | None] = {
    **dict.fromkeys(_TLS13),  # TLS 1.3 suites: always on, not configurable (Go and OpenSSL)
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}
"""Go's ``tls.CipherSuites()`` names -> OpenSSL cipher names (None: a TLS 1.3 suite)."""

_DEFAULT_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
_VERSIONS = {"VersionTLS12": ssl.TLSVersion.TLSv1_2, "VersionTLS13": ssl.TLSVersion.TLSv1_3}


def parse_min_version(version: str) -> ssl.TLSVersion:
    """``""`` -> TLS 1.2; ``VersionTLS12`` / ``VersionTLS13``; anything else is an error
    with KServe's message."""
    version = version.strip()
    if not version:
        return ssl.TLSVersion.TLSv1_2
    try:
        return _VERSIONS[version]
    except KeyError:
        raise ValueError(
            f'unrecognized TLS version "{version}", valid values: {", ".join(_VERSIONS)}'
        ) from None


def parse_cipher_suites(comma_separated: str | Sequence[str]) -> list[str]:
    """Go cipher-suite names (comma-separated or a list) -> the Go names, validated with
    KServe's messages; ``[]`` when none is given."""
    if isinstance(comma_separated, str):
        text = comma_separated.strip()
        names = [n.strip() for n in text.split(",")] if text else []
    else:
        names = [n.strip() for n in comma_separated]
    names = [n for n in names if n]
    if not names:
        if isinstance(comma_separated, str) and comma_separated.strip():
            raise ValueError("cipher suites flag was set but no valid suites were specified")
        return []
    unknown = [n for n in names if n not in GO_CIPHER_SUITES]
    if unknown:
        raise ValueError(f"unknown TLS cipher suite(s): {', '.join(unknown)}")
    return names


@dataclass(frozen=True)
class TLSOptions:
    """The server's TLS settings (KServe's ``--tls-min-version``, ``--tls-cipher-suites``)."""

    min_version: str = ""
    cipher_suites: str | Sequence[str] = ""
    #: a CA file (PEM) whose clients must present certificates (c-r ``ClientCAName``)
    client_ca_file: str | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` for invalid options (done at server construction)."""
        version = parse_min_version(self.min_version)
        suites = parse_cipher_suites(self.cipher_suites)
        if version >= ssl.TLSVersion.TLSv1_3 and suites:
            raise ValueError(
                "cipher suites cannot be configured with TLS 1.3 (Go manages TLS 1.3 ciphers "
                "internally)"
            )

    def context(self, cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]) -> (
        ssl.SSLContext
    ):
        """A server context with these options and the given pair (blocking: reads files)."""
        self.validate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = parse_min_version(self.min_version)
        suites = parse_cipher_suites(self.cipher_suites)
        tls12 = [GO_CIPHER_SUITES[n] for n in suites if GO_CIPHER_SUITES[n]]
        if suites and not tls12:
            # only TLS 1.3 names: Go then has no TLS 1.2 suite to offer either
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        else:
            ctx.set_ciphers(":".join(s for s in tls12 if s) if tls12 else _DEFAULT_CIPHERS)
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.options |= ssl.OP_NO_COMPRESSION
        ctx.load_cert_chain(os.fspath(cert_file), os.fspath(key_file))
        if self.client_ca_file:
            ctx.load_verify_locations(cafile=self.client_ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()  # follows symlinks: a Secret volume's ..data swap changes the inode
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class CertWatcher:
    """The current :class:`ssl.SSLContext` for ``cert_file``/``key_file``; see the module
    docstring. :meth:`load` must succeed once before serving (as c-r's ``certwatcher.New``)."""

    def __init__(
        self,
        cert_file: str | os.PathLike[str],
        key_file: str | os.PathLike[str],
        options: TLSOptions | None = None,
    ) -> None:
        self.cert_file = Path(cert_file)
        self.key_file = Path(key_file)
        self.options = options or TLSOptions()
        self.options.validate()
        self._ctx: ssl.SSLContext | None = None
        self._loaded: tuple[object, object] | None = None
        self._failed: tuple[object, object] | None = None
        self._lock = anyio.Lock()
        #: how many times a changed pair was loaded (tests, logs)
        self.reloads = 0

    def _identities(self) -> tuple[object, object]:
        return (_identity(self.cert_file), _identity(self.key_file))

    def _read(self) -> ssl.SSLContext:
        metrics.CERTWATCHER_READ_CERTIFICATE_TOTAL.inc()
        try:
            return self.options.context(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError, ValueError):
            metrics.CERTWATCHER_READ_CERTIFICATE_ERRORS_TOTAL.inc()
            raise

    async def load(self) -> ssl.SSLContext:
        """Load the pair now (in a worker thread: file reads); raises if it does not load."""
        async with self._lock:
            ids = self._identities()
            ctx = await anyio.to_thread.run_sync(self._read)
            self._ctx, self._loaded, self._failed = ctx, ids, None
            log.info("Updated current TLS certificate", extra={"cert": str(self.cert_file)})
            return ctx

    async def context(self) -> ssl.SSLContext:
        """The context for a new connection, reloaded first if the files changed."""
        ctx = self._ctx
        if ctx is None:
            return await self.load()
        ids = self._identities()
        if ids == self._loaded or ids == self._failed:
            return ctx
        async with self._lock:
            if self._ctx is not None and ids in (self._loaded, self._failed):
                return self._ctx
            try:
                new = await anyio.to_thread.run_sync(self._read)
            except (OSError, ssl.SSLError, ValueError) as err:
                self._failed = ids
                log.error("error reading the certificate, keeping the current one: %s", err,
                          extra={"cert": str(self.cert_file)})
                assert self._ctx is not None
                return self._ctx
            self._ctx, self._loaded, self._failed = new, ids, None
            self.reloads += 1
            log.info("Updated current TLS certificate", extra={"cert": str(self.cert_file)})
            return new
