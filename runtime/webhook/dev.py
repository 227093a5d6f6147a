"""Development and test mode: the webhook server makes its own CA and serving certificate
and tells the API server about them.

In a cluster, certificates come from cert-manager (or any issuer) through a Secret mounted
at the certificate directory, and cert-manager's CA injector fills ``caBundle``. For
``make run`` against a local API server and for integration tests there is no issuer, so
:class:`DevCertificates` (passed as ``WebhookServer(dev=...)``):

1. before the server starts, writes a fresh CA (``ca.crt``) and a serving certificate for
   ``hosts`` (``tls.crt``/``tls.key``) into the server's certificate directory;
2. once it listens, patches ``caBundle`` of every webhook in the named
   Mutating/ValidatingWebhookConfigurations, and with ``url_host`` set also replaces each
   webhook's ``service`` reference by ``url: https://<url_host>:<port><service path>`` (an
   API server outside the cluster network cannot reach a Service; envtest does the same).

Configurations that do not exist are skipped with a log line (an optional kind's webhook
may not be installed). Writes re-read and retry on conflict.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

__all__ = ["DevCertificates", "patch_webhook_configurations", "write_dev_certificates"]

log = logging.getLogger("runtime.webhook.dev")


def _write_pair(ca: Any, d: Path, hosts: Sequence[str], cert_name: str, key_name: str) -> None:
    pair = ca.serving_cert(list(hosts))
    # key first, then certificate: a watcher that sees the new certificate finds its key
    key = d / key_name
    key.write_bytes(pair.key_pem)
    key.chmod(0o600)
    (d / cert_name).write_bytes(pair.cert_pem)


def write_dev_certificates(
    cert_dir: str | Path,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    *,
    cert_name: str = "tls.crt",
    key_name: str = "tls.key",
    ca: Any = None,
) -> bytes:
    """Write a CA (``ca.crt``; a new one unless ``ca`` is given, a
    ``runtime.testing.certs.CertificateAuthority``) and a new serving pair for ``hosts``;
    return the CA's PEM. Blocking (key generation, files): call it from a worker thread in
    async code."""
    from runtime.testing.certs import CertificateAuthority

    d = Path(cert_dir)
    d.mkdir(parents=True, exist_ok=True)
    if ca is None:
        ca = CertificateAuthority("kserve-py-webhook-dev-ca")
    (d / "ca.crt").write_bytes(ca.cert_pem)
    _write_pair(ca, d, hosts, cert_name, key_name)
    return bytes(ca.cert_pem)


async def patch_webhook_configurations(
    client: Any,
    ca_pem: bytes,
    *,
    mutating: Sequence[str] = (),
    validating: Sequence[str] = (),
    url_base: str | None = None,
) -> list[str]:
    """Set ``caBundle`` (and with ``url_base``, ``url = url_base + service.path``) on every
    webhook of the named configurations; returns the names patched. ``client`` is a
    ``runtime.client.Client`` (direct reads through its ``api_reader``)."""
    from lightkube.resources.admissionregistration_v1 import (
        MutatingWebhookConfiguration,
        ValidatingWebhookConfiguration,
    )

    from runtime.client import is_not_found, retry_on_conflict

    bundle = base64.b64encode(ca_pem).decode("ascii")
    reader = getattr(client, "api_reader", client)
    done: list[str] = []
    for kind, names in ((MutatingWebhookConfiguration, mutating),
                        (ValidatingWebhookConfiguration, validating)):
        for name in names:

            async def patch_one(kind: Any = kind, name: str = name) -> bool:
                try:
                    cfg = await reader.get(kind, name)
                except Exception as err:
                    if is_not_found(err):
                        return False
                    raise
                for wh in cfg.webhooks or []:
                    cc = wh.clientConfig
                    cc.caBundle = bundle
                    if url_base is not None:
                        path = cc.service.path if cc.service is not None else None
                        if cc.service is not None or cc.url is None:
                            cc.url = url_base + (path or "/")
                            cc.service = None
                await client.update(cfg)
                return True

            if await retry_on_conflict(patch_one):
                done.append(f"{kind.__name__}/{name}")
            else:
                log.info("webhook configuration not found, not patched",
                         extra={"kind": kind.__name__, "name": name})
    return done


class DevCertificates:
    """Self-made certificates for a :class:`~runtime.webhook.server.WebhookServer`; see the
    module docstring. ``client`` is needed only to patch configurations."""

    def __init__(
        self,
        client: Any = None,
        *,
        hosts: Sequence[str] = ("127.0.0.1", "localhost"),
        mutating: Sequence[str] = (),
        validating: Sequence[str] = (),
        url_host: str | None = None,
    ) -> None:
        self.client = client
        self.hosts = list(hosts)
        self.mutating = list(mutating)
        self.validating = list(validating)
        self.url_host = url_host
        self.ca_pem: bytes = b""
        self.patched: list[str] = []
        self._ca: Any = None

    async def prepare(self, server: Any) -> None:
        from runtime.testing.certs import CertificateAuthority

        def make() -> bytes:
            self._ca = CertificateAuthority("kserve-py-webhook-dev-ca")
            return write_dev_certificates(server.cert_dir, self.hosts, cert_name=server.cert_name,
                                          key_name=server.key_name, ca=self._ca)

        self.ca_pem = await anyio.to_thread.run_sync(make)

    async def rotate(self, server: Any) -> None:
        """Issue a new serving certificate from the same CA (what a renewal does: the
        ``caBundle`` stays valid); the server picks it up on its next handshake."""
        if self._ca is None:
            raise RuntimeError("no certificate issued yet")
        await anyio.to_thread.run_sync(
            lambda: _write_pair(self._ca, Path(server.cert_dir), self.hosts, server.cert_name,
                                server.key_name)
        )

    async def started(self, server: Any) -> None:
        if self.client is None or not (self.mutating or self.validating):
            return
        url_base = None
        if self.url_host is not None:
            host = f"[{self.url_host}]" if ":" in self.url_host else self.url_host
            url_base = f"https://{host}:{server.port}"
        self.patched = await patch_webhook_configurations(
            self.client, self.ca_pem, mutating=self.mutating, validating=self.validating,
            url_base=url_base,
        )
        log.info("webhook configurations patched with the development CA",
                 extra={"configurations": self.patched})
