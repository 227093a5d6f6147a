"""Names the serving API's types, defaulters and validators share (upstream
``pkg/constants``): container names, annotations, labels and defaults. One definition each;
the modules that used to define them re-export them."""

from __future__ import annotations

__all__ = [
    "DEFAULT_GPU_RESOURCE_TYPES",
    "DEFAULT_MOUNT_PATH",
    "DEPLOYMENT_MODE_ANNOTATION",
    "INFERENCE_SERVICE_CONTAINER",
    "LOCAL_MODEL_LABEL",
    "LOCAL_MODEL_NAMESPACE_LABEL",
    "WORKER_CONTAINER",
]

INFERENCE_SERVICE_CONTAINER = "kserve-container"
"""``constants.InferenceServiceContainerName``: the main (model server) container."""
WORKER_CONTAINER = "worker-container"
"""``constants.WorkerContainerName``: the container of a multi-node worker."""
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
"""``constants.DeploymentMode``."""
LOCAL_MODEL_LABEL = "internal.serving.kserve.io/localmodel"
"""``constants.LocalModelLabel``: the LocalModel(Namespace)Cache an InferenceService uses."""
LOCAL_MODEL_NAMESPACE_LABEL = "internal.serving.kserve.io/localmodel-namespace"
"""``constants.LocalModelNamespaceLabel``: that cache's namespace (namespace-scoped caches)."""
DEFAULT_MOUNT_PATH = "/mnt/models"
"""``constants.DefaultModelLocalMountPath``: where model artifacts are mounted."""
DEFAULT_GPU_RESOURCE_TYPES: tuple[str, ...] = (
    "nvidia.com/gpu",
    "amd.com/gpu",
    "intel.com/gpu",
    "habana.ai/gaudi",
)
"""``constants.DefaultGPUResourceTypeList``."""
