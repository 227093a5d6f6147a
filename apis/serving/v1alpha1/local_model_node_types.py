"""``local_model_node_types.go``: LocalModelNode (cluster-scoped, one per node)."""

from __future__ import annotations

from pydantic import Field

from apis.serving.v1alpha1.groupversion import crd
from apis.serving.v1alpha1.local_model_cache_types import LocalModelStorageSpec
from apis.serving.v1alpha1.local_model_node_status import LocalModelNodeStatus
from runtime.resource import CustomResource, KubeModel

__all__ = ["LocalModelInfo", "LocalModelNode", "LocalModelNodeSpec"]


class LocalModelInfo(KubeModel):
    """One model a node should hold."""

    source_model_uri: str = Field(alias="sourceModelUri")
    """Original StorageUri"""
    model_name: str = Field(alias="modelName")
    """Model name. Used as the subdirectory name to store this model on local file system"""
    namespace: str | None = Field(None, alias="namespace")
    """Namespace of the LocalModelNamespaceCache CR (empty for cluster-scoped LocalModelCache)"""
    node_group: str | None = Field(None, alias="nodeGroup")
    """NodeGroup specifies which LocalModelNodeGroup this model belongs to. Used by the agent
    to construct the correct PVC name when multiple nodegroups have overlapping node
    affinity."""
    service_account_name: str | None = Field(None, alias="serviceAccountName")
    """ServiceAccountName specifies the service account to use for credential lookup."""
    storage: LocalModelStorageSpec | None = Field(None, alias="storage")
    """Credential and storage configuration for the download."""

    def get_status_key(self) -> str:
        """Key in ``status.modelStatus``: ``<modelName>``, or ``<namespace>/<modelName>`` for a
        LocalModelNamespaceCache."""
        if not self.namespace:
            return self.model_name
        return f"{self.namespace}/{self.model_name}"


class LocalModelNodeSpec(KubeModel):
    """Models of one node."""

    local_models: list[LocalModelInfo] = Field(alias="localModels")
    """List of model source URI and their names"""


class LocalModelNode(CustomResource):
    """The models one node should cache, and their download status."""

    __crd__ = crd(
        kind="LocalModelNode", plural="localmodelnodes", scope="Cluster", status_subresource=True
    )

    spec: LocalModelNodeSpec | None = Field(None, alias="spec")
    """LocalModelNodeSpec"""
    status: LocalModelNodeStatus | None = Field(None, alias="status")
    """LocalModelNodeStatus"""
