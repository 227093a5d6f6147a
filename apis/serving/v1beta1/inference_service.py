"""The InferenceService kind (upstream ``inference_service.go``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apis.serving import AGE_COLUMN, GROUP, READY_COLUMN, URL_COLUMN
from runtime.resource import (
    CRD,
    CustomResource,
    Int32,
    KubeModel,
    ListType,
    Maximum,
    Minimum,
    PreserveUnknownFields,
    PrinterColumn,
)

from .explainer import ExplainerSpec
from .inference_service_status import InferenceServiceStatus
from .predictor import PredictorSpec
from .transformer import TransformerSpec

VERSION = "v1beta1"


class CanarySpec(KubeModel):
    """A canary deployment for progressive rollout of a new model version, with fixed replicas
    (no autoscaling). ``predictor.name`` is required and names the Deployment/Service."""

    predictor: PredictorSpec = Field(alias="predictor")
    """Predictor spec for the canary variant. predictor.name is required."""
    traffic_percent: Annotated[Int32, Minimum(0), Maximum(100)] = Field(alias="trafficPercent")
    """Percentage of inference traffic routed to this canary (0 = dark launch). The sum over
    all canaries must be <= 100."""


class InferenceServiceSpec(KubeModel):
    """InferenceServiceSpec is the top level type for this resource."""

    predictor: PredictorSpec = Field(alias="predictor")
    """Predictor defines the model serving spec."""
    explainer: ExplainerSpec | None = Field(None, alias="explainer")
    """Explainer defines the model explanation service spec; it calls the predictor or the
    transformer if one is specified."""
    transformer: TransformerSpec | None = Field(None, alias="transformer")
    """Transformer defines the pre/post processing before and after the predictor call."""
    canary: Annotated[list[CanarySpec] | None, ListType("atomic")] = Field(None, alias="canary")
    """Canary deployments for progressive model rollout. Each canary's predictor.name drives
    the Deployment name {isvc}-{name}-predictor; to promote one, set predictor.name to the
    canary name and remove the canary entry."""


class InferenceService(CustomResource):
    """InferenceService is the Schema for the InferenceServices API."""

    __crd__ = CRD(
        group=GROUP,
        version=VERSION,
        kind="InferenceService",
        plural="inferenceservices",
        short_names=("isvc",),
        status_subresource=True,
        printer_columns=(
            URL_COLUMN,
            READY_COLUMN,
            PrinterColumn(
                "Prev",
                "integer",
                ".status.components.predictor.traffic[?(@.tag=='prev')].percent",
            ),
            PrinterColumn(
                "Latest",
                "integer",
                ".status.components.predictor.traffic[?(@.latestRevision==true)].percent",
            ),
            PrinterColumn(
                "PrevRolledoutRevision",
                "string",
                ".status.components.predictor.traffic[?(@.tag=='prev')].revisionName",
            ),
            PrinterColumn(
                "LatestReadyRevision",
                "string",
                ".status.components.predictor.traffic[?(@.latestRevision==true)].revisionName",
            ),
            AGE_COLUMN,
        ),
    )

    spec: InferenceServiceSpec | None = Field(None, alias="spec")
    """The desired state of the InferenceService."""
    status: Annotated[InferenceServiceStatus | None, PreserveUnknownFields()] = Field(
        None, alias="status"
    )
    """The observed state of the InferenceService."""
