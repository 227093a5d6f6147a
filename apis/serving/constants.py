"""Names the KServe control plane shares (upstream ``pkg/constants/constants.go``, plus the
condition types, reasons, finalizers and event reasons upstream declares beside its status
types and controllers): annotations, labels, container names, condition names, defaults.

One definition each. Modules that used to define one of these locally import it from here
(keeping their old name as an alias where tests or callers use it). The Go name each value
mirrors is in its docstring.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AGENT_CONTAINER",
    "AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION",
    "AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION",
    "AGENT_MODEL_DIR_ANNOTATION",
    "AGENT_SHOULD_INJECT_ANNOTATION",
    "ALLOWED_AUTOSCALER_CLASSES",
    "APP_LABEL",
    "AUTOSCALER_CLASS_ANNOTATION",
    "AUTOSCALER_METRICS_ANNOTATION",
    "BATCHER_ANNOTATION",
    "BATCHER_MAX_BATCH_SIZE_ANNOTATION",
    "BATCHER_MAX_LATENCY_ANNOTATION",
    "CANARY_PREDICTOR_READY",
    "CLUSTER_LOCAL_DOMAIN",
    "CLUSTER_LOCAL_VISIBILITY",
    "COMMON_DEFAULT_HTTP_PORT",
    "COMPONENT_LABEL",
    "CONDITION_READY",
    "CONDITION_SUCCEEDED",
    "CONFIDENTIAL_ENABLED_ANNOTATION",
    "CONFIDENTIAL_RESOURCE_ID_ANNOTATION",
    "CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION",
    "DEFAULT_AUTOSCALER_CLASS",
    "DEFAULT_CA_BUNDLE_FILE_NAME",
    "DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP",
    "DEFAULT_GPU_RESOURCE_TYPES",
    "DEFAULT_KSERVE_NAMESPACE",
    "DEFAULT_MIN_REPLICAS",
    "DEFAULT_MOUNT_PATH",
    "DEPLOYMENT_MODE_ANNOTATION",
    "DISABLE_AUTO_UPDATE_ANNOTATION",
    "DISABLE_LOCAL_MODEL_ANNOTATION",
    "ENABLE_METRIC_AGGREGATION_ANNOTATION",
    "ENABLE_PROMETHEUS_SCRAPING_ANNOTATION",
    "ENABLE_TAG_ROUTING_ANNOTATION",
    "ENDPOINT_LABEL",
    "EVENT_INFERENCE_GRAPH_NOT_READY",
    "EVENT_INFERENCE_GRAPH_READY",
    "EVENT_INFERENCE_SERVICE_NOT_READY",
    "EVENT_INFERENCE_SERVICE_READY",
    "EVENT_INTERNAL_ERROR",
    "EVENT_SERVERLESS_MODE_REJECTED",
    "EVENT_UPDATE_FAILED",
    "EVENT_VIRTUAL_SERVICE_CRD_NOT_FOUND",
    "EXPLAINER_CONFIGURATION_READY",
    "EXPLAINER_READY",
    "EXPLAINER_ROUTES_READY",
    "EXPLAIN_PREFIX",
    "GKE_ACCELERATOR_ANNOTATION",
    "INFERENCESERVICE_CONFIG_MAP_NAME",
    "INFERENCESERVICE_FINALIZER",
    "INFERENCE_GRAPH_KIND_LABEL",
    "INFERENCE_GRAPH_LABEL",
    "INFERENCE_SERVICE_CONTAINER",
    "INFERENCE_SERVICE_DEFAULT_HTTP_PORT",
    "INFERENCE_SERVICE_GENERATION_POD_LABEL",
    "INFERENCE_SERVICE_INTERNAL_ANNOTATIONS_PREFIX",
    "INFERENCE_SERVICE_NAME_ENV",
    "INFERENCE_SERVICE_POD_LABEL",
    "INFERENCE_SERVICE_READY",
    "INGRESS_READY",
    "ISVC_NAMESPACE_HEADER",
    "ISVC_NAME_HEADER",
    "IS_MMS_PREDICTOR",
    "KNATIVE_AUTOSCALER_CLASS_ANNOTATION",
    "KNATIVE_INITIAL_SCALE_ANNOTATION",
    "KNATIVE_MAX_SCALE_ANNOTATION",
    "KNATIVE_MIN_SCALE_ANNOTATION",
    "KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION",
    "KNATIVE_VISIBILITY_LABEL",
    "KSERVE_API_GROUP",
    "KSERVE_CONTAINER_PROMETHEUS_PATH_ANNOTATION",
    "KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION",
    "LATEST_DEPLOYMENT_READY",
    "LOCAL_MODEL_LABEL",
    "LOCAL_MODEL_NAMESPACE_LABEL",
    "LOCAL_MODEL_PVC_NAME_ANNOTATION",
    "LOCAL_MODEL_SOURCE_URI_ANNOTATION",
    "LOGGER_ANNOTATION",
    "LOGGER_METADATA_ANNOTATIONS_ANNOTATION",
    "LOGGER_METADATA_HEADERS_ANNOTATION",
    "LOGGER_MODE_ANNOTATION",
    "LOGGER_SINK_URL_ANNOTATION",
    "MEMORY_RESOURCE_AVAILABLE",
    "MESSAGE_INVALID_PLACEHOLDER",
    "MESSAGE_NO_CONTAINER_FOUND",
    "MESSAGE_NO_SUPPORTING_RUNTIME",
    "MESSAGE_NO_WORKER_CONTAINER",
    "MESSAGE_RUNTIME_DISABLED",
    "MESSAGE_RUNTIME_FORMAT_UNSUPPORTED",
    "MESSAGE_RUNTIME_NOT_RECOGNIZED",
    "MESSAGE_RUNTIME_PROTOCOL_UNSUPPORTED",
    "MESSAGE_WORKER_SPEC_NOT_SET",
    "MODEL_CONFIG_DIR",
    "MODEL_CONFIG_FILE_NAME",
    "MODEL_FORMAT_ANNOTATION",
    "MODEL_LABEL",
    "MULTI_NODE_ROLE_LABEL",
    "NETWORK_VISIBILITY_LABEL",
    "NODE_GROUP_ANNOTATION",
    "OCI_IMAGE_VOLUME_COMPATIBLE",
    "PARENT_INFERENCE_SERVICE_LABEL",
    "PATH_BASED_EXPLAIN_PREFIX",
    "PREDICTOR_CONFIGURATION_READY",
    "PREDICTOR_HOST_ANNOTATION",
    "PREDICTOR_PROTOCOL_ANNOTATION",
    "PREDICTOR_READY",
    "PREDICTOR_ROUTE_READY",
    "QUEUE_PROXY_CONTAINER",
    "REASON_ALL_CANARIES_READY",
    "REASON_CANARIES_NOT_READY",
    "REASON_EXPLAINER_INGRESS_NOT_CREATED",
    "REASON_FAILED_CREATE",
    "REASON_IMAGE_VOLUME_ALPHA",
    "REASON_IMAGE_VOLUME_SUBPATH_UNSUPPORTED",
    "REASON_IMAGE_VOLUME_UNSUPPORTED",
    "REASON_INFERENCE_SERVICE_NOT_READY",
    "REASON_INVALID_GPU_ALLOCATION",
    "REASON_INVALID_WORKER_SPEC_NOT_SET",
    "REASON_IS_NOT_MMS_PREDICTOR",
    "REASON_MEMORY_RESOURCE_NOT_AVAILABLE",
    "REASON_NEW_REPLICA_SET_AVAILABLE",
    "REASON_PREDICTOR_INGRESS_NOT_CREATED",
    "REASON_RECONCILE_FAILED",
    "REASON_TRANSFORMER_INGRESS_NOT_CREATED",
    "REVISION_LABEL",
    "ROLLOUT_DURATION_ANNOTATION",
    "ROUTES_READY",
    "SERVER_TYPE_ANNOTATION",
    "SERVICE_ANNOTATION_DISALLOWED_LIST",
    "STATE_REASON_CRASH_LOOP_BACK_OFF",
    "STATE_REASON_ERROR",
    "STOPPED",
    "STOPPED_REASON",
    "STOP_ANNOTATION",
    "STORAGE_CONTAINER_NAME_ANNOTATION",
    "STORAGE_INITIALIZER_CONTAINER",
    "STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION",
    "STORAGE_INITIALIZER_UID_ANNOTATION",
    "STORAGE_INITIALIZER_VOLUME",
    "STORAGE_READONLY_ANNOTATION",
    "STORAGE_SPEC_ANNOTATION",
    "STORAGE_SPEC_KEY_ANNOTATION",
    "STORAGE_SPEC_PARAM_ANNOTATION",
    "TARGET_UTILIZATION_PERCENTAGE_ANNOTATION",
    "TRAINED_MODEL_ALLOCATED_LABEL",
    "TRAINED_MODEL_FINALIZER",
    "TRANSFORMER_CONFIGURATION_READY",
    "TRANSFORMER_CONTAINER",
    "TRANSFORMER_READY",
    "TRANSFORMER_ROUTE_READY",
    "WORKER_CONTAINER",
    "WORKER_NODE_SUFFIX",
    "WORKLOAD_KIND_LABEL",
    "AutoscalerClass",
    "DeploymentModeType",
    "InferenceServiceComponent",
    "model_config_name",
    "predict_path",
    "predictor_service_name",
    "raw_service_label",
]

KSERVE_API_GROUP = "serving.kserve.io"
"""``constants.KServeAPIGroupName``."""
_INTERNAL = "internal." + KSERVE_API_GROUP

# ---------------------------------------------------------------------------------------------
# Components, deployment modes, autoscaler classes
# ---------------------------------------------------------------------------------------------


class InferenceServiceComponent(StrEnum):
    """``constants.InferenceServiceComponent`` / ``v1beta1.ComponentType``: the keys of
    ``status.components`` and the values of the ``component`` label."""

    PREDICTOR = "predictor"
    EXPLAINER = "explainer"
    TRANSFORMER = "transformer"


class DeploymentModeType(StrEnum):
    """``constants.DeploymentModeType``. The legacy names are accepted on input and mapped to
    their successors (RawDeployment -> Standard, Serverless -> Knative); the resolver in
    :mod:`apis.serving.v1beta1.deployment_mode` never returns them."""

    STANDARD = "Standard"
    KNATIVE = "Knative"
    MODEL_MESH = "ModelMesh"
    LEGACY_RAW_DEPLOYMENT = "RawDeployment"
    """Deprecated: Standard."""
    LEGACY_SERVERLESS = "Serverless"
    """Deprecated: Knative."""


class AutoscalerClass(StrEnum):
    """``constants.AutoscalerClassType`` (values of :data:`AUTOSCALER_CLASS_ANNOTATION`)."""

    HPA = "hpa"
    KPA = "kpa"
    EXTERNAL = "external"
    KEDA = "keda"
    NONE = "none"


ALLOWED_AUTOSCALER_CLASSES: tuple[str, ...] = ("hpa", "external", "keda", "none")
"""``constants.AutoscalerAllowedClassList`` (Standard mode; ``kpa`` is Knative's)."""
DEFAULT_AUTOSCALER_CLASS = AutoscalerClass.HPA
"""``constants.DefaultAutoscalerClass``."""

# ---------------------------------------------------------------------------------------------
# Annotations users set on an InferenceService (or its components)
# ---------------------------------------------------------------------------------------------

DEPLOYMENT_MODE_ANNOTATION = KSERVE_API_GROUP + "/deploymentMode"
"""``constants.DeploymentMode``."""
AUTOSCALER_CLASS_ANNOTATION = KSERVE_API_GROUP + "/autoscalerClass"
"""``constants.AutoscalerClass``."""
AUTOSCALER_METRICS_ANNOTATION = KSERVE_API_GROUP + "/metrics"
"""``constants.AutoscalerMetrics``."""
TARGET_UTILIZATION_PERCENTAGE_ANNOTATION = KSERVE_API_GROUP + "/targetUtilizationPercentage"
"""``constants.TargetUtilizationPercentage``."""
STOP_ANNOTATION = KSERVE_API_GROUP + "/stop"
"""``constants.StopAnnotationKey``: ``"true"`` (any case) stops the InferenceService."""
DISABLE_AUTO_UPDATE_ANNOTATION = KSERVE_API_GROUP + "/disable-auto-update"
"""``constants.DisableAutoUpdateAnnotationKey``: ``"true"`` freezes a Ready
InferenceService."""
ENABLE_TAG_ROUTING_ANNOTATION = KSERVE_API_GROUP + "/enable-tag-routing"
"""``constants.EnableRoutingTagAnnotationKey`` (Knative canary tags ``latest``/``prev``)."""
DISABLE_LOCAL_MODEL_ANNOTATION = KSERVE_API_GROUP + "/disable-localmodel"
"""``constants.DisableLocalModelKey``."""
NODE_GROUP_ANNOTATION = KSERVE_API_GROUP + "/nodegroup"
"""``constants.NodeGroupAnnotationKey``."""
GKE_ACCELERATOR_ANNOTATION = KSERVE_API_GROUP + "/gke-accelerator"
"""``constants.InferenceServiceGKEAcceleratorAnnotationKey``."""
CUSTOM_GPU_RESOURCE_TYPES_ANNOTATION = KSERVE_API_GROUP + "/gpu-resource-types"
"""``constants.CustomGPUResourceTypesAnnotationKey``."""
SERVER_TYPE_ANNOTATION = KSERVE_API_GROUP + "/server-type"
"""``constants.ServerTypeAnnotationKey`` (on a ServingRuntime)."""
ENABLE_METRIC_AGGREGATION_ANNOTATION = KSERVE_API_GROUP + "/enable-metric-aggregation"
"""``constants.EnableMetricAggregation``."""
ENABLE_PROMETHEUS_SCRAPING_ANNOTATION = KSERVE_API_GROUP + "/enable-prometheus-scraping"
"""``constants.SetPrometheusAnnotation``."""
KSERVE_CONTAINER_PROMETHEUS_PORT_ANNOTATION = "prometheus.kserve.io/port"
"""``constants.KserveContainerPrometheusPortKey``."""
KSERVE_CONTAINER_PROMETHEUS_PATH_ANNOTATION = "prometheus.kserve.io/path"
"""``constants.KServeContainerPrometheusPathKey``."""
STORAGE_READONLY_ANNOTATION = "storage.kserve.io/readonly"
"""``constants.StorageReadonlyAnnotationKey``: ``"false"`` makes model mounts writable."""
STORAGE_INITIALIZER_UID_ANNOTATION = KSERVE_API_GROUP + "/storage-initializer-uid"
"""``constants.IstioSidecarUIDAnnotationKey``."""
MODEL_FORMAT_ANNOTATION = "modelFormat"
"""``constants.ModelFormatAnnotationKey``."""
ROLLOUT_DURATION_ANNOTATION = "serving.knative.dev/rollout-duration"
"""``constants.RollOutDurationAnnotationKey`` (copied to the Knative Service)."""
KNATIVE_OPENSHIFT_ENABLE_PASSTHROUGH_ANNOTATION = "serving.knative.openshift.io/enablePassthrough"
"""``constants.KnativeOpenshiftEnablePassthroughKey``."""
KNATIVE_AUTOSCALER_CLASS_ANNOTATION = "autoscaling.knative.dev/class"
"""``autoscaling.ClassAnnotationKey``."""
KNATIVE_MIN_SCALE_ANNOTATION = "autoscaling.knative.dev/min-scale"
"""``autoscaling.MinScaleAnnotationKey``."""
KNATIVE_MAX_SCALE_ANNOTATION = "autoscaling.knative.dev/max-scale"
"""``autoscaling.MaxScaleAnnotationKey``."""
KNATIVE_INITIAL_SCALE_ANNOTATION = "autoscaling.knative.dev/initial-scale"
"""``autoscaling.InitialScaleAnnotationKey``."""

# ---------------------------------------------------------------------------------------------
# Internal annotations the control plane writes (reference §2.3); the pod webhook reads them
# ---------------------------------------------------------------------------------------------

INFERENCE_SERVICE_INTERNAL_ANNOTATIONS_PREFIX = _INTERNAL
"""``constants.InferenceServiceInternalAnnotationsPrefix``."""
STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION = _INTERNAL + "/storage-initializer-sourceuri"
"""``constants.StorageInitializerSourceUriInternalAnnotationKey``."""
STORAGE_SPEC_ANNOTATION = _INTERNAL + "/storage-spec"
"""``constants.StorageSpecAnnotationKey``."""
STORAGE_SPEC_PARAM_ANNOTATION = _INTERNAL + "/storage-spec-param"
"""``constants.StorageSpecParamAnnotationKey``."""
STORAGE_SPEC_KEY_ANNOTATION = _INTERNAL + "/storage-spec-key"
"""``constants.StorageSpecKeyAnnotationKey``."""
STORAGE_CONTAINER_NAME_ANNOTATION = _INTERNAL + "/storage-container-name"
"""``constants.StorageContainerNameAnnotationKey``."""
LOGGER_ANNOTATION = _INTERNAL + "/logger"
"""``constants.LoggerInternalAnnotationKey``."""
LOGGER_SINK_URL_ANNOTATION = _INTERNAL + "/logger-sink-url"
"""``constants.LoggerSinkUrlInternalAnnotationKey``."""
LOGGER_MODE_ANNOTATION = _INTERNAL + "/logger-mode"
"""``constants.LoggerModeInternalAnnotationKey``."""
LOGGER_METADATA_HEADERS_ANNOTATION = _INTERNAL + "/logger-metadata-headers"
"""``constants.LoggerMetadataHeadersInternalAnnotationKey``."""
LOGGER_METADATA_ANNOTATIONS_ANNOTATION = _INTERNAL + "/logger-metadata-annotations"
"""``constants.LoggerMetadataAnnotationsInternalAnnotationKey``."""
BATCHER_ANNOTATION = _INTERNAL + "/batcher"
"""``constants.BatcherInternalAnnotationKey``."""
BATCHER_MAX_BATCH_SIZE_ANNOTATION = _INTERNAL + "/batcher-max-batchsize"
"""``constants.BatcherMaxBatchSizeInternalAnnotationKey``."""
BATCHER_MAX_LATENCY_ANNOTATION = _INTERNAL + "/batcher-max-latency"
"""``constants.BatcherMaxLatencyInternalAnnotationKey``."""
AGENT_SHOULD_INJECT_ANNOTATION = _INTERNAL + "/agent"
"""``constants.AgentShouldInjectAnnotationKey``."""
AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION = _INTERNAL + "/configVolumeName"
"""``constants.AgentModelConfigVolumeNameAnnotationKey``."""
AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION = _INTERNAL + "/configMountPath"
"""``constants.AgentModelConfigMountPathAnnotationKey``."""
AGENT_MODEL_DIR_ANNOTATION = _INTERNAL + "/modelDir"
"""``constants.AgentModelDirAnnotationKey``."""
PREDICTOR_HOST_ANNOTATION = _INTERNAL + "/predictor-host"
"""``constants.PredictorHostAnnotationKey``."""
PREDICTOR_PROTOCOL_ANNOTATION = _INTERNAL + "/predictor-protocol"
"""``constants.PredictorProtocolAnnotationKey``."""
CONFIDENTIAL_ENABLED_ANNOTATION = _INTERNAL + "/confidential-enabled"
"""``constants.ConfidentialEnabledAnnotationKey``."""
CONFIDENTIAL_RESOURCE_ID_ANNOTATION = _INTERNAL + "/confidential-resource-id"
"""``constants.ConfidentialResourceIdAnnotationKey``."""
LOCAL_MODEL_LABEL = _INTERNAL + "/localmodel"
"""``constants.LocalModelLabel``: the LocalModel(Namespace)Cache an InferenceService uses."""
LOCAL_MODEL_NAMESPACE_LABEL = _INTERNAL + "/localmodel-namespace"
"""``constants.LocalModelNamespaceLabel``: that cache's namespace (namespace-scoped caches)."""
LOCAL_MODEL_SOURCE_URI_ANNOTATION = _INTERNAL + "/localmodel-sourceuri"
"""``constants.LocalModelSourceUriAnnotationKey``."""
LOCAL_MODEL_PVC_NAME_ANNOTATION = _INTERNAL + "/localmodel-pvc-name"
"""``constants.LocalModelPVCNameAnnotationKey``."""

SERVICE_ANNOTATION_DISALLOWED_LIST: tuple[str, ...] = (
    KNATIVE_MIN_SCALE_ANNOTATION,
    KNATIVE_MAX_SCALE_ANNOTATION,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    "kubectl.kubernetes.io/last-applied-configuration",
    MODEL_FORMAT_ANNOTATION,
)
"""``constants.ServiceAnnotationDisallowedList``: built-ins of
``inferenceService.serviceAnnotationDisallowedList``."""

# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------

INFERENCE_SERVICE_POD_LABEL = KSERVE_API_GROUP + "/inferenceservice"
"""``constants.InferenceServicePodLabelKey`` (= ``constants.InferenceServiceLabel``): the
owning InferenceService's name, on every workload object and pod."""
INFERENCE_SERVICE_GENERATION_POD_LABEL = "isvc.generation"
"""``constants.InferenceServiceGenerationPodLabelKey`` (multi-node)."""
COMPONENT_LABEL = "component"
"""``constants.KServiceComponentLabel``: predictor, transformer or explainer."""
MODEL_LABEL = "model"
"""``constants.KServiceModelLabel``."""
ENDPOINT_LABEL = "endpoint"
"""``constants.KServiceEndpointLabel``."""
WORKLOAD_KIND_LABEL = KSERVE_API_GROUP + "/kind"
"""``constants.KServeWorkloadKind``."""
APP_LABEL = "app"
"""``constants.RawDeploymentAppLabel``: ``isvc.<component object name>``
(:func:`raw_service_label`), the Standard-mode Deployment selector."""
REVISION_LABEL = "serving.knative.dev/revision"
"""``constants.RevisionLabel``: selects a Knative revision's pods."""
NETWORK_VISIBILITY_LABEL = "networking.kserve.io/visibility"
"""``constants.NetworkVisibility``; value :data:`CLUSTER_LOCAL_VISIBILITY` skips ingress."""
CLUSTER_LOCAL_VISIBILITY = "cluster-local"
"""``constants.ClusterLocalVisibility``."""
CLUSTER_LOCAL_DOMAIN = "svc.cluster.local"
"""``constants.ClusterLocalDomain``."""
DEFAULT_KSERVE_NAMESPACE = "kserve"
"""``constants.KServeNamespace`` when ``POD_NAMESPACE`` is unset."""
COMMON_DEFAULT_HTTP_PORT = 80
"""``constants.CommonDefaultHttpPort``: the component Services' (and gateways') HTTP port."""
INFERENCE_SERVICE_DEFAULT_HTTP_PORT = "8080"
"""``constants.InferenceServiceDefaultHttpPort``: the model server's HTTP port."""
EXPLAIN_PREFIX = "^/v1/models/[\\w-]+:explain$"
"""``constants.ExplainPrefix()``."""
PATH_BASED_EXPLAIN_PREFIX = "(/v1/models/[\\w-]+:explain)$"
"""``constants.PathBasedExplainPrefix()``."""
ISVC_NAME_HEADER = "KServe-Isvc-Name"
"""``constants.IsvcNameHeader``: set by the routes on every request."""
ISVC_NAMESPACE_HEADER = "KServe-Isvc-Namespace"
"""``constants.IsvcNamespaceHeader``."""
MODEL_CONFIG_DIR = "/mnt/configs"
"""``constants.ModelConfigDir``: where the agent mounts the multi-model ConfigMap."""
INFERENCE_SERVICE_NAME_ENV = "INFERENCE_SERVICE_NAME"
"""``constants.InferenceServiceNameEnvVarKey``: set on the component's containers."""
DEFAULT_MIN_REPLICAS = 1
"""``constants.DefaultMinReplicas``."""
STORAGE_INITIALIZER_VOLUME = "kserve-provision-location"
"""``constants.StorageInitializerVolumeName``: the emptyDir the storage initializer fills."""
KNATIVE_VISIBILITY_LABEL = "networking.knative.dev/visibility"
"""``constants.VisibilityLabel`` (the built-in of ``serviceLabelDisallowedList``)."""
MULTI_NODE_ROLE_LABEL = "multinode/role"
"""``constants.MultiNodeRoleLabelKey`` (values ``head`` / ``worker``)."""
PARENT_INFERENCE_SERVICE_LABEL = "inferenceservice"
"""``constants.ParentInferenceServiceLabel``: a TrainedModel's parent InferenceService."""
TRAINED_MODEL_ALLOCATED_LABEL = KSERVE_API_GROUP + "/trainedmodel-allocated"
"""``constants.TrainedModelAllocated``: the TrainedModel's memory is counted against this
InferenceService."""
INFERENCE_GRAPH_LABEL = KSERVE_API_GROUP + "/inferencegraph"
"""``constants.InferenceGraphLabel``."""
INFERENCE_GRAPH_KIND_LABEL = WORKLOAD_KIND_LABEL
"""The Knative router template label ``serving.kserve.io/kind: InferenceGraph``."""

# ---------------------------------------------------------------------------------------------
# Finalizers, object names
# ---------------------------------------------------------------------------------------------

INFERENCESERVICE_FINALIZER = "inferenceservice.finalizers"
"""The InferenceService controller's finalizer (``controller.go`` ``finalizerName``)."""
TRAINED_MODEL_FINALIZER = "trainedmodel.finalizer"
"""The TrainedModel controller's finalizer (``tmFinalizerName``)."""
INFERENCESERVICE_CONFIG_MAP_NAME = "inferenceservice-config"
"""``constants.InferenceServiceConfigMapName``."""
DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP = "global-ca-bundle"
"""``constants.DefaultGlobalCaBundleConfigMapName``."""
DEFAULT_CA_BUNDLE_FILE_NAME = "cabundle.crt"
"""``constants.DefaultCaBundleFileName``."""
MODEL_CONFIG_FILE_NAME = "models.json"
"""``constants.ModelConfigFileName``: the key of ``modelconfig-<isvc>-<shard>``."""
WORKER_NODE_SUFFIX = "worker"
"""``constants.WorkerNodeSuffix``."""


def raw_service_label(name: str) -> str:
    """``constants.GetRawServiceLabel``: the ``app`` label value of a Standard-mode component
    object named ``name`` (``isvc.<name>``)."""
    return "isvc." + name


def predictor_service_name(isvc_name: str, predictor_name: str | None = None) -> str:
    """``constants.PredictorServiceName``: ``<isvc>-predictor`` or
    ``<isvc>-<predictor.name>-predictor``."""
    if predictor_name:
        return f"{isvc_name}-{predictor_name}-predictor"
    return f"{isvc_name}-predictor"


def model_config_name(isvc_name: str, shard: int = 0) -> str:
    """``constants.ModelConfigName``: ``modelconfig-<isvc>-<shard>``."""
    return f"modelconfig-{isvc_name}-{shard}"


def predict_path(model_name: str, protocol: str | None) -> str:
    """``constants.PredictPath``: ``/v1/models/<m>:predict`` (v1), ``/v2/models/<m>/infer``
    (v2), empty for any other protocol (gRPC)."""
    if protocol == "v1":
        return f"/v1/models/{model_name}:predict"
    if protocol == "v2":
        return f"/v2/models/{model_name}/infer"
    return ""


# ---------------------------------------------------------------------------------------------
# Containers, container states
# ---------------------------------------------------------------------------------------------

INFERENCE_SERVICE_CONTAINER = "kserve-container"
"""``constants.InferenceServiceContainerName``: the main (model server) container."""
STORAGE_INITIALIZER_CONTAINER = "storage-initializer"
"""``constants.StorageInitializerContainerName``."""
TRANSFORMER_CONTAINER = "transformer-container"
"""``constants.TransformerContainerName`` (collocated transformer)."""
WORKER_CONTAINER = "worker-container"
"""``constants.WorkerContainerName``: the container of a multi-node worker."""
AGENT_CONTAINER = "agent"
"""``constants.AgentContainerName``."""
QUEUE_PROXY_CONTAINER = "queue-proxy"
"""``constants.QueueProxyContainerName``."""
STATE_REASON_ERROR = "Error"
"""``constants.StateReasonError``: a terminated container's reason after a failure."""
STATE_REASON_CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
"""``constants.StateReasonCrashLoopBackOff``."""
DEFAULT_MOUNT_PATH = "/mnt/models"
"""``constants.DefaultModelLocalMountPath``: where model artifacts are mounted."""
DEFAULT_GPU_RESOURCE_TYPES: tuple[str, ...] = (
    "nvidia.com/gpu",
    "amd.com/gpu",
    "intel.com/gpu",
    "habana.ai/gaudi",
)
"""``constants.DefaultGPUResourceTypeList``."""

# ---------------------------------------------------------------------------------------------
# Condition types (knative ``apis.ConditionType``; upstream declares the InferenceService ones
# in ``v1beta1/inference_service_status.go``, the TrainedModel ones in
# ``v1alpha1/trained_model_status.go``)
# ---------------------------------------------------------------------------------------------

CONDITION_READY = "Ready"
"""``apis.ConditionReady``: the happy condition of a living condition set."""
CONDITION_SUCCEEDED = "Succeeded"
"""``apis.ConditionSucceeded``: the happy condition of a batch condition set."""
PREDICTOR_READY = "PredictorReady"
TRANSFORMER_READY = "TransformerReady"
EXPLAINER_READY = "ExplainerReady"
INGRESS_READY = "IngressReady"
"""Set when the routing objects (HTTPRoutes, Ingress or VirtualService) are ready."""
ROUTES_READY = "RoutesReady"
"""Knative: aggregated ``<Comp>RouteReady``."""
LATEST_DEPLOYMENT_READY = "LatestDeploymentReady"
"""Knative: aggregated ``<Comp>ConfigurationReady``."""
PREDICTOR_ROUTE_READY = "PredictorRouteReady"
TRANSFORMER_ROUTE_READY = "TransformerRouteReady"
EXPLAINER_ROUTES_READY = "ExplainerRoutesReady"
"""Upstream spells the explainer's route condition with a plural ``Routes``."""
PREDICTOR_CONFIGURATION_READY = "PredictorConfigurationReady"
TRANSFORMER_CONFIGURATION_READY = "TransformerConfigurationReady"
EXPLAINER_CONFIGURATION_READY = "ExplainerConfigurationReady"
CANARY_PREDICTOR_READY = "CanaryPredictorReady"
"""Standard-mode ``spec.canary[]``: every canary Deployment available."""
STOPPED = "Stopped"
"""True while :data:`STOP_ANNOTATION` is ``"true"``."""
OCI_IMAGE_VOLUME_COMPATIBLE = "OciImageVolumeCompatible"
"""Advisory (never affects Ready): the cluster may lack ImageVolume for ``oci+native``."""
INFERENCE_SERVICE_READY = "InferenceServiceReady"
"""TrainedModel: the parent InferenceService is Ready."""
MEMORY_RESOURCE_AVAILABLE = "MemoryResourceAvailable"
"""TrainedModel: the parent's predictor memory limit has room for it."""
IS_MMS_PREDICTOR = "IsMMSPredictor"
"""TrainedModel: the parent's predictor is multi-model."""

# ---------------------------------------------------------------------------------------------
# Condition reasons
# ---------------------------------------------------------------------------------------------

STOPPED_REASON = "Stopped"
"""``v1beta1.StoppedISVCReason``."""
REASON_RECONCILE_FAILED = "ReconcileFailed"
"""``<Comp>Ready`` False when building or applying a component failed."""
REASON_ALL_CANARIES_READY = "AllCanariesReady"
REASON_CANARIES_NOT_READY = "CanariesNotReady"
REASON_INVALID_WORKER_SPEC_NOT_SET = "InvalidWorkerSpecNotSet"
"""``v1beta1.InvalidWorkerSpecNotSet``: workerSpec set but the runtime has none."""
REASON_INVALID_GPU_ALLOCATION = "InvalidGPUAllocation"
"""``v1beta1.InvalidGPUAllocation``."""
REASON_NEW_REPLICA_SET_AVAILABLE = "NewReplicaSetAvailable"
"""A Deployment's ``Progressing`` reason once its rollout completed."""
REASON_FAILED_CREATE = "FailedCreate"
"""A Deployment's ``ReplicaFailure`` reason (e.g. a quota refused the pods)."""
REASON_IMAGE_VOLUME_UNSUPPORTED = "ImageVolumeUnsupported"
REASON_IMAGE_VOLUME_SUBPATH_UNSUPPORTED = "ImageVolumeSubPathUnsupported"
REASON_IMAGE_VOLUME_ALPHA = "ImageVolumeAlpha"
REASON_PREDICTOR_INGRESS_NOT_CREATED = "Predictor ingress not created"
REASON_TRANSFORMER_INGRESS_NOT_CREATED = "Transformer ingress not created"
REASON_EXPLAINER_INGRESS_NOT_CREATED = "Explainer ingress not created"
REASON_INFERENCE_SERVICE_NOT_READY = "InferenceServiceNotReady"
"""TrainedModel ``InferenceServiceReady`` False."""
REASON_IS_NOT_MMS_PREDICTOR = "IsNotMMSPredictor"
"""TrainedModel ``IsMMSPredictor`` False."""
REASON_MEMORY_RESOURCE_NOT_AVAILABLE = "MemoryResourceNotAvailable"
"""TrainedModel ``MemoryResourceAvailable`` False."""

# Model failure messages upstream's predictor writes into ``modelStatus.lastFailureInfo``.
MESSAGE_RUNTIME_NOT_RECOGNIZED = "Waiting for runtime to become available"
MESSAGE_RUNTIME_DISABLED = "Specified runtime is disabled"
MESSAGE_RUNTIME_PROTOCOL_UNSUPPORTED = (
    "Specified runtime does not support specified protocol version"
)
MESSAGE_RUNTIME_FORMAT_UNSUPPORTED = (
    "Specified runtime does not support specified framework/version"
)
MESSAGE_NO_SUPPORTING_RUNTIME = "No runtime found to support specified framework/version"
MESSAGE_NO_CONTAINER_FOUND = "no container configuration found in selected serving runtime"
MESSAGE_INVALID_PLACEHOLDER = "failed to replace placeholders in serving runtime {} Container {}"
"""Format with the runtime name and the container name."""
MESSAGE_NO_WORKER_CONTAINER = (
    "No workerSpec container configuration found in selected serving runtime"
)
MESSAGE_WORKER_SPEC_NOT_SET = (
    "you cannot set WorkerSpec in the InferenceService if the ServingRuntime does not have a "
    "WorkerSpec"
)

# ---------------------------------------------------------------------------------------------
# Event reasons
# ---------------------------------------------------------------------------------------------

EVENT_INFERENCE_SERVICE_READY = "InferenceServiceReady"
"""Normal: the InferenceService became Ready."""
EVENT_INFERENCE_SERVICE_NOT_READY = "InferenceServiceNotReady"
"""Warning: "InferenceService [<name>] is no longer Ready because of: <False types>"."""
EVENT_INFERENCE_GRAPH_READY = "InferenceGraphReady"
EVENT_INFERENCE_GRAPH_NOT_READY = "InferenceGraphNotReady"
EVENT_INTERNAL_ERROR = "InternalError"
"""Warning: a component or the status write failed."""
EVENT_UPDATE_FAILED = "UpdateFailed"
"""Warning: the status update was refused."""
EVENT_SERVERLESS_MODE_REJECTED = "ServerlessModeRejected"
"""Warning: Knative mode resolved but the Knative Service CRD is absent."""
EVENT_VIRTUAL_SERVICE_CRD_NOT_FOUND = "VirtualServiceCRDNotFound"
