"""KServe's reconcilers and admission webhooks, built on ``runtime`` with the types from
``apis``: :mod:`controllers.manager` (``kserve-manager``, ``python -m controllers``) runs them."""
