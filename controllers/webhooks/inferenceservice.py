"""InferenceService admission: upstream's ``InferenceServiceDefaulter`` and
``InferenceServiceValidator`` (``pkg/apis/serving/v1beta1/inference_service_{defaults,
validation}.go``), registered by ``ctrl.NewWebhookManagedBy(mgr).For(&InferenceService{})``
at ``/mutate-serving-kserve-io-v1beta1-inferenceservice`` and
``/validate-serving-kserve-io-v1beta1-inferenceservice``.

The rules are the pure functions of ``apis.serving.v1beta1``; these classes supply what they
read. Upstream GETs ``inferenceservice-config`` from the API server and, with local models
enabled, LISTs LocalModelCaches and LocalModelNamespaceCaches on every request; here all of
it comes from the manager's cache (``ConfigSource``, ``client.list``), so an admission
request costs no API call. The validator also warns (never refuses) when the
InferenceService asks for more GPUs than the nodes have (``gpu_capacity``).
"""

from __future__ import annotations

import logging
from typing import Any

from apis.serving.constants import DISABLE_LOCAL_MODEL_ANNOTATION
from apis.serving.v1alpha1 import LocalModelCache, LocalModelNamespaceCache
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.inference_service_defaults import default_inference_service
from apis.serving.v1beta1.inference_service_validation import (
    validate_inference_service_create,
    validate_inference_service_update,
)
from controllers.config import ConfigSource, ConfigUnavailableError
from controllers.reconcilers.multinode import gpu_resource_types
from controllers.webhooks.gpu_capacity import GpuCapacity
from runtime.webhook import AdmissionError, AdmissionRequest

__all__ = ["InferenceServiceDefaulter", "InferenceServiceValidator"]

log = logging.getLogger(__name__)

_JSON = dict[str, Any]


def _meta(obj: _JSON) -> _JSON:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


class InferenceServiceDefaulter:
    """``defaulter(obj, req)`` for :class:`~runtime.webhook.WebhookBuilder`."""

    def __init__(self, client: Any, config: ConfigSource) -> None:
        self.client = client
        self.config = config

    async def __call__(self, obj: _JSON, req: AdmissionRequest) -> _JSON:
        try:
            cfg = await self.config.get()
        except ConfigUnavailableError as err:  # upstream: the ConfigMap GET error, denied
            raise AdmissionError(str(err)) from None
        annotations = _meta(obj).get("annotations")
        caches: list[Any] | None = None
        ns_caches: list[Any] | None = None
        if cfg.local_model.enabled and not (
            isinstance(annotations, dict) and DISABLE_LOCAL_MODEL_ANNOTATION in annotations
        ):
            namespace = _meta(obj).get("namespace") or req.namespace
            caches = await self.client.list(LocalModelCache)
            ns_caches = await self.client.list(LocalModelNamespaceCache, namespace=namespace)
        return default_inference_service(
            obj, cfg, local_model_caches=caches, local_model_namespace_caches=ns_caches
        )


class InferenceServiceValidator:
    """``validate_create`` / ``validate_update`` (an update of an object being deleted is
    allowed, as upstream); deletes are allowed."""

    def __init__(self, config: ConfigSource | None = None,
                 capacity: GpuCapacity | None = None) -> None:
        self.config = config
        self.capacity = capacity

    async def _config(self) -> InferenceServiceConfig | None:
        """The config for ``multiNode.customGPUResourceTypeList``; upstream reads it once at
        start and never refuses for it, so a missing ConfigMap validates with the defaults."""
        if self.config is None:
            return None
        try:
            return await self.config.get()
        except ConfigUnavailableError:
            return None

    def _gpu_warnings(self, obj: _JSON, cfg: InferenceServiceConfig | None, update: bool) -> (
        list[str]
    ):
        if self.capacity is None:
            return []
        try:
            types = gpu_resource_types(cfg.multi_node if cfg is not None else None)
            return self.capacity.warnings(obj, types, update=update)
        except Exception:  # advisory only: never refuse or fail because of it
            log.exception("GPU capacity check failed")
            return []

    async def validate_create(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        cfg = await self._config()
        warnings = validate_inference_service_create(obj, config=cfg)
        return [*warnings, *self._gpu_warnings(obj, cfg, update=False)]

    async def validate_update(self, old: _JSON, new: _JSON, req: AdmissionRequest) -> list[str]:
        if _meta(new).get("deletionTimestamp") is not None:
            return []
        cfg = await self._config()
        warnings = validate_inference_service_update(new, old, config=cfg)
        return [*warnings, *self._gpu_warnings(new, cfg, update=True)]
