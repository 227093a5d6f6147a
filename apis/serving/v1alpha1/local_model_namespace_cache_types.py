"""``local_model_namespace_cache_types.go``: LocalModelNamespaceCache (namespaced)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apis.serving import GROUP
from apis.serving.v1alpha1.local_model_cache_status import LocalModelCacheStatus
from apis.serving.v1alpha1.local_model_cache_types import LocalModelStorageSpec, SourceModelUri
from apis.serving.v1alpha1.storage_uri_utils import match_storage_uri
from runtime.resource import CRD, CustomResource, KubeModel, MinItems, Quantity

__all__ = ["LocalModelNamespaceCache", "LocalModelNamespaceCacheSpec"]


class LocalModelNamespaceCacheSpec(KubeModel):
    """LocalModelNamespaceCacheSpec defines the spec for namespace-scoped local model cache"""

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


class LocalModelNamespaceCache(CustomResource):
    """LocalModelNamespaceCache is a namespace-scoped version of LocalModelCache. It allows
    InferenceServices only in the same namespace to use the cached model."""

    __crd__ = CRD(
        group=GROUP,
        version="v1alpha1",
        kind="LocalModelNamespaceCache",
        plural="localmodelnamespacecaches",
        scope="Namespaced",
        status_subresource=True,
    )

    spec: LocalModelNamespaceCacheSpec | None = Field(None, alias="spec")
    """LocalModelNamespaceCacheSpec"""
    status: LocalModelCacheStatus | None = Field(None, alias="status")
    """Observed state of the cache."""
