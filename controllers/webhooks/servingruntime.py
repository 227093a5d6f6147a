"""ServingRuntime and ClusterServingRuntime admission: upstream
``pkg/webhook/admission/servingruntime/servingruntime_webhook.go`` (registered at
``/validate-serving-kserve-io-v1alpha1-servingruntime`` and ``...-clusterservingruntime``).

The other runtimes (the namespace's ServingRuntimes, or every ClusterServingRuntime) come from
the manager's cache, as upstream's cached client lists them. On UPDATE the request's
``oldObject`` stands in for this runtime's cached copy (the cache may lag behind; the old
object is what the API server holds), which is how removing ``workerSpec`` is detected.
Upstream registers the ClusterServingRuntime path only when its CRD is installed; here it is
always registered: without the CRD the API server never calls it.
"""

from __future__ import annotations

from typing import Any

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1alpha1.servingruntime_validation import (
    validate_cluster_serving_runtime,
    validate_serving_runtime,
)
from controllers.config import ConfigSource, ConfigUnavailableError
from controllers.reconcilers.multinode import gpu_resource_types
from runtime.webhook import AdmissionRequest

__all__ = ["ClusterServingRuntimeValidator", "ServingRuntimeValidator"]

_JSON = dict[str, Any]


def _name(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "metadata", None)
    if isinstance(meta, dict):
        return str(meta.get("name") or "")
    return str(getattr(meta, "name", "") or "")


class ServingRuntimeValidator:
    """Validates ServingRuntimes (``cluster=False``) or ClusterServingRuntimes."""

    def __init__(self, client: Any, config: ConfigSource | None = None, *,
                 cluster: bool = False) -> None:
        self.client = client
        self.config = config
        self.cluster = cluster

    async def _gpu_types(self) -> list[str]:
        cfg = None
        if self.config is not None:
            try:
                cfg = await self.config.get()
            except ConfigUnavailableError:
                cfg = None
        return gpu_resource_types(cfg.multi_node if cfg is not None else None)

    async def _validate(self, obj: _JSON, req: AdmissionRequest, old: _JSON | None) -> list[str]:
        if self.cluster:
            others: list[Any] = await self.client.list(ClusterServingRuntime)
        else:
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            namespace = (meta or {}).get("namespace") or req.namespace
            others = await self.client.list(ServingRuntime, namespace=namespace)
        if old is not None:
            name = _name(obj)
            others = [o for o in others if _name(o) != name] + [old]
        types = await self._gpu_types()
        check = validate_cluster_serving_runtime if self.cluster else validate_serving_runtime
        return check(obj, others, gpu_resource_types=types)

    async def validate_create(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        return await self._validate(obj, req, None)

    async def validate_update(self, old: _JSON, new: _JSON, req: AdmissionRequest) -> list[str]:
        return await self._validate(new, req, old)


def ClusterServingRuntimeValidator(client: Any, config: ConfigSource | None = None) -> (
    ServingRuntimeValidator
):
    """The ClusterServingRuntime validator (upstream's type name)."""
    return ServingRuntimeValidator(client, config, cluster=True)
