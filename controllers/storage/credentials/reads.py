"""The reads a :class:`~controllers.storage.credentials.CredentialBuilder` is built over.

Upstream's builder GETs ServiceAccounts and Secrets while it builds; ours is pure, so the
caller reads them first, from the manager's cache, with these helpers: the pod mutator
(``controllers.webhooks.pod.build_context``) and the InferenceService controller
(``controllers.inferenceservice.credentials``). A NotFound is recorded as absence (the
builder then behaves as upstream does on NotFound); other read errors propagate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from controllers.storage.utils import JsonDict, to_json
from runtime.client import ignore_not_found

__all__ = ["Reader", "get_or_none", "read_objects", "secret_names"]


class Reader(Protocol):
    """What the reads need of a client (``runtime.client.Client`` reads from the cache)."""

    async def get(self, resource: Any, name: str, namespace: str | None = None) -> Any: ...

    async def list(self, resource: Any, namespace: str | None = None) -> list[Any]: ...


async def get_or_none(reader: Reader, resource: Any, name: str, namespace: str) -> Any | None:
    """``reader.get``, None on NotFound."""
    return await ignore_not_found(reader.get(resource, name, namespace))


async def read_objects(
    reader: Reader, resource: Any, namespace: str, names: Iterable[str]
) -> dict[str, JsonDict]:
    """The ``resource`` objects (ServiceAccounts, Secrets) called ``names`` that exist in
    ``namespace``, by name, as JSON."""
    out: dict[str, JsonDict] = {}
    for name in dict.fromkeys(names):
        obj = await get_or_none(reader, resource, name, namespace)
        if obj is not None:
            out[name] = to_json(obj)
    return out


def secret_names(
    storage_secret_annotation: str,
    annotations: Mapping[str, str],
    service_accounts: Iterable[JsonDict],
) -> list[str]:
    """The Secrets ``CreateSecretVolumeAndEnv`` mounts: the one the storage-secret annotation
    (``storage_secret_annotation``, the config's key) names, else every Secret the
    ServiceAccounts list."""
    if storage_secret_annotation and storage_secret_annotation in annotations:
        return [annotations[storage_secret_annotation]]
    names: list[str] = []
    for sa in service_accounts:
        for ref in sa.get("secrets") or []:
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                names.append(ref["name"])
    return names
