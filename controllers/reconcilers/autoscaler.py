"""Which autoscaler a Standard-mode component gets (upstream
``reconcilers/autoscaler/autoscaler_reconciler.go``: ``getAutoscalerClass``,
``createAutoscaler``).

Annotation ``serving.kserve.io/autoscalerClass`` (default ``hpa``) selects:

- ``hpa``, ``external``, ``none``: an HPA is built (:func:`~.hpa.create_hpa`); the reconcile
  creates/updates it for ``hpa`` only (:func:`~.hpa.should_create_hpa`) and deletes an
  InferenceService-owned one for ``external``/``none`` (:func:`~.hpa.should_delete_hpa`);
- ``keda``: a KEDA ScaledObject (:func:`~.keda.create_keda_scaled_object`);
- anything else: :class:`UnknownAutoscalerClassError` (upstream's message).

Upstream never deletes a ScaledObject when the class moves away from ``keda`` (nor an HPA
when it moves to ``keda``; KEDA then manages its own ``keda-hpa-<name>``).
"""

from __future__ import annotations

from typing import Any

from lightkube.models import meta_v1
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler

from apis.serving.constants import (
    AUTOSCALER_CLASS_ANNOTATION,
    DEFAULT_AUTOSCALER_CLASS,
    AutoscalerClass,
)
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import AutoscalerConfig, OtelCollectorConfig

from .hpa import create_hpa
from .keda import create_keda_scaled_object

__all__ = [
    "HPA_AUTOSCALER_CLASSES",
    "UnknownAutoscalerClassError",
    "create_autoscaler",
    "get_autoscaler_class",
]

HPA_AUTOSCALER_CLASSES: frozenset[str] = frozenset(
    {AutoscalerClass.HPA, AutoscalerClass.EXTERNAL, AutoscalerClass.NONE}
)
"""The classes handled by the HPA reconciler (which creates or deletes the HPA)."""


class UnknownAutoscalerClassError(ValueError):
    """``createAutoscaler``'s error for a class that is neither HPA-handled nor ``keda``."""

    def __init__(self, autoscaler_class: str) -> None:
        self.autoscaler_class = autoscaler_class
        super().__init__(f"unknown autoscaler class type: {autoscaler_class}")


def get_autoscaler_class(meta: meta_v1.ObjectMeta) -> str:
    """``getAutoscalerClass``: the annotation's value (even empty or unknown), else ``hpa``."""
    annotations = meta.annotations or {}
    if AUTOSCALER_CLASS_ANNOTATION in annotations:
        return str(annotations[AUTOSCALER_CLASS_ANNOTATION])
    return str(DEFAULT_AUTOSCALER_CLASS)


def create_autoscaler(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    otel_config: OtelCollectorConfig,
    autoscaler_config: AutoscalerConfig,
) -> HorizontalPodAutoscaler | dict[str, Any]:
    """``createAutoscaler``: the HPA for classes ``hpa``/``external``/``none``, the KEDA
    ScaledObject (a dict) for ``keda``. Raises :class:`UnknownAutoscalerClassError`."""
    autoscaler_class = get_autoscaler_class(component_meta)
    if autoscaler_class in HPA_AUTOSCALER_CLASSES:
        return create_hpa(component_meta, component_ext)
    if autoscaler_class == AutoscalerClass.KEDA:
        return create_keda_scaled_object(
            component_meta, component_ext, otel_config, autoscaler_config
        )
    raise UnknownAutoscalerClassError(autoscaler_class)
