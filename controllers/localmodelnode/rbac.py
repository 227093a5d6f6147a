"""What the LocalModelNode agent does beyond its watches (``reconcile.py``), for the generated
ClusterRole ``kserve-localmodelnode-agent-role`` (``python -m codegen``; upstream's
``+kubebuilder:rbac`` markers in ``localmodelnode/controller.go``)."""

from __future__ import annotations

from lightkube.resources.core_v1 import Node, Secret, ServiceAccount

from apis.serving.v1alpha1 import ClusterStorageContainer, LocalModelNodeGroup
from runtime.rbac import WATCH_VERBS, permission

RBAC = (
    # _launch: the download container of a ClusterStorageContainer, read through the cache
    permission(ClusterStorageContainer, *WATCH_VERBS),
    # _node_group: an entry without nodeGroup takes the first group its node belongs to
    # (the node read uncached, the groups through the cache)
    permission(Node, "get"),
    permission(LocalModelNodeGroup, *WATCH_VERBS),
    # _inject_credentials: read uncached, only when a Job is made
    permission(ServiceAccount, "get"),
    permission(Secret, "get"),
)
