"""What the InferenceService controller does beyond its watches (``controller.py``), for the
generated ClusterRole (``python -m codegen``; upstream's ``+kubebuilder:rbac`` markers).
Keep it next to the code: a new read of an unwatched kind or a new write of another kind
adds a line here, or the manager meets ``forbidden``."""

from __future__ import annotations

from lightkube.resources.core_v1 import ConfigMap, Secret, ServiceAccount

from apis.serving.v1alpha1 import ClusterStorageContainer, TrainedModel
from runtime.rbac import WATCH_VERBS, permission

RBAC = (
    # reconcile._predictor: every ClusterStorageContainer, read through the cache
    permission(ClusterStorageContainer, *WATCH_VERBS),
    # reconcile._model_config creates modelconfig-<isvc>-0; _ca_bundle applies
    # global-ca-bundle into the InferenceService's namespace (apply creates, then patches)
    permission(ConfigMap, "create", "patch"),
    # credentials.storage_credentials: the components' ServiceAccounts and their Secrets,
    # read through the cache, for the storageUris storage-initializer
    permission(ServiceAccount, *WATCH_VERBS),
    permission(Secret, *WATCH_VERBS),
    # reconcile._finalize: the InferenceService's TrainedModels, listed from the cache, deleted
    permission(TrainedModel, *WATCH_VERBS, "delete"),
)
