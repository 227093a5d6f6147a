"""What the TrainedModel controller does beyond its watches (``controller.py``), for the
generated ClusterRole (``python -m codegen``). Keep it next to the code."""

from __future__ import annotations

from lightkube.resources.core_v1 import ConfigMap, Namespace

from apis.serving.v1alpha1 import TrainedModel
from runtime.rbac import WATCH_VERBS, permission

RBAC = (
    # _namespace_terminating: the model's Namespace, read through the cache
    permission(Namespace, *WATCH_VERBS),
    # _write_model_config: models.json in modelconfig-<isvc>-0
    permission(ConfigMap, "patch"),
    # a TrainedModel whose InferenceService is gone is deleted (as upstream)
    permission(TrainedModel, "delete"),
)
