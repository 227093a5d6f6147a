"""The manager's webhook server alone, for ``bench_webhook``: a Manager (cache, no
controllers) with ``setup_webhooks`` on ``127.0.0.1:<port>``, certificates made in
``<cert_dir>`` (development mode, no configuration patched: the benchmark calls the server
directly). Runs until SIGTERM.

    python -m bench._webhook_server <kubeconfig> <port> <cert_dir> <config namespace>
"""

from __future__ import annotations

import logging
import sys

import anyio

from controllers.webhooks.registration import setup_webhooks
from runtime.manager import Manager
from runtime.webhook import DevCertificates, webhook_server_for


async def main(kubeconfig: str, port: int, cert_dir: str, namespace: str) -> None:
    mgr = Manager(kubeconfig, metrics_bind_address="0", health_probe_bind_address="0")
    webhook_server_for(mgr, host="127.0.0.1", port=port, cert_dir=cert_dir,
                       dev=DevCertificates())
    setup_webhooks(mgr, namespace=namespace, health_checks=False)
    await mgr.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    anyio.run(main, sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
