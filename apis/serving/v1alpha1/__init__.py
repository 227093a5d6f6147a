"""``serving.kserve.io/v1alpha1``: ServingRuntime, ClusterServingRuntime, InferenceGraph,
TrainedModel, LocalModelCache, LocalModelNamespaceCache, LocalModelNodeGroup, LocalModelNode,
ClusterStorageContainer. One module per upstream Go file."""

from apis.serving.v1alpha1.inference_graph import (
    InferenceGraph,
    InferenceGraphSpec,
    InferenceGraphStatus,
    InferenceRouter,
    InferenceStep,
)
from apis.serving.v1alpha1.local_model_cache_status import LocalModelCacheStatus
from apis.serving.v1alpha1.local_model_cache_types import (
    LocalModelCache,
    LocalModelCacheSpec,
    LocalModelStorageSpec,
    get_storage_key,
)
from apis.serving.v1alpha1.local_model_namespace_cache_types import LocalModelNamespaceCache
from apis.serving.v1alpha1.local_model_node_group_types import (
    LocalModelNodeGroup,
    LocalModelNodeGroupSpec,
)
from apis.serving.v1alpha1.local_model_node_types import (
    LocalModelInfo,
    LocalModelNode,
    LocalModelNodeSpec,
)
from apis.serving.v1alpha1.servingruntime_types import (
    ClusterServingRuntime,
    ServingRuntime,
    ServingRuntimePodSpec,
    ServingRuntimeSpec,
    SupportedModelFormat,
    WorkerSpec,
)
from apis.serving.v1alpha1.storage_container import (
    ClusterStorageContainer,
    StorageContainerSpec,
    SupportedUriFormat,
)
from apis.serving.v1alpha1.storage_uri_utils import match_storage_uri
from apis.serving.v1alpha1.trained_model import ModelSpec, TrainedModel, TrainedModelSpec

__all__ = [
    "ClusterServingRuntime",
    "ClusterStorageContainer",
    "InferenceGraph",
    "InferenceGraphSpec",
    "InferenceGraphStatus",
    "InferenceRouter",
    "InferenceStep",
    "LocalModelCache",
    "LocalModelCacheSpec",
    "LocalModelCacheStatus",
    "LocalModelInfo",
    "LocalModelNamespaceCache",
    "LocalModelNode",
    "LocalModelNodeGroup",
    "LocalModelNodeGroupSpec",
    "LocalModelNodeSpec",
    "LocalModelStorageSpec",
    "ModelSpec",
    "ServingRuntime",
    "ServingRuntimePodSpec",
    "ServingRuntimeSpec",
    "StorageContainerSpec",
    "SupportedModelFormat",
    "SupportedUriFormat",
    "TrainedModel",
    "TrainedModelSpec",
    "WorkerSpec",
    "get_storage_key",
    "match_storage_uri",
]
