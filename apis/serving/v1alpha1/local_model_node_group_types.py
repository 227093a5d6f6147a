"""``local_model_node_group_types.go``: LocalModelNodeGroup (cluster-scoped)."""

from __future__ import annotations

from typing import Annotated

from lightkube.models import core_v1
from pydantic import Field

from apis.serving.v1alpha1.groupversion import crd
from apis.serving.v1alpha1.local_model_node_group_status import LocalModelNodeGroupStatus
from runtime.resource import CustomResource, K8sType, KubeModel, Quantity

__all__ = ["LocalModelNodeGroup", "LocalModelNodeGroupSpec"]

PersistentVolumeSpec = Annotated[core_v1.PersistentVolumeSpec, K8sType()]
PersistentVolumeClaimSpec = Annotated[core_v1.PersistentVolumeClaimSpec, K8sType()]


class LocalModelNodeGroupSpec(KubeModel):
    """LocalModelNodeGroupSpec defines a group of nodes for to download the model to."""

    storage_limit: Quantity = Field(alias="storageLimit")
    """Max storage size per node in this node group"""
    persistent_volume_spec: PersistentVolumeSpec = Field(alias="persistentVolumeSpec")
    """Used to create PersistentVolumes for downloading models and in inference service
    namespaces"""
    persistent_volume_claim_spec: PersistentVolumeClaimSpec = Field(
        alias="persistentVolumeClaimSpec"
    )
    """Used to create PersistentVolumeClaims for download and in inference service namespaces"""


class LocalModelNodeGroup(CustomResource):
    """A group of nodes that cache models on local storage."""

    __crd__ = crd(kind="LocalModelNodeGroup", plural="localmodelnodegroups", scope="Cluster")

    spec: LocalModelNodeGroupSpec | None = Field(None, alias="spec")
    """LocalModelNodeGroupSpec"""
    status: LocalModelNodeGroupStatus | None = Field(None, alias="status")
    """Storage use (unused upstream)."""
