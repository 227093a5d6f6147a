"""Watch events as handlers and predicates see them (controller-runtime's ``pkg/event``).

Also the small, shape-agnostic accessors for object metadata used by predicates and handlers:
objects may be lightkube models (msgspec Structs, camelCase attributes such as
``metadata.resourceVersion``),
Pydantic models (snake_case attributes, camelCase aliases) or plain dicts from the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CreateEvent",
    "DeleteEvent",
    "GenericEvent",
    "OwnerRef",
    "UpdateEvent",
    "meta_annotations",
    "meta_generation",
    "meta_labels",
    "meta_name",
    "meta_namespace",
    "meta_owner_references",
    "meta_resource_version",
    "meta_uid",
]


@dataclass(frozen=True, slots=True)
class CreateEvent:
    """An object appeared: a watch ADDED event, or an item of the informer's initial list
    (``is_in_initial_list=True``; controller-runtime enqueues those at low priority)."""

    object: Any
    is_in_initial_list: bool = False


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    """An object changed. A periodic resync delivers ``object_old is object_new`` (same
    resourceVersion); ``ResourceVersionChangedPredicate`` filters those."""

    object_old: Any
    object_new: Any


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """An object was deleted. ``delete_state_unknown`` is set when the deletion was inferred
    from a relist (the object is the last state we saw, not the final one)."""

    object: Any
    delete_state_unknown: bool = False


@dataclass(frozen=True, slots=True)
class GenericEvent:
    """An event from outside the cluster (a channel source, a timer)."""

    object: Any


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """The parts of ``metadata.ownerReferences[]`` the handlers need."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool


# --------------------------------------------------------------------------- metadata access


def _get(obj: Any, *names: str) -> Any:
    """First present attribute / key among ``names`` (camelCase and snake_case spellings)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        for n in names:
            if n in obj:
                return obj[n]
        return None
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return None


def _metadata(obj: Any) -> Any:
    return _get(obj, "metadata")


def meta_name(obj: Any) -> str:
    return str(_get(_metadata(obj), "name") or "")


def meta_namespace(obj: Any) -> str:
    return str(_get(_metadata(obj), "namespace") or "")


def meta_uid(obj: Any) -> str:
    return str(_get(_metadata(obj), "uid") or "")


def meta_generation(obj: Any) -> int | None:
    g = _get(_metadata(obj), "generation")
    return int(g) if g is not None else None


def meta_resource_version(obj: Any) -> str:
    return str(_get(_metadata(obj), "resourceVersion", "resource_version") or "")


def meta_labels(obj: Any) -> Mapping[str, str]:
    v = _get(_metadata(obj), "labels")
    return v if isinstance(v, Mapping) else {}


def meta_annotations(obj: Any) -> Mapping[str, str]:
    v = _get(_metadata(obj), "annotations")
    return v if isinstance(v, Mapping) else {}


def meta_owner_references(obj: Any) -> list[OwnerRef]:
    refs = _get(_metadata(obj), "ownerReferences", "owner_references") or []
    out: list[OwnerRef] = []
    for r in refs:
        out.append(
            OwnerRef(
                api_version=str(_get(r, "apiVersion", "api_version") or ""),
                kind=str(_get(r, "kind") or ""),
                name=str(_get(r, "name") or ""),
                uid=str(_get(r, "uid") or ""),
                controller=bool(_get(r, "controller")),
            )
        )
    return out
