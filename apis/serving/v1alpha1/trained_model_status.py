"""``trained_model_status.go``: TrainedModelStatus and its condition types."""

from __future__ import annotations

from pydantic import Field

from apis.knative import Addressable, DuckStatus
from apis.serving.constants import (
    INFERENCE_SERVICE_READY,
    IS_MMS_PREDICTOR,
    MEMORY_RESOURCE_AVAILABLE,
)

__all__ = [
    "CONDITION_SET",
    "INFERENCE_SERVICE_READY",
    "IS_MMS_PREDICTOR",
    "MEMORY_RESOURCE_AVAILABLE",
    "TrainedModelStatus",
]

#: The living condition set; Ready is happy when all are True.
CONDITION_SET = (INFERENCE_SERVICE_READY, MEMORY_RESOURCE_AVAILABLE, IS_MMS_PREDICTOR)


class TrainedModelStatus(DuckStatus):
    """TrainedModelStatus defines the observed state of TrainedModel"""

    url: str | None = Field(None, alias="url")
    """URL holds the url that will distribute traffic over the provided traffic targets.
    For v1: http[s]://{route-name}.{route-namespace}.{cluster-level-suffix}/v1/models/<trainedmodel>:predict
    For v2: http[s]://{route-name}.{route-namespace}.{cluster-level-suffix}/v2/models/<trainedmodel>/infer"""
    address: Addressable | None = Field(None, alias="address")
    """Addressable endpoint for the deployed trained model
    http://<inferenceservice.metadata.name>/v1/models/<trainedmodel>.metadata.name"""
