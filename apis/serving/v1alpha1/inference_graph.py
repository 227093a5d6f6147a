"""``inference_graph.go``: InferenceGraph."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apis.knative import DuckStatus
from apis.serving import AGE_COLUMN, READY_COLUMN, URL_COLUMN
from apis.serving.v1alpha1.groupversion import crd
from runtime.resource import (
    Affinity,
    CustomResource,
    Enum,
    Int32,
    Int64,
    KubeModel,
    ResourceRequirements,
    Toleration,
)

__all__ = [
    "GRAPH_ROOT_NODE_NAME",
    "InferenceGraph",
    "InferenceGraphRouterTimeouts",
    "InferenceGraphSpec",
    "InferenceGraphStatus",
    "InferenceRouter",
    "InferenceRouterType",
    "InferenceStep",
    "InferenceStepDependencyType",
    "InferenceTarget",
    "ScaleMetric",
]

#: GraphRootNodeName is the root node name.
GRAPH_ROOT_NODE_NAME = "root"

ScaleMetric = Annotated[str, Enum("cpu", "memory", "concurrency", "rps")]
"""ScaleMetric enum"""


class InferenceRouterType:
    """InferenceRouterType constant for inference routing types."""

    SEQUENCE = "Sequence"
    """Sequence Default type only route to one destination"""
    SPLITTER = "Splitter"
    """Splitter router randomly routes the requests to the named service according to the weight"""
    ENSEMBLE = "Ensemble"
    """Ensemble router routes the requests to multiple models and then merge the responses"""
    SWITCH = "Switch"
    """Switch routes the request to the model based on certain condition"""


RouterTypeName = Annotated[str, Enum("Sequence", "Splitter", "Ensemble", "Switch")]


class InferenceStepDependencyType:
    """InferenceStepDependencyType constant for inference step dependency."""

    SOFT = "Soft"
    HARD = "Hard"


DependencyName = Annotated[str, Enum("Soft", "Hard")]


class InferenceGraphRouterTimeouts(KubeModel):
    """Router timeouts (upstream ``InfereceGraphRouterTimeouts``)."""

    server_read: Int64 | None = Field(None, alias="serverRead")
    """ServerRead specifies the number of seconds to wait before timing out a request read by
    the server."""
    server_write: Int64 | None = Field(None, alias="serverWrite")
    """ServerWrite specifies the maximum duration in seconds before timing out writes of the
    response."""
    server_idle: Int64 | None = Field(None, alias="serverIdle")
    """ServerIdle specifies the maximum amount of time in seconds to wait for the next request
    when keep-alives are enabled."""
    service_client: Int64 | None = Field(None, alias="serviceClient")
    """ServiceClient specifies a time limit in seconds for requests made to the graph
    components by HTTP client."""


class InferenceTarget(KubeModel):
    """Exactly one InferenceTarget field must be specified."""

    node_name: str | None = Field(None, alias="nodeName")
    """The node name for routing as next step"""
    service_name: str | None = Field(None, alias="serviceName")
    """named reference for InferenceService"""
    service_url: str | None = Field(None, alias="serviceUrl")
    """InferenceService URL, mutually exclusive with ServiceName"""


class InferenceStep(InferenceTarget):
    """InferenceStep defines the inference target of the current step with condition, weights
    and data."""

    step_name: str | None = Field(None, alias="name")
    """Unique name for the step within this node"""
    data: str | None = Field(None, alias="data")
    """request data sent to the next route with input/output from the previous step $request
    $response.predictions"""
    map_predictions_to_instances: bool | None = Field(None, alias="mapPredictionsToInstances")
    """If true, maps the 'predictions' field from the previous step's response to the
    'instances' field of this step's request. Useful in sequential inference graphs where one
    step's output becomes the input for the next."""
    weight: Int64 | None = Field(None, alias="weight")
    """the weight for split of the traffic, only used for Split Router when weight is specified
    all the routing targets should be sum to 100"""
    condition: str | None = Field(None, alias="condition")
    """routing based on the condition"""
    dependency: DependencyName | None = Field(None, alias="dependency")
    """to decide whether a step is a hard or a soft dependency in the Inference Graph"""


class InferenceRouter(KubeModel):
    """InferenceRouter defines the router for each InferenceGraph node with one or multiple
    steps."""

    router_type: RouterTypeName = Field(alias="routerType")
    """RouterType

    - `Sequence:` chain multiple inference steps with input/output from previous step

    - `Splitter:` randomly routes to the target service according to the weight

    - `Ensemble:` routes the request to multiple models and then merge the responses

    - `Switch:` routes the request to one of the steps based on condition"""
    steps: list[InferenceStep] | None = Field(None, alias="steps")
    """Steps defines destinations for the current router node"""


class InferenceGraphSpec(KubeModel):
    """InferenceGraphSpec defines the InferenceGraph spec"""

    nodes: dict[str, InferenceRouter] = Field(alias="nodes")
    """Map of InferenceGraph router nodes Each node defines the router which can be different
    routing types"""
    resources: ResourceRequirements | None = Field(None, alias="resources")
    """Compute resources of the router container."""
    affinity: Affinity | None = Field(None, alias="affinity")
    """If specified, the router pod's scheduling constraints."""
    timeout_seconds: Int64 | None = Field(None, alias="timeout")
    """TimeoutSeconds specifies the number of seconds to wait before timing out a request to
    the component."""
    router_timeouts: InferenceGraphRouterTimeouts | None = Field(None, alias="routerTimeouts")
    """Router server and client timeouts."""
    min_replicas: Int32 | None = Field(None, alias="minReplicas")
    """Minimum number of replicas, defaults to 1 but can be set to 0 to enable scale-to-zero."""
    max_replicas: Int32 | None = Field(None, alias="maxReplicas")
    """Maximum number of replicas for autoscaling."""
    scale_target: Int32 | None = Field(None, alias="scaleTarget")
    """ScaleTarget specifies the integer target value of the metric type the Autoscaler watches
    for. concurrency and rps targets are supported by Knative Pod Autoscaler
    (https://knative.dev/docs/serving/autoscaling/autoscaling-targets/)."""
    scale_metric: ScaleMetric | None = Field(None, alias="scaleMetric")
    """ScaleMetric defines the scaling metric type watched by autoscaler possible values are
    concurrency, rps, cpu, memory. concurrency, rps are supported via Knative Pod
    Autoscaler(https://knative.dev/docs/serving/autoscaling/autoscaling-metrics)."""
    tolerations: list[Toleration] | None = Field(None, alias="tolerations")
    """Toleration specifies the toleration for the InferenceGraph.
    https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/"""
    node_selector: dict[str, str] | None = Field(None, alias="nodeSelector")
    """NodeSelector specifies the node selector for the InferenceGraph.
    https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/"""
    node_name: str | None = Field(None, alias="nodeName")
    """NodeName specifies the node name for the InferenceGraph.
    https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/"""
    service_account_name: str | None = Field(None, alias="serviceAccountName")
    """ServiceAccountName specifies the service account name for the InferenceGraph.
    https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"""


class InferenceGraphStatus(DuckStatus):
    """InferenceGraphStatus defines the InferenceGraph conditions and status"""

    url: str | None = Field(None, alias="url")
    """Url for the InferenceGraph"""
    deployment_mode: str | None = Field(None, alias="deploymentMode")
    """InferenceGraph DeploymentMode"""


class InferenceGraph(CustomResource):
    """InferenceGraph is the Schema for the InferenceGraph API for multiple models"""

    __crd__ = crd(
        kind="InferenceGraph",
        plural="inferencegraphs",
        singular="inferencegraph",
        short_names=("ig",),
        scope="Namespaced",
        status_subresource=True,
        printer_columns=(URL_COLUMN, READY_COLUMN, AGE_COLUMN),
    )

    spec: InferenceGraphSpec | None = Field(None, alias="spec")
    """InferenceGraphSpec defines the InferenceGraph spec"""
    status: InferenceGraphStatus | None = Field(None, alias="status")
    """InferenceGraphStatus defines the InferenceGraph conditions and status"""
