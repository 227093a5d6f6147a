"""``trained_model.go``: TrainedModel."""

from __future__ import annotations

from pydantic import Field

from apis.serving import AGE_COLUMN, READY_COLUMN, URL_COLUMN
from apis.serving.v1alpha1.groupversion import crd
from apis.serving.v1alpha1.trained_model_status import TrainedModelStatus
from runtime.resource import CustomResource, KubeModel, Quantity

__all__ = ["ModelSpec", "TrainedModel", "TrainedModelSpec", "TrainedModelStatus"]


class ModelSpec(KubeModel):
    """ModelSpec describes a TrainedModel"""

    storage_uri: str = Field(alias="storageUri")
    """Storage URI for the model repository"""
    framework: str = Field(alias="framework")
    """Machine Learning <framework name> The values could be: "tensorflow","pytorch","sklearn",
    "onnx","xgboost", "myawesomeinternalframework" etc."""
    memory: Quantity = Field(alias="memory")
    """Maximum memory this model will consume, this field is used to decide if a model server
    has enough memory to load this model."""


class TrainedModelSpec(KubeModel):
    """TrainedModelSpec defines the TrainedModel spec"""

    inference_service: str = Field(alias="inferenceService")
    """parent inference service to deploy to"""
    model: ModelSpec = Field(alias="model")
    """Predictor model spec"""


class TrainedModel(CustomResource):
    """TrainedModel is the Schema for the TrainedModel API"""

    __crd__ = crd(
        kind="TrainedModel",
        plural="trainedmodels",
        singular="trainedmodel",
        short_names=("tm",),
        scope="Namespaced",
        status_subresource=True,
        printer_columns=(URL_COLUMN, READY_COLUMN, AGE_COLUMN),
    )

    spec: TrainedModelSpec | None = Field(None, alias="spec")
    """TrainedModelSpec defines the TrainedModel spec"""
    status: TrainedModelStatus | None = Field(None, alias="status")
    """TrainedModelStatus defines the observed state of TrainedModel"""
