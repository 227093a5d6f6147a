"""Read-your-writes for objects a controller wrote itself.

The informer delivers a controller's own writes a little later than the write returns; a
reconcile that starts in between (woken by another object's event) works from the older
cached object, and may write the same status twice or patch a finalizer that is already
there. :class:`WrittenObjects` keeps the object each write returned until the cache has
caught up with it, and :meth:`WrittenObjects.freshest` hands out whichever is newer.

resourceVersions are opaque by contract; they are compared here as numbers because they
are etcd revisions in every API server this runs against. Anything that is not a number
falls back to the cached object, which is what controller-runtime always uses.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["WrittenObjects"]


class WrittenObjects:
    """The objects this process wrote last, by namespace and name, until the cache has them
    (see the module doc). Typed objects with ``metadata``; not thread-safe (one event
    loop)."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], Any] = {}

    def remember(self, obj: Any) -> None:
        meta = obj.metadata
        self._objects[(meta.namespace, meta.name)] = obj

    def forget(self, namespace: str, name: str) -> None:
        self._objects.pop((namespace, name), None)

    def freshest(self, cached: Any) -> Any:
        """``cached``, or the object we wrote last if it is newer (a copy)."""
        if cached is None:
            return None
        key = (cached.metadata.namespace, cached.metadata.name)
        mine = self._objects.get(key)
        if mine is None:
            return cached
        try:
            newer = (mine.metadata.uid == cached.metadata.uid
                     and int(mine.metadata.resourceVersion) > int(cached.metadata.resourceVersion))
        except (TypeError, ValueError):
            newer = False
        if not newer:
            del self._objects[key]  # the cache has caught up
            return cached
        model_copy = getattr(mine, "model_copy", None)  # Pydantic custom resources
        return model_copy(deep=True) if model_copy is not None else copy.deepcopy(mine)
