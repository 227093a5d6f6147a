"""What the InferenceGraph controller does beyond its watches (``controller.py``), for the
generated ClusterRole (``python -m codegen``). Keep it next to the code."""

from __future__ import annotations

from lightkube.resources.core_v1 import Namespace

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from runtime.rbac import WATCH_VERBS, permission

RBAC = (
    # _runtime_protocols: the runtimes its InferenceServices name, read through the cache
    permission(ServingRuntime, *WATCH_VERBS),
    permission(ClusterServingRuntime, *WATCH_VERBS),
    # _namespace_terminating: the graph's Namespace, read through the cache
    permission(Namespace, *WATCH_VERBS),
)
