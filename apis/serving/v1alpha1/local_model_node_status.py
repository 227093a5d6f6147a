"""``local_model_node_status.go``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from runtime.resource import Enum, KubeModel

__all__ = ["LocalModelNodeStatus", "ModelStatus"]


class ModelStatus:
    """ModelStatus enum values."""

    MODEL_DOWNLOAD_PENDING = "ModelDownloadPending"
    MODEL_DOWNLOADING = "ModelDownloading"
    MODEL_DOWNLOADED = "ModelDownloaded"
    MODEL_DOWNLOAD_ERROR = "ModelDownloadError"


ModelStatusName = Annotated[
    str,
    Enum("", "ModelDownloadPending", "ModelDownloading", "ModelDownloaded", "ModelDownloadError"),
]


class LocalModelNodeStatus(KubeModel):
    """Download status of the models of one node."""

    model_status: dict[str, ModelStatusName] | None = Field(None, alias="modelStatus")
    """Status of each local model"""
