"""TrainedModel admission: upstream ``TrainedModelValidator``
(``pkg/apis/serving/v1alpha1/trainedmodel_webhook.go``), registered by the webhook builder at
``/validate-serving-kserve-io-v1alpha1-trainedmodel``. The rules are
``apis.serving.v1alpha1.trained_model_validation``; nothing is read."""

from __future__ import annotations

from typing import Any

from apis.serving.v1alpha1.trained_model_validation import (
    validate_trained_model,
    validate_trained_model_update,
)
from runtime.webhook import AdmissionRequest

__all__ = ["TrainedModelValidator"]


class TrainedModelValidator:
    """CREATE: name and storageUri; UPDATE: the same plus ``spec.model.memory`` immutable
    (nothing for an object being deleted); DELETE: allowed."""

    def validate_create(self, obj: dict[str, Any], req: AdmissionRequest) -> list[str]:
        return validate_trained_model(obj)

    def validate_update(self, old: dict[str, Any], new: dict[str, Any],
                        req: AdmissionRequest) -> list[str]:
        return validate_trained_model_update(new, old)
