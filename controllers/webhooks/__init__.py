"""KServe's admission webhook handlers (defaulters, validators and the pod mutator), served by
``runtime.webhook``.

``setup_webhooks(mgr)`` (``controllers.webhooks.setup``) registers them all on the manager's
webhook server; one module per kind holds its handler (``inferenceservice``,
``servingruntime``, ``trainedmodel``, ``inferencegraph``, ``localmodelcache``, ``pods`` for
``/mutate-pods``), ``pod/`` the pod mutator's pure injectors, ``gpu_capacity`` the GPU
warnings. This package imports nothing at import time, so importing ``pod`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup_webhooks"]


def setup_webhooks(mgr: Any, **options: Any) -> Any:
    """See :func:`controllers.webhooks.setup.setup_webhooks`."""
    from controllers.webhooks.setup import setup_webhooks as setup

    return setup(mgr, **options)
