"""``local_model_node_group_status.go``."""

from __future__ import annotations

from pydantic import Field

from runtime.resource import KubeModel, Quantity

__all__ = ["LocalModelNodeGroupStatus"]


class LocalModelNodeGroupStatus(KubeModel):
    """Storage use of a node group (never written upstream)."""

    used: Quantity | None = Field(None, alias="used")
    """Used storage space on any node for this node group"""
    available: Quantity | None = Field(None, alias="available")
    """Available storage space on any node for this node group"""
