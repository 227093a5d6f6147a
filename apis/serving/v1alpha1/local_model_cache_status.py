"""``local_model_cache_status.go``: status of LocalModelCache and LocalModelNamespaceCache."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from runtime.resource import Enum, KubeModel

__all__ = ["LocalModelCacheStatus", "ModelCopies", "NamespacedName", "NodeStatus"]


class NodeStatus:
    """NodeStatus enum values."""

    NODE_NOT_READY = "NodeNotReady"
    NODE_DOWNLOAD_PENDING = "NodeDownloadPending"
    NODE_DOWNLOADING = "NodeDownloading"
    NODE_DOWNLOADED = "NodeDownloaded"
    NODE_DOWNLOAD_ERROR = "NodeDownloadError"


NodeStatusName = Annotated[
    str,
    Enum(
        "",
        "NodeNotReady",
        "NodeDownloadPending",
        "NodeDownloading",
        "NodeDownloaded",
        "NodeDownloadError",
    ),
]


class NamespacedName(KubeModel):
    """A namespace/name pair."""

    namespace: str | None = Field(None, alias="namespace")
    """Namespace of the object."""
    name: str | None = Field(None, alias="name")
    """Name of the object."""


class ModelCopies(KubeModel):
    """How many nodes have the model."""

    available: int | None = Field(None, alias="available")
    """Nodes where the model is downloaded."""
    total: int | None = Field(None, alias="total")
    """Total number of nodes that we expect the model to be downloaded. Including nodes that
    are not ready"""
    failed: int | None = Field(None, alias="failed")
    """Download Failed"""


class LocalModelCacheStatus(KubeModel):
    """Observed state of a local model cache."""

    node_status: dict[str, NodeStatusName] | None = Field(None, alias="nodeStatus")
    """Status of the model on a node, like NodeDownloaded or NodeNotReady"""
    model_copies: ModelCopies | None = Field(None, alias="copies")
    """How many nodes have the model available locally"""
    inference_services: list[NamespacedName] | None = Field(None, alias="inferenceServices")
    """Inference services using this local model"""
    llm_inference_services: list[NamespacedName] | None = Field(None, alias="llmInferenceServices")
    """LLM inference services using this local model"""
