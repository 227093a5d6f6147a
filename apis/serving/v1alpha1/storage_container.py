"""``storage_container_types.go``: ClusterStorageContainer (cluster-scoped)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apis.serving.v1alpha1.groupversion import crd
from apis.serving.validation import go_regexp
from runtime.resource import Container, CustomResource, Default, KubeModel

__all__ = [
    "ClusterStorageContainer",
    "StorageContainerSpec",
    "SupportedUriFormat",
    "WorkloadType",
]


class WorkloadType:
    """Where a storage container runs."""

    INIT_CONTAINER = "initContainer"
    LOCAL_MODEL_DOWNLOAD_JOB = "localModelDownloadJob"


class SupportedUriFormat(KubeModel):
    """SupportedUriFormat can be either prefix or regex."""

    prefix: str | None = Field(None, alias="prefix")
    """URI prefix, e.g. ``hdfs://``."""
    regex: str | None = Field(None, alias="regex")
    """Regular expression the URI must match (Go RE2 syntax)."""


class StorageContainerSpec(KubeModel):
    """StorageContainerSpec defines the container spec for the storage initializer init
    container, and the protocols it supports."""

    container: Container = Field(alias="container")
    """Container spec for the storage initializer init container"""
    supported_uri_formats: list[SupportedUriFormat] = Field(alias="supportedUriFormats")
    """List of URI formats that this container supports"""
    workload_type: Annotated[str | None, Default("initContainer")] = Field(
        None, alias="workloadType"
    )
    """``initContainer`` (storage initializer) or ``localModelDownloadJob``."""
    supports_multi_model_download: Annotated[bool | None, Default(False)] = Field(
        None, alias="supportsMultiModelDownload"
    )
    """Whether the container can download several URIs at once (``storageUris``)."""

    def is_storage_uri_supported(self, storage_uri: str) -> bool:
        """Upstream ``IsStorageUriSupported``: a prefix or (Go RE2, unanchored) regex matches.
        Raises ``re.error`` for an invalid regex, as upstream returns its error."""
        for fmt in self.supported_uri_formats:
            if fmt.prefix:
                if storage_uri.startswith(fmt.prefix):
                    return True
            elif fmt.regex and go_regexp(fmt.regex).search(storage_uri):
                return True
        return False


class ClusterStorageContainer(CustomResource):
    """A storage initializer container for URIs it supports."""

    __crd__ = crd(
        kind="ClusterStorageContainer", plural="clusterstoragecontainers", scope="Cluster"
    )

    spec: StorageContainerSpec | None = Field(None, alias="spec")
    """StorageContainerSpec"""
    disabled: bool | None = Field(None, alias="disabled")
    """Disable this storage container (top-level field, as upstream)."""

    def is_disabled(self) -> bool:
        """``disabled`` is set and true."""
        return bool(self.disabled)
