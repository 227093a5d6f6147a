"""``pkg/webhook/admission/pod/accelerator_injector.go``: on GKE, a pod asking for NVIDIA GPUs
gets the accelerator type from ``serving.kserve.io/gke-accelerator`` as a node selector."""

from __future__ import annotations

from apis.serving.constants import GKE_ACCELERATOR_ANNOTATION
from controllers.storage.utils import JsonDict, container_list, pod_spec, string_map

__all__ = [
    "GKE_ACCELERATOR_NODE_SELECTOR",
    "NVIDIA_GPU_RESOURCE",
    "inject_gke_accelerator_selector",
]

GKE_ACCELERATOR_NODE_SELECTOR = "cloud.google.com/gke-accelerator"
NVIDIA_GPU_RESOURCE = "nvidia.com/gpu"


def inject_gke_accelerator_selector(pod: JsonDict) -> None:
    """``InjectGKEAcceleratorSelector``: when a container limits ``nvidia.com/gpu`` and the pod
    has the annotation, set ``nodeSelector[cloud.google.com/gke-accelerator]``."""
    spec = pod_spec(pod)
    gpu = any(
        NVIDIA_GPU_RESOURCE in string_map((c.get("resources") or {}).get("limits"))
        for c in container_list(spec)
    )
    if not gpu:
        return
    annotations = string_map((pod.get("metadata") or {}).get("annotations"))
    if GKE_ACCELERATOR_ANNOTATION in annotations:
        selector = dict(string_map(spec.get("nodeSelector")))
        selector[GKE_ACCELERATOR_NODE_SELECTOR] = annotations[GKE_ACCELERATOR_ANNOTATION]
        spec["nodeSelector"] = selector
