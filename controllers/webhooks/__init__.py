"""KServe's admission webhook handlers (defaulters, validators and the pod mutator), served by
``runtime.webhook``.

:func:`setup` (what ``kserve-manager`` calls) makes the manager's webhook server from the
command-line flags and registers every handler with
:func:`controllers.webhooks.registration.setup_webhooks`. One module per kind holds its
handler (``inferenceservice``, ``servingruntime``, ``trainedmodel``, ``inferencegraph``,
``localmodelcache``, ``pods`` for ``/mutate-pods``), ``pod/`` the pod mutator's pure
injectors, ``gpu_capacity`` the GPU warnings. Nothing is imported at import time, so
importing ``pod`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup", "setup_webhooks"]


def setup_webhooks(mgr: Any, **options: Any) -> Any:
    """See :func:`controllers.webhooks.registration.setup_webhooks`."""
    from controllers.webhooks.registration import setup_webhooks as register

    return register(mgr, **options)


def setup(mgr: Any, config: Any = None, args: Any = None) -> Any:
    """The manager's webhooks from ``kserve-manager``'s flags (``--webhook-port``,
    ``--webhook-host``, ``--webhook-cert-dir``, ``--tls-min-version``,
    ``--tls-cipher-suites``, ``--dev-webhook-certs``); ``args=None`` uses the defaults.
    ``config`` is the ``ConfigSource`` shared with the controllers. Returns the
    :class:`~controllers.webhooks.registration.KServeWebhooks`."""
    from controllers.webhooks.registration import server_from_flags
    from controllers.webhooks.registration import setup_webhooks as register

    server = server_from_flags(mgr, args)
    return register(mgr, server=server, config=config)
