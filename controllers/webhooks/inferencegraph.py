"""InferenceGraph admission: upstream ``InferenceGraphValidator``
(``pkg/apis/serving/v1alpha1/inference_graph_validation.go``), registered by the webhook
builder at ``/validate-serving-kserve-io-v1alpha1-inferencegraph``. The rules are
``apis.serving.v1alpha1.inference_graph_validation``; nothing is read."""

from __future__ import annotations

from typing import Any

from apis.serving.v1alpha1.inference_graph_validation import (
    validate_inference_graph,
    validate_inference_graph_update,
)
from runtime.webhook import AdmissionRequest

__all__ = ["InferenceGraphValidator"]


class InferenceGraphValidator:
    """CREATE and UPDATE (nothing for an object being deleted); DELETE: allowed."""

    def validate_create(self, obj: dict[str, Any], req: AdmissionRequest) -> list[str]:
        return validate_inference_graph(obj)

    def validate_update(self, old: dict[str, Any], new: dict[str, Any],
                        req: AdmissionRequest) -> list[str]:
        return validate_inference_graph_update(new, old)
