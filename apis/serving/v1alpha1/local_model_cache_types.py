"""``local_model_cache_types.go``: LocalModelCache (cluster-scoped)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import Field

from apis.serving.v1alpha1.groupversion import crd
from apis.serving.v1alpha1.local_model_cache_status import LocalModelCacheStatus
from apis.serving.v1alpha1.storage_uri_utils import match_storage_uri
from runtime.resource import CustomResource, KubeModel, MinItems, Quantity, XValidation

__all__ = [
    "LocalModelCache",
    "LocalModelCacheSpec",
    "LocalModelStorageSpec",
    "SourceModelUri",
    "get_storage_key",
]

SourceModelUri = Annotated[
    str, XValidation(rule="self == oldSelf", message="StorageUri is immutable")
]
"""``sourceModelUri``: immutable (CEL ``self == oldSelf``)."""


def get_storage_key(source_model_uri: str) -> str:
    """A deterministic hash of the source URI for folder naming (first 16 hex chars of its
    sha256); all models with the same URI share the same folder."""
    return hashlib.sha256(source_model_uri.encode()).hexdigest()[:16]


class LocalModelStorageSpec(KubeModel):
    """LocalModelStorageSpec defines credential and storage configuration for model download"""

    storage_key: str | None = Field(None, alias="key")
    """The Storage Key in the secret for this object."""
    parameters: dict[str, str] | None = Field(None, alias="parameters")
    """Parameters to override the default storage credentials and config."""


class LocalModelCacheSpec(KubeModel):
    """LocalModelCacheSpec"""

    source_model_uri: SourceModelUri = Field(alias="sourceModelUri")
    """Original StorageUri"""
    model_size: Quantity = Field(alias="modelSize")
    """Model size to make sure it does not exceed the disk space reserved for local models. The
    limit is defined on the NodeGroup."""
    node_groups: Annotated[list[str], MinItems(1)] = Field(alias="nodeGroups")
    """group of nodes to cache the model on."""
    service_account_name: str | None = Field(None, alias="serviceAccountName")
    """ServiceAccountName specifies the service account to use for credential lookup."""
    storage: LocalModelStorageSpec | None = Field(None, alias="storage")
    """Credential and storage configuration for the model download."""

    def match_storage_uri(self, storage_uri: str) -> bool:
        """``storage_uri`` equals ``sourceModelUri`` or is below it."""
        return match_storage_uri(self.source_model_uri, storage_uri)


class LocalModelCache(CustomResource):
    """LocalModelCache"""

    __crd__ = crd(
        kind="LocalModelCache", plural="localmodelcaches", scope="Cluster", status_subresource=True
    )

    spec: LocalModelCacheSpec | None = Field(None, alias="spec")
    """LocalModelCacheSpec"""
    status: LocalModelCacheStatus | None = Field(None, alias="status")
    """Observed state of the cache."""
