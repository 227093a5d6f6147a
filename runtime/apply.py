"""Compare, then apply: write desired state only when the stored object differs.

Server-side apply is idempotent, but every apply is still a request (and a write to etcd when
anything changed, e.g. a timestamp a webhook sets). A controller that applies every child on
every reconcile pays one request per child per reconcile; upstream KServe pays a dry-run PUT and
a diff. :class:`Applier` instead compares the desired object with the cached one on the fields
the controller sets (:func:`contains`) and applies only on a difference:

- server defaults are not differences: a field the desired object leaves unset may hold
  anything, and a desired zero value (``False``, ``0``, ``""``, ``{}``, ``[]``) matches an
  absent field (Go's ``omitempty`` drops them);
- quantities compare by value in resource maps (``limits``/``requests``), since the API server
  canonicalises them (``"1000m"`` is stored as ``"1"``);
- lists compare element by element and must have the same length, so an element the
  controller stopped setting (an env var, a port) is a difference;
- a map key the controller stopped setting (a label) cannot be told from a key another
  manager set, so the applier also remembers a digest of what it last applied per object: a
  changed desired object is applied even when it is "contained" in the stored one. After a
  restart the memory is empty and containment alone decides, so a restart over unchanged
  objects costs no write.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import msgspec

from runtime.quantity import quantities_equal

__all__ = ["Applier", "contains", "first_difference"]

log = logging.getLogger(__name__)

#: Keys whose values are maps of quantities (ResourceRequirements, ResourceQuota, ...).
_QUANTITY_MAPS = frozenset({"limits", "requests", "capacity", "allocatable", "hard"})
#: Keys whose own value is a quantity.
_QUANTITY_KEYS = frozenset({"sizeLimit", "averageValue"})


def _is_zero(v: Any) -> bool:
    return v is None or v is False or v == 0 or v == "" or v == {} or v == []


def contains(desired: Any, live: Any, *, _key: str = "", _parent: str = "") -> bool:
    """Whether ``live`` already holds every field ``desired`` sets, with the same value
    (JSON-like values: dicts, lists, scalars)."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return _is_zero(desired) and live is None
        for k, v in desired.items():
            if v is None:
                continue
            if k not in live:
                if not _is_zero(v):
                    return False
                continue
            if not contains(v, live[k], _key=k, _parent=_key):
                return False
        return True
    if isinstance(desired, list):
        if live is None:
            return not desired
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(d, lv, _key=_key, _parent=_parent) for d, lv in zip(desired, live,
                                                                                  strict=True))
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return False
    if (_parent in _QUANTITY_MAPS or _key in _QUANTITY_KEYS) and quantities_equal(desired, live):
        return True
    # JSON has one number type: 1 and 1.0 are the same value
    return (
        isinstance(desired, int | float)
        and isinstance(live, int | float)
        and float(desired) == float(live)
    )


def first_difference(desired: Any, live: Any, path: str = "") -> str | None:
    """The path of the first field where ``live`` does not hold ``desired`` (for logs), or
    None when it holds it."""
    if contains(desired, live):
        return None
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        for k, v in desired.items():
            if v is not None and not contains({k: v}, live):
                return first_difference(v, live.get(k), f"{path}.{k}") or f"{path}.{k}"
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        for i, (d, lv) in enumerate(zip(desired, live, strict=True)):
            if not contains(d, lv):
                return first_difference(d, lv, f"{path}[{i}]") or f"{path}[{i}]"
    return path or "."


def _digest(body: Mapping[str, Any]) -> bytes:
    return hashlib.blake2b(msgspec.json.encode(body, order="sorted"), digest_size=16).digest()


def _key(body: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = body.get("metadata") or {}
    return (
        str(body.get("apiVersion", "")),
        str(body.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


class Applier:
    """Applies desired objects through ``client.apply`` only when the stored object differs.

    ``client`` is a :class:`runtime.client.Client` (or anything with ``apply``).
    ``needs_apply`` and ``apply`` take the desired object as a dict (``apiVersion``, ``kind``,
    ``metadata.name``/``namespace``) or a typed object; the live object is a dict, a typed
    object or ``None`` (absent).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._applied: dict[tuple[str, str, str, str], bytes] = {}

    def needs_apply(self, desired: Any, live: Any) -> bool:
        body = _as_dict(desired)
        if live is None:
            return True
        if self._applied.get(_key(body), None) not in (None, _digest(body)):
            return True
        # list items from the API carry no apiVersion/kind: compare the rest
        fields = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
        return not contains(fields, _as_dict(live))

    async def apply(self, desired: Any, live: Any) -> bool:
        """Apply ``desired`` if ``live`` differs from it; True if a request was made."""
        body = _as_dict(desired)
        if not self.needs_apply(body, live):
            self._applied[_key(body)] = _digest(body)
            return False
        await self.client.apply(body)
        self._applied[_key(body)] = _digest(body)
        return True

    def forget(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        """Drop the memory of an object (call after deleting it)."""
        self._applied.pop((api_version, kind, namespace or "", name), None)

    async def ensure(self, desired: Any) -> tuple[Any, bool]:
        """Make the stored object hold ``desired`` (a typed object: a lightkube model, a generic
        resource or a custom resource). The stored object is read through ``client.get`` (the
        cache). Returns the object as stored after the call (the apply's answer if one was
        sent, else the cached one) and whether a request was made."""
        body = _as_dict(desired)
        meta = body.get("metadata") or {}
        live = await _get_or_none(self.client, type(desired), meta.get("name"),
                                  meta.get("namespace"))
        if not self.needs_apply(body, live):
            self._applied[_key(body)] = _digest(body)
            return live, False
        if log.isEnabledFor(logging.DEBUG):
            why = "absent" if live is None else (
                first_difference({k: v for k, v in body.items() if k not in ("apiVersion", "kind")},
                                 _as_dict(live)) or "changed since the last apply")
            log.debug("apply %s/%s %s: %s", body.get("kind"), meta.get("namespace"),
                      meta.get("name"), why)
        result = await self.client.apply(desired)
        self._applied[_key(body)] = _digest(body)
        return result, True

    async def delete(self, resource: Any, name: str, namespace: str | None,
                     *, owner_uid: str | None = None) -> bool:
        """Delete the object if the cache has it (and, with ``owner_uid``, only if that owner
        controls it); True if a request was made. An absent object costs nothing."""
        live = await _get_or_none(self.client, resource, name, namespace)
        if live is None:
            return False
        meta = _as_dict(live).get("metadata") or {}
        if owner_uid is not None and not any(
            ref.get("uid") == owner_uid and ref.get("controller")
            for ref in meta.get("ownerReferences") or ()
        ):
            return False
        from runtime.client import is_not_found

        try:
            await self.client.delete(resource, name, namespace)
        except Exception as e:
            if not is_not_found(e):
                raise
        body = _as_dict(live)
        self.forget(str(body.get("apiVersion", "")), str(body.get("kind", "")),
                    namespace or "", name)
        return True


async def _get_or_none(client: Any, resource: Any, name: str | None,
                       namespace: str | None) -> Any:
    from runtime.client import ignore_not_found

    return await ignore_not_found(client.get(resource, name, namespace))


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None or isinstance(obj, dict):
        return obj  # type: ignore[return-value]
    from runtime.codec import object_to_dict

    return object_to_dict(obj)
