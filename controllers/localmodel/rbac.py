"""What the LocalModel controllers do beyond their watches (``reconcile.py``, ``nodes.py``),
for the generated ClusterRole ``kserve-localmodel-manager-role`` (``python -m codegen``;
upstream's ``+kubebuilder:rbac`` markers in ``localmodel/controller.go``)."""

from __future__ import annotations

from lightkube.resources.core_v1 import PersistentVolume

from apis.serving.v1alpha1 import LocalModelNode
from runtime.rbac import permission

RBAC = (
    # nodes.NodeModelsReconciler: server-side apply creates a node's LocalModelNode
    permission(LocalModelNode, "create"),
    # reconcile._delete: a namespace cache's PersistentVolumes (which it cannot own) are
    # created and deleted by name (watched through the cluster caches' owns())
    permission(PersistentVolume, "create", "delete"),
)
