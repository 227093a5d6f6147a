"""Admission and conversion webhooks over HTTPS (controller-runtime's ``pkg/webhook``).

* :class:`WebhookServer` (``server``): port 9443, certificates from
  ``/tmp/k8s-webhook-server/serving-certs`` reloaded on change, TLS options, metrics, a
  readiness checker, graceful stop; a manager runnable on every replica.
* :class:`WebhookBuilder` (``builder``): ``for_(T).with_defaulter(d).with_validator(v)
  .complete()`` at c-r's paths; :func:`webhook_server_for` is the manager's server.
* ``admission``: AdmissionReview v1/v1beta1, defaulter (JSON patch) and validator handlers,
  refusals instead of errors; ``conversion``: ConversionReview; ``jsonpatch``: the diff.
* ``dev``: a self-made CA and serving certificate, ``caBundle`` patched into the webhook
  configurations (local runs and tests).
"""

from runtime.webhook.admission import (
    MAX_REQUEST_BYTES,
    Admission,
    AdmissionError,
    AdmissionHandler,
    AdmissionRequest,
    AdmissionResponse,
    DefaulterHandler,
    Validator,
    ValidatorHandler,
    allowed,
    denied,
    errored,
    patch_response,
)
from runtime.webhook.builder import (
    WebhookBuilder,
    mutate_path,
    validate_path,
    webhook_server_for,
)
from runtime.webhook.conversion import ConversionError, ConversionWebhook
from runtime.webhook.dev import DevCertificates, patch_webhook_configurations
from runtime.webhook.jsonpatch import apply_patch, create_patch
from runtime.webhook.server import CONVERT_PATH, DEFAULT_PORT, WebhookServer
from runtime.webhook.tls import DEFAULT_CERT_DIR, CertWatcher, TLSOptions

__all__ = [
    "CONVERT_PATH",
    "DEFAULT_CERT_DIR",
    "DEFAULT_PORT",
    "MAX_REQUEST_BYTES",
    "Admission",
    "AdmissionError",
    "AdmissionHandler",
    "AdmissionRequest",
    "AdmissionResponse",
    "CertWatcher",
    "ConversionError",
    "ConversionWebhook",
    "DefaulterHandler",
    "DevCertificates",
    "TLSOptions",
    "Validator",
    "ValidatorHandler",
    "WebhookBuilder",
    "WebhookServer",
    "allowed",
    "apply_patch",
    "create_patch",
    "denied",
    "errored",
    "mutate_path",
    "patch_response",
    "patch_webhook_configurations",
    "validate_path",
    "webhook_server_for",
]
