"""``local_model_namespace_cache_types.go``: LocalModelNamespaceCache (namespaced). Its spec
and status are LocalModelCache's (``LocalModelCacheSpec``, ``LocalModelCacheStatus``), as
upstream."""

from __future__ import annotations

from pydantic import Field

from apis.serving.v1alpha1.groupversion import crd
from apis.serving.v1alpha1.local_model_cache_status import LocalModelCacheStatus
from apis.serving.v1alpha1.local_model_cache_types import LocalModelCacheSpec
from runtime.resource import CustomResource

__all__ = ["LocalModelNamespaceCache"]


class LocalModelNamespaceCache(CustomResource):
    """LocalModelNamespaceCache is a namespace-scoped version of LocalModelCache. It allows
    InferenceServices only in the same namespace to use the cached model."""

    __crd__ = crd(
        kind="LocalModelNamespaceCache",
        plural="localmodelnamespacecaches",
        scope="Namespaced",
        status_subresource=True,
    )

    spec: LocalModelCacheSpec | None = Field(None, alias="spec")
    """LocalModelCacheSpec"""
    status: LocalModelCacheStatus | None = Field(None, alias="status")
    """Observed state of the cache."""
