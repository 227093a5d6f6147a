"""Webhook registration in controller-runtime's builder style::

    server = webhook_server_for(mgr, port=9443)          # once, with the server's options
    (WebhookBuilder(mgr)
        .for_(InferenceService)
        .with_defaulter(default_isvc)                     # (obj, req) -> obj | None
        .with_validator(IsvcValidator())                  # validate_create/_update/_delete
        .complete())

registers ``/mutate-serving-kserve-io-v1beta1-inferenceservice`` and
``/validate-serving-kserve-io-v1beta1-inferenceservice``: c-r's ``generateMutatePath`` /
``generateValidatePath`` (``/mutate-<group, dots as dashes>-<version>-<lowercase kind>``; the
core group gives ``/mutate--v1-pod``, as in c-r). ``with_converter`` registers a converter
for the kind on the server's ``/convert`` endpoint.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from runtime.restmapper import gvk_of
from runtime.webhook.admission import (
    Admission,
    AdmissionRequest,
    Defaulter,
    DefaulterHandler,
    Validator,
    ValidatorHandler,
)
from runtime.webhook.conversion import Converter
from runtime.webhook.server import WebhookServer

__all__ = ["WebhookBuilder", "mutate_path", "validate_path", "webhook_server_for"]

_servers: weakref.WeakKeyDictionary[Any, WebhookServer] = weakref.WeakKeyDictionary()


def webhook_server_for(mgr: Any, **options: Any) -> WebhookServer:
    """The manager's webhook server (c-r ``mgr.GetWebhookServer()``): created with
    ``options`` (see :class:`WebhookServer`) and added to ``mgr`` as a runnable on the first
    call; later calls return it and must not pass options."""
    server = _servers.get(mgr)
    if server is not None:
        if options:
            raise ValueError("the manager's webhook server exists already: options come too late")
        return server
    server = WebhookServer(**options)
    _servers[mgr] = server
    mgr.add(server)
    return server


def _path(prefix: str, resource: Any) -> str:
    gvk = gvk_of(resource)
    return f"/{prefix}-{gvk.group.replace('.', '-')}-{gvk.version}-{gvk.kind.lower()}"


def mutate_path(resource: Any) -> str:
    """c-r ``generateMutatePath``."""
    return _path("mutate", resource)


def validate_path(resource: Any) -> str:
    """c-r ``generateValidatePath``."""
    return _path("validate", resource)


def _as_validator(validator: Any) -> Any:
    if any(hasattr(validator, m) for m in ("validate_create", "validate_update",
                                           "validate_delete")):
        return validator
    if callable(validator):
        fn: Callable[[dict[str, Any], AdmissionRequest], Any] = validator
        return Validator(create=fn, update=lambda _old, new, req: fn(new, req))
    raise TypeError(f"{validator!r} is not a validator")


class WebhookBuilder:
    """``WebhookBuilder(mgr_or_server).for_(T).with_defaulter(d).with_validator(v)
    .complete()``; see the module docstring."""

    def __init__(self, mgr: Any) -> None:
        self._server = mgr if isinstance(mgr, WebhookServer) else webhook_server_for(mgr)
        self._resource: Any = None
        self._defaulter: Defaulter | None = None
        self._validator: Any = None
        self._converter: Converter | None = None
        self._defaulter_path: str | None = None
        self._validator_path: str | None = None

    def for_(self, resource: Any) -> WebhookBuilder:
        if self._resource is not None:
            raise ValueError("for_() can only be called once")
        gvk_of(resource)  # fails early for a type without group/version/kind
        self._resource = resource
        return self

    def with_defaulter(self, defaulter: Defaulter, *, custom_path: str | None = None) -> (
        WebhookBuilder
    ):
        """``defaulter(obj_copy, req)`` returns the defaulted object (or None after changing
        ``obj_copy`` in place); the webhook answers the JSON patch."""
        self._defaulter = defaulter
        self._defaulter_path = custom_path
        return self

    def with_validator(self, validator: Any, *, custom_path: str | None = None) -> (
        WebhookBuilder
    ):
        """An object with ``validate_create``/``validate_update``/``validate_delete`` (any
        subset), or one function ``(obj, req) -> warnings`` for CREATE and UPDATE."""
        self._validator = _as_validator(validator)
        self._validator_path = custom_path
        return self

    def with_converter(self, converter: Converter) -> WebhookBuilder:
        self._converter = converter
        return self

    def complete(self) -> list[str]:
        """Register the webhooks; returns their paths."""
        if self._resource is None:
            raise ValueError("must provide an object with for_()")
        paths: list[str] = []
        if self._defaulter is not None:
            path = self._defaulter_path or mutate_path(self._resource)
            kind = gvk_of(self._resource).kind
            self._server.register(path, Admission(DefaulterHandler(self._defaulter, kind=kind)))
            paths.append(path)
        if self._validator is not None:
            path = self._validator_path or validate_path(self._resource)
            kind = gvk_of(self._resource).kind
            self._server.register(path, Admission(ValidatorHandler(self._validator, kind=kind)))
            paths.append(path)
        if self._converter is not None:
            gvk = gvk_of(self._resource)
            self._server.conversion.register(gvk.group, gvk.kind, self._converter)
            paths.append("/convert")
        return paths
