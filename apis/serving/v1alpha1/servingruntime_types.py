"""``servingruntime_types.go``: ServingRuntime and ClusterServingRuntime."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from apis.serving import AGE_COLUMN
from apis.serving.v1alpha1.groupversion import crd
from runtime.resource import (
    Affinity,
    Container,
    CustomResource,
    EnvVar,
    Int32,
    KubeModel,
    ListType,
    LocalObjectReference,
    Minimum,
    PodResourceClaim,
    PrinterColumn,
    Toleration,
    Volume,
)

__all__ = [
    "BuiltInAdapter",
    "ClusterServingRuntime",
    "ServerType",
    "ServingRuntime",
    "ServingRuntimePodSpec",
    "ServingRuntimeSpec",
    "ServingRuntimeStatus",
    "StorageHelper",
    "SupportedModelFormat",
    "WorkerSpec",
]


class SupportedModelFormat(KubeModel):
    """A model format (and version) a runtime supports."""

    name: str = Field(alias="name")
    """Name of the model format."""
    version: str | None = Field(None, alias="version")
    """Version of the model format. Used in validating that a predictor is supported by a
    runtime. Can be "major", "major.minor" or "major.minor.patch"."""
    auto_select: bool | None = Field(None, alias="autoSelect")
    """Set to true to allow the ServingRuntime to be used for automatic model placement if this
    model format is specified with no explicit runtime."""
    priority: Annotated[Int32 | None, Minimum(1)] = Field(None, alias="priority")
    """Priority of this serving runtime for auto selection. This is used to select the serving
    runtime if more than one serving runtime supports the same model format. The value should
    be greater than zero.  The higher the value, the higher the priority. Priority is not
    considered if AutoSelect is either false or not specified. Priority can be overridden by
    specifying the runtime in the InferenceService."""

    def is_auto_select_enabled(self) -> bool:
        """``autoSelect`` is set and true."""
        return bool(self.auto_select)


class StorageHelper(KubeModel):
    """Configuration of a runtime's use of the storage helper (model puller)."""

    disabled: bool | None = Field(None, alias="disabled")
    """Disable the storage helper."""


class ServingRuntimePodSpec(KubeModel):
    """The pod fields of a ServingRuntime (inlined into its spec and its workerSpec)."""

    containers: list[Container] = Field(alias="containers")
    """List of containers belonging to the pod. Containers cannot currently be added or
    removed. There must be at least one container in a Pod. Cannot be updated."""
    volumes: list[Volume] | None = Field(None, alias="volumes")
    """List of volumes that can be mounted by containers belonging to the pod.
    More info: https://kubernetes.io/docs/concepts/storage/volumes"""
    node_selector: dict[str, str] | None = Field(None, alias="nodeSelector")
    """NodeSelector is a selector which must be true for the pod to fit on a node. Selector
    which must match a node's labels for the pod to be scheduled on that node.
    More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"""
    affinity: Affinity | None = Field(None, alias="affinity")
    """If specified, the pod's scheduling constraints"""
    tolerations: list[Toleration] | None = Field(None, alias="tolerations")
    """If specified, the pod's tolerations."""
    labels: dict[str, str] | None = Field(None, alias="labels")
    """Labels that will be add to the pod. More info: http://kubernetes.io/docs/user-guide/labels"""
    annotations: dict[str, str] | None = Field(None, alias="annotations")
    """Annotations that will be add to the pod.
    More info: http://kubernetes.io/docs/user-guide/annotations"""
    image_pull_secrets: list[LocalObjectReference] | None = Field(None, alias="imagePullSecrets")
    """ImagePullSecrets is an optional list of references to secrets in the same namespace to
    use for pulling any of the images used by this PodSpec. If specified, these secrets will be
    passed to individual puller implementations for them to use. For example, in the case of
    docker, only DockerConfig type secrets are honored.
    More info: https://kubernetes.io/docs/concepts/containers/images#specifying-imagepullsecrets-on-a-pod"""
    host_ipc: bool | None = Field(None, alias="hostIPC")
    """Use the host's ipc namespace. Optional: Default to false."""
    scheduler_name: str | None = Field(None, alias="schedulerName")
    """If specified, the pod will be dispatched by specified scheduler. If not specified, the
    pod will be dispatched by default scheduler."""
    resource_claims: Annotated[list[PodResourceClaim] | None, ListType("map", "name")] = Field(
        None, alias="resourceClaims"
    )
    """ResourceClaims defines which ResourceClaims must be allocated and reserved before the
    Pod is allowed to start. The resources will be made available to those containers which
    consume them by name. Each entry may reference an existing ResourceClaim
    (resourceClaimName) or ResourceClaimTemplate (resourceClaimTemplateName) in the same
    namespace. KServe does not create these objects; they must exist before the Pod can be
    scheduled. Note: the resulting Pod's resourceClaims field is immutable after pod creation
    per Kubernetes semantics."""


class WorkerSpec(ServingRuntimePodSpec):
    """WorkerSpec is the schema for multi-node/multi-GPU feature."""

    pipeline_parallel_size: int | None = Field(None, alias="pipelineParallelSize")
    """PipelineParallelSize defines the number of parallel workers. It specifies the number of
    model partitions across multiple devices, allowing large models to be split and processed
    concurrently across these partitions. It also represents the number of replicas in the
    worker set, where each worker set serves as a scaling unit."""
    tensor_parallel_size: int | None = Field(None, alias="tensorParallelSize")
    """TensorParallelSize specifies the number of GPUs to be used per node. It indicates the
    degree of parallelism for tensor computations across the available GPUs."""


class ServerType:
    """Built-in ServerTypes (others may be supported)."""

    TRITON: ClassVar[str] = "triton"
    MLSERVER: ClassVar[str] = "mlserver"
    OVMS: ClassVar[str] = "ovms"


class BuiltInAdapter(KubeModel):
    """Details about a built-in runtime adapter (ModelMesh)."""

    server_type: str | None = Field(None, alias="serverType")
    """ServerType must be one of the supported built-in types such as "triton" or "mlserver",
    and the runtime's container must have the same name"""
    runtime_management_port: int | None = Field(None, alias="runtimeManagementPort")
    """Port which the runtime server listens for model management requests"""
    mem_buffer_bytes: int | None = Field(None, alias="memBufferBytes")
    """Fixed memory overhead to subtract from runtime container's memory allocation to
    determine model capacity"""
    model_loading_timeout_millis: int | None = Field(None, alias="modelLoadingTimeoutMillis")
    """Timeout for model loading operations in milliseconds"""
    env: list[EnvVar] | None = Field(None, alias="env")
    """Environment variables used to control other aspects of the built-in adapter's behaviour
    (uncommon)"""


class ServingRuntimeSpec(ServingRuntimePodSpec):
    """ServingRuntimeSpec defines the desired state of ServingRuntime. This spec is currently
    provisional and are subject to change as details regarding single-model serving and
    multi-model serving are hammered out."""

    supported_model_formats: list[SupportedModelFormat] | None = Field(
        None, alias="supportedModelFormats"
    )
    """Model formats and version supported by this runtime"""
    multi_model: bool | None = Field(None, alias="multiModel")
    """Whether this ServingRuntime is intended for multi-model usage or not."""
    disabled: bool | None = Field(None, alias="disabled")
    """Set to true to disable use of this runtime"""
    protocol_versions: list[str] | None = Field(None, alias="protocolVersions")
    """Supported protocol versions (i.e. v1 or v2 or grpc-v1 or grpc-v2)"""
    worker_spec: WorkerSpec | None = Field(None, alias="workerSpec")
    """Set WorkerSpec to enable multi-node/multi-gpu"""
    grpc_multi_model_management_endpoint: str | None = Field(None, alias="grpcEndpoint")
    """Grpc endpoint for internal model-management (implementing mmesh.ModelRuntime gRPC
    service) Assumed to be single-model runtime if omitted"""
    grpc_data_endpoint: str | None = Field(None, alias="grpcDataEndpoint")
    """Grpc endpoint for inferencing"""
    http_data_endpoint: str | None = Field(None, alias="httpDataEndpoint")
    """HTTP endpoint for inferencing"""
    replicas: int | None = Field(None, alias="replicas")
    """Configure the number of replicas in the Deployment generated by this ServingRuntime If
    specified, this overrides the podsPerRuntime configuration value"""
    storage_helper: StorageHelper | None = Field(None, alias="storageHelper")
    """Configuration for this runtime's use of the storage helper (model puller) It is enabled
    unless explicitly disabled"""
    built_in_adapter: BuiltInAdapter | None = Field(None, alias="builtInAdapter")
    """Provide the details about built-in runtime adapter"""

    def is_disabled(self) -> bool:
        """``disabled`` is set and true."""
        return bool(self.disabled)

    def is_multi_model_runtime(self) -> bool:
        """``multiModel`` is set and true."""
        return bool(self.multi_model)

    def is_multi_node_runtime(self) -> bool:
        """The runtime has a ``workerSpec``."""
        return self.worker_spec is not None

    def is_protocol_version_supported(self, protocol: str | None) -> bool:
        """Upstream ``IsProtocolVersionSupported``: no protocol or no list supports all."""
        if not protocol or not self.protocol_versions:
            return True
        return protocol in self.protocol_versions

    def get_priority(self, model_name: str) -> int | None:
        """Priority of the first supported format named ``model_name`` (None if unset)."""
        for f in self.supported_model_formats or []:
            if f.name == model_name:
                return f.priority
        return None


class ServingRuntimeStatus(KubeModel):
    """ServingRuntimeStatus defines the observed state of ServingRuntime"""


_COLUMNS = (
    PrinterColumn("Disabled", "boolean", ".spec.disabled"),
    PrinterColumn("ModelType", "string", ".spec.supportedModelFormats[*].name"),
    PrinterColumn("Containers", "string", ".spec.containers[*].name"),
    AGE_COLUMN,
)


class _ServingRuntimeKind(CustomResource):
    """What ServingRuntime and ClusterServingRuntime share (upstream gives both the same spec,
    status and printer columns); not a kind itself (no ``__crd__``)."""

    spec: ServingRuntimeSpec | None = Field(None, alias="spec")
    """ServingRuntimeSpec defines the desired state of ServingRuntime."""
    status: ServingRuntimeStatus | None = Field(None, alias="status")
    """ServingRuntimeStatus defines the observed state of ServingRuntime"""


class ServingRuntime(_ServingRuntimeKind):
    """ServingRuntime is the Schema for the servingruntimes API"""

    __crd__ = crd(
        kind="ServingRuntime",
        plural="servingruntimes",
        scope="Namespaced",
        printer_columns=_COLUMNS,
    )


class ClusterServingRuntime(_ServingRuntimeKind):
    """ClusterServingRuntime is the Schema for the servingruntimes API"""

    __crd__ = crd(
        kind="ClusterServingRuntime",
        plural="clusterservingruntimes",
        scope="Cluster",
        printer_columns=_COLUMNS,
    )
