"""InferenceServiceStatus (upstream ``inference_service_status.go``). The Knative types it
embeds (``duckv1.Status``, ``Addressable``, ``apis.Condition``, ``TrafficTarget``) live in
:mod:`apis.knative`, shared with the v1alpha1 kinds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from apis.knative import Addressable, DuckStatus, TrafficTarget
from runtime.resource import Default, Int32, KubeModel, ListType, Time

TransitionStatus = Literal["", "UpToDate", "InProgress", "BlockedByFailedLoad", "InvalidSpec"]
ModelState = Literal["", "Pending", "Standby", "Loading", "Loaded", "FailedToLoad"]
FailureReason = Literal[
    "ModelLoadFailed",
    "RuntimeUnhealthy",
    "RuntimeDisabled",
    "NoSupportingRuntime",
    "RuntimeNotRecognized",
    "InvalidPredictorSpec",
]


class ComponentStatusSpec(KubeModel):
    """The observed state of one component (predictor, transformer, explainer)."""

    latest_ready_revision: str | None = Field(None, alias="latestReadyRevision")
    """Latest revision name that is in ready state."""
    latest_created_revision: str | None = Field(None, alias="latestCreatedRevision")
    """Latest revision name that is created."""
    previous_rolledout_revision: str | None = Field(None, alias="previousRolledoutRevision")
    """Previous revision name that is rolled out with 100 percent traffic."""
    latest_rolledout_revision: str | None = Field(None, alias="latestRolledoutRevision")
    """Latest revision name that is rolled out with 100 percent traffic."""
    traffic: list[TrafficTarget] | None = Field(None, alias="traffic")
    """Traffic distribution between the latest ready and previous rolled out revision."""
    url: str | None = Field(None, alias="url")
    """Primary URL that will distribute traffic over the traffic targets."""
    rest_url: str | None = Field(None, alias="restUrl")
    """REST endpoint of the component if available."""
    grpc_url: str | None = Field(None, alias="grpcUrl")
    """gRPC endpoint of the component if available."""
    address: Addressable | None = Field(None, alias="address")
    """Addressable endpoint for the component."""


class ModelRevisionStates(KubeModel):
    """State of the predictor's model."""

    active_model_state: Annotated[ModelState, Default("Pending")] = Field(alias="activeModelState")
    """High level state string: Pending, Standby, Loading, Loaded, FailedToLoad."""
    target_model_state: Annotated[ModelState | None, Default("")] = Field(
        None, alias="targetModelState"
    )
    """State of the model being transitioned to."""


class FailureInfo(KubeModel):
    """Details of the last failure to load the model."""

    location: str | None = Field(None, alias="location")
    """Name of component to which the failure relates (usually Pod name)."""
    reason: FailureReason | None = Field(None, alias="reason")
    """High level class of failure."""
    message: str | None = Field(None, alias="message")
    """Detailed error message."""
    model_revision_name: str | None = Field(None, alias="modelRevisionName")
    """Internal Revision/ID of model, tied to specific Spec contents."""
    time: Time | None = Field(None, alias="time")
    """Time failure occurred or was discovered."""
    exit_code: Int32 | None = Field(None, alias="exitCode")
    """Exit status from the last termination of the container."""


class ModelCopies(KubeModel):
    """Copies of the predictor's model."""

    failed_copies: Annotated[int, Default(0)] = Field(alias="failedCopies")
    """How many copies of this predictor's models failed to load recently."""
    total_copies: int | None = Field(None, alias="totalCopies")
    """Total number of copies of this predictor's models across all states."""


class ModelStatus(KubeModel):
    """Model related statuses."""

    transition_status: Annotated[TransitionStatus, Default("UpToDate")] = Field(
        alias="transitionStatus"
    )
    """Whether the available predictor endpoints reflect the current Spec or are in transition."""
    model_revision_states: ModelRevisionStates | None = Field(None, alias="states")
    """State information of the predictor's model."""
    last_failure_info: FailureInfo | None = Field(None, alias="lastFailureInfo")
    """Details of last failure, when load of target model is failed or blocked."""
    model_copies: ModelCopies | None = Field(None, alias="copies")
    """Model copy information of the predictor's model."""


class CanaryStatus(KubeModel):
    """Observed state of one canary deployment."""

    name: str = Field(alias="name")
    """Name of the canary variant (from predictor.name)."""
    ready: bool = Field(alias="ready")
    """Whether the canary deployment is available and serving traffic."""
    traffic_percent: Int32 = Field(alias="trafficPercent")
    """Current traffic percentage routed to this canary."""
    model_status: ModelStatus | None = Field(None, alias="modelStatus")
    """The canary model's loading state and transitions."""


class InferenceServiceStatus(DuckStatus):
    """The observed state of an InferenceService (``duckv1.Status`` inline: observedGeneration,
    conditions (PredictorReady, TransformerReady, ExplainerReady, RoutesReady,
    LatestDeploymentReady, IngressReady and the aggregated Ready), annotations)."""

    address: Addressable | None = Field(None, alias="address")
    """Addressable endpoint for the InferenceService."""
    url: str | None = Field(None, alias="url")
    """URL that will distribute traffic over the provided traffic targets."""
    components: dict[str, ComponentStatusSpec] | None = Field(None, alias="components")
    """Statuses for the components of the InferenceService, keyed by component type."""
    model_status: ModelStatus | None = Field(None, alias="modelStatus")
    """Model related statuses."""
    canary_statuses: Annotated[list[CanaryStatus] | None, ListType("atomic")] = Field(
        None, alias="canaryStatuses"
    )
    """The observed state of canary deployments."""
    deployment_mode: str | None = Field(None, alias="deploymentMode")
    """InferenceService DeploymentMode."""
    serving_runtime_name: str | None = Field(None, alias="servingRuntimeName")
    """Name of the ServingRuntime that the InferenceService is using."""
    cluster_serving_runtime_name: str | None = Field(None, alias="clusterServingRuntimeName")
    """Name of the ClusterServingRuntime that the InferenceService is using."""
