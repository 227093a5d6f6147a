"""LocalModelCache and LocalModelNamespaceCache admission: upstream
``pkg/webhook/admission/localmodelcache/localmodelcache_validator.go`` and
``localmodelnamespacecache/local_model_namespace_cache_validation.go`` (registered by the
localmodel manager at ``/validate-serving-kserve-io-v1alpha1-localmodelcache`` and
``...-localmodelnamespacecache``; CREATE, UPDATE and DELETE).

What upstream reads through its cached client comes from the manager's cache here too: the
other LocalModelCaches (unique ``sourceModelUri``), the LocalModelNodeGroups (a namespace
cache's node groups must exist) and, on DELETE, each InferenceService the cache's status
lists (refused while one still carries the cache's ``localmodel`` label; one that cannot be
read refuses the delete, as upstream). LLMInferenceServices are not served by this
project; the ones a status lists are skipped. On UPDATE, after upstream's rules, the CRD's
``sourceModelUri`` immutability rule is checked (the API server does it before validating
webhooks with the full CRDs; with the minimal CRDs only the webhook can), except for an
object being deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis.serving.v1alpha1 import LocalModelCache, LocalModelNodeGroup
from apis.serving.v1alpha1.local_model_cache_validation import (
    validate_local_model_cache,
    validate_local_model_cache_delete,
    validate_local_model_namespace_cache,
    validate_local_model_namespace_cache_delete,
    validate_source_model_uri_unchanged,
)
from apis.serving.v1beta1 import InferenceService
from runtime.client import is_not_found
from runtime.webhook import AdmissionRequest

__all__ = ["LocalModelCacheValidator", "LocalModelNamespaceCacheValidator", "consumer_labels"]

_JSON = dict[str, Any]


def _deleting(obj: _JSON) -> bool:
    meta = obj.get("metadata")
    return isinstance(meta, dict) and meta.get("deletionTimestamp") is not None


def _labels_of(obj: Any) -> dict[str, str]:
    meta = getattr(obj, "metadata", None)
    labels = getattr(meta, "labels", None) if meta is not None else None
    return dict(labels or {})


async def consumer_labels(client: Any, cache: Mapping[str, Any]) -> Any:
    """A ``(namespace, name) -> labels | None`` lookup over the InferenceServices listed in
    ``cache``'s status, read from the manager's cache first (the pure validator is
    synchronous); a read error other than NotFound is raised when the lookup reaches it."""
    status = cache.get("status") if isinstance(cache.get("status"), dict) else {}
    found: dict[tuple[str, str], dict[str, str] | Exception | None] = {}
    for ref in (status or {}).get("inferenceServices") or []:
        if not isinstance(ref, dict):
            continue
        key = (str(ref.get("namespace") or ""), str(ref.get("name") or ""))
        if key in found:
            continue
        try:
            found[key] = _labels_of(await client.get(InferenceService, key[1], key[0]))
        except Exception as err:
            found[key] = None if is_not_found(err) else err

    def lookup(namespace: str, name: str) -> Mapping[str, str] | None:
        value = found.get((namespace, name))
        if isinstance(value, Exception):
            raise value
        return value

    return lookup


class LocalModelCacheValidator:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def validate_create(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        return validate_local_model_cache(obj, await self.client.list(LocalModelCache))

    async def validate_update(self, old: _JSON, new: _JSON, req: AdmissionRequest) -> list[str]:
        warnings = validate_local_model_cache(new, await self.client.list(LocalModelCache))
        if not _deleting(new):
            validate_source_model_uri_unchanged(new, old)
        return warnings

    async def validate_delete(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        return validate_local_model_cache_delete(obj, await consumer_labels(self.client, obj))


class LocalModelNamespaceCacheValidator:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def _node_groups(self) -> set[str]:
        groups = await self.client.list(LocalModelNodeGroup)
        return {str(getattr(g.metadata, "name", "") or "") for g in groups}

    async def validate_create(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        return validate_local_model_namespace_cache(obj, await self._node_groups())

    async def validate_update(self, old: _JSON, new: _JSON, req: AdmissionRequest) -> list[str]:
        warnings = validate_local_model_namespace_cache(new, await self._node_groups())
        if not _deleting(new):
            validate_source_model_uri_unchanged(new, old)
        return warnings

    async def validate_delete(self, obj: _JSON, req: AdmissionRequest) -> list[str]:
        return validate_local_model_namespace_cache_delete(
            obj, await consumer_labels(self.client, obj)
        )
