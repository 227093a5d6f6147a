"""ComponentExtensionSpec and the specs it uses (upstream ``component.go``, plus ``LoggerSpec``,
``Batcher`` and ``StorageSpec`` from ``inference_service.go``, kept here to avoid an import cycle).
"""

from __future__ import annotations

from typing import Annotated, Literal

from lightkube.models import apps_v1, autoscaling_v2
from pydantic import Field

from runtime.resource import Int32, Int64, K8sType, KubeModel, Quantity

HorizontalPodAutoscalerBehavior = Annotated[
    autoscaling_v2.HorizontalPodAutoscalerBehavior, K8sType()
]
DeploymentStrategy = Annotated[apps_v1.DeploymentStrategy, K8sType()]

ScaleMetric = Literal["cpu", "memory", "concurrency", "rps"]
ResourceMetric = Literal["cpu", "memory"]
MetricSourceType = Literal["Resource", "External", "PodMetric"]
MetricTargetType = Literal["Utilization", "Value", "AverageValue"]
MetricsBackend = Literal["prometheus", "graphite"]
PodsMetricsBackend = Literal["opentelemetry"]
LoggerType = Literal["all", "request", "response"]
MetricQuantity = Quantity
"""``MetricQuantity``: a Quantity in the schema (upstream ``metric_quantity.go``)."""


class StorageSpec(KubeModel):
    """StorageSpec defines a spec for an object in an object store."""

    path: str | None = Field(None, alias="path")
    """The path to the object in the storage, relative to the storage URI."""
    parameters: dict[str, str] | None = Field(None, alias="parameters")
    """Parameters to override the default storage credentials and config."""
    storage_key: str | None = Field(None, alias="key")
    """The Storage Key in the secret for this object."""


class LoggerStorageSpec(StorageSpec):
    """Where the inference logger stores its cloud events."""

    service_account_name: str | None = Field(None, alias="serviceAccountName")
    """Service account whose credentials the logger uses for storage."""


class LoggerSpec(KubeModel):
    """LoggerSpec specifies optional payload logging available for all components."""

    url: str | None = Field(None, alias="url")
    """URL to send logging events."""
    mode: LoggerType | None = Field(None, alias="mode")
    """Scope of the loggers: "all" (default) logs request and response, "request" only the
    request, "response" only the response."""
    metadata_headers: list[str] | None = Field(None, alias="metadataHeaders")
    """Matched metadata HTTP headers propagated to inference logger cloud events."""
    metadata_annotations: list[str] | None = Field(None, alias="metadataAnnotations")
    """Matched InferenceService annotations propagated to inference logger cloud events."""
    storage: LoggerStorageSpec | None = Field(None, alias="storage")
    """Storage location for the inference logger cloud events."""
    marshaller_url: str | None = Field(None, alias="marshallerUrl")
    """URL of the log marshaller service that transforms log records before storage."""
    batch_size: int | None = Field(None, alias="batchSize")
    """Number of log records per batch for blob storage. Defaults to 1 (immediate)."""
    batch_interval: str | None = Field(None, alias="batchInterval")
    """Max duration to wait before flushing a partial batch (e.g. "5s", "100ms")."""


class Batcher(KubeModel):
    """Batcher specifies optional payload batching available for all components."""

    max_batch_size: int | None = Field(None, alias="maxBatchSize")
    """The max number of requests to trigger a batch."""
    max_latency: int | None = Field(None, alias="maxLatency")
    """The max latency to trigger a batch."""
    timeout: int | None = Field(None, alias="timeout")
    """The timeout of a batch."""


class MetricTarget(KubeModel):
    """The target value, average value, or average utilization of a specific metric."""

    type: MetricTargetType | None = Field(None, alias="type")
    """Whether the metric type is Utilization, Value, or AverageValue."""
    value: MetricQuantity | None = Field(None, alias="value")
    """The target value of the metric (as a quantity)."""
    average_value: MetricQuantity | None = Field(None, alias="averageValue")
    """The target value of the average of the metric across all relevant pods."""
    average_utilization: Int32 | None = Field(None, alias="averageUtilization")
    """Target average of the resource metric across pods, as a percentage of requests."""


class ResourceMetricSource(KubeModel):
    """A resource metric (cpu or memory) of each pod in the scale target."""

    name: ResourceMetric = Field(alias="name")
    """The name of the resource in question."""
    target: MetricTarget = Field(alias="target")
    """The target value for the given metric."""


class ExternalMetrics(KubeModel):
    """Identifies an external metric by backend and query."""

    backend: MetricsBackend | None = Field(None, alias="backend")
    """The metrics backend watched by the autoscaler: prometheus or graphite."""
    server_address: str | None = Field(None, alias="serverAddress")
    """Address of the metrics backend server."""
    query: str | None = Field(None, alias="query")
    """Query to run to get metrics from the metrics backend."""
    namespace: str | None = Field(None, alias="namespace")
    """For namespaced query."""


class AuthenticationRef(KubeModel):
    """Reference to an authentication secret."""

    name: str = Field(alias="name")
    """The name of the authentication secret."""


class ExtMetricAuthentication(KubeModel):
    """Authentication for an external metrics backend (KEDA)."""

    authentication_ref: AuthenticationRef = Field(alias="authenticationRef")
    """Reference to the authentication information."""
    auth_modes: str | None = Field(None, alias="authModes")
    """Authentication modes for the metrics backend: bearer, basic, tls."""


class ExternalMetricSource(KubeModel):
    """A global metric not associated with any Kubernetes object."""

    metric: ExternalMetrics = Field(alias="metric")
    """Identifies the target metric by name and selector."""
    authentication: ExtMetricAuthentication | None = Field(None, alias="authenticationRef")
    """Reference to the authentication information."""
    target: MetricTarget = Field(alias="target")
    """The target value for the given metric."""


class PodMetrics(KubeModel):
    """Identifies a per-pod metric by backend and query."""

    backend: PodsMetricsBackend | None = Field(None, alias="backend")
    """The metrics backend watched by the autoscaler: opentelemetry."""
    server_address: str | None = Field(None, alias="serverAddress")
    """Address of the metrics backend server."""
    metric_names: list[str] | None = Field(None, alias="metricNames")
    """The list of metric names in the backend."""
    query: str | None = Field(None, alias="query")
    """Query to run to get metrics from the metrics backend."""
    operation_over_time: str | None = Field(None, alias="operationOverTime")
    """Aggregation over time: last_one (default), avg, max, min, rate, count."""


class PodMetricSource(KubeModel):
    """A metric describing each pod in the scale target, averaged across pods."""

    metric: PodMetrics = Field(alias="metric")
    """Identifies the target metric by name and selector."""
    target: MetricTarget = Field(alias="target")
    """The target value for the given metric."""


class MetricsSpec(KubeModel):
    """How to scale based on a single metric (``type`` and the matching field)."""

    type: MetricSourceType = Field(alias="type")
    """The type of metric source: Resource, External or PodMetric."""
    resource: ResourceMetricSource | None = Field(None, alias="resource")
    """A resource metric (such as cpu or memory) of each pod in the scale target."""
    external: ExternalMetricSource | None = Field(None, alias="external")
    """A global metric not associated with any Kubernetes object."""
    pod_metric: PodMetricSource | None = Field(None, alias="podmetric")
    """A metric describing each pod in the current scale target."""


class AutoScalingSpec(KubeModel):
    """Autoscaling backed by HPA or KEDA."""

    metrics: list[MetricsSpec] | None = Field(None, alias="metrics")
    """Metrics used for autoscaling."""
    behavior: HorizontalPodAutoscalerBehavior | None = Field(None, alias="behavior")
    """Scaling behavior of the Horizontal Pod Autoscaler."""


class ComponentExtensionSpec(KubeModel):
    """The deployment configuration of an InferenceService component."""

    min_replicas: Int32 | None = Field(None, alias="minReplicas")
    """Minimum number of replicas, defaults to 1 but can be set to 0 to enable scale-to-zero."""
    max_replicas: Int32 | None = Field(None, alias="maxReplicas")
    """Maximum number of replicas for autoscaling."""
    scale_target: Int32 | None = Field(None, alias="scaleTarget")
    """Integer target value of the metric type the autoscaler watches for."""
    scale_metric: ScaleMetric | None = Field(None, alias="scaleMetric")
    """The scaling metric type watched by the autoscaler: concurrency, rps, cpu, memory."""
    scale_metric_type: MetricTargetType | None = Field(None, alias="scaleMetricType")
    """Type of metric to use: Utilization or AverageValue."""
    auto_scaling: AutoScalingSpec | None = Field(None, alias="autoScaling")
    """Autoscaling spec backed by HPA or KEDA."""
    container_concurrency: Int64 | None = Field(None, alias="containerConcurrency")
    """How many requests can be processed concurrently (hard limit of the container)."""
    timeout_seconds: Int64 | None = Field(None, alias="timeout")
    """Seconds to wait before timing out a request to the component."""
    canary_traffic_percent: Int64 | None = Field(None, alias="canaryTrafficPercent")
    """Traffic split percentage between the candidate revision and the last ready revision."""
    logger: LoggerSpec | None = Field(None, alias="logger")
    """Request/response logging and logger configuration."""
    batcher: Batcher | None = Field(None, alias="batcher")
    """Request batching and batching configuration."""
    labels: dict[str, str] | None = Field(None, alias="labels")
    """Labels that will be added to the component pod."""
    annotations: dict[str, str] | None = Field(None, alias="annotations")
    """Annotations that will be added to the component pod."""
    deployment_strategy: DeploymentStrategy | None = Field(None, alias="deploymentStrategy")
    """The deployment strategy to replace existing pods (Standard deployment mode only)."""
