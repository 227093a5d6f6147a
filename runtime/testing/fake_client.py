"""A fake client for reconciler unit tests (controller-runtime's ``pkg/client/fake``).

:class:`FakeClient` has the surface of :class:`runtime.client.Client` (``get``, ``list``,
``create``, ``update``, ``update_status``, ``patch``, ``patch_status``, ``apply``,
``apply_status``, ``delete``) over an in-memory object tracker, so a reconciler can be
unit-tested without processes::

    client = FakeClient(ConfigMap(metadata=ObjectMeta(name="a", namespace="ns")))
    await MyReconciler(client).reconcile(Request("ns", "a"))
    assert client.count("apply") == 1

What it does as the apiserver does, because reconcilers depend on it:

* ``metadata.resourceVersion`` bumps on every change and not on a no-op write;
  ``generation`` bumps when anything outside metadata and status changes; ``uid`` and
  ``creationTimestamp`` are set on create; ``generateName`` is honoured;
* errors are lightkube ``ApiError`` with the apiserver's ``Status`` (code, reason, message,
  details): 404 NotFound, 409 AlreadyExists, 409 Conflict on a stale ``resourceVersion`` or a
  failed precondition, so :func:`runtime.client.is_not_found` and friends work on them;
* every type has a status subresource: writes to the object keep the stored status,
  ``*_status`` writes change only the status;
* delete of an object with finalizers sets ``deletionTimestamp``; removing the last finalizer
  then removes it;
* server-side apply tracks which field manager set which field: fields a manager applied
  before and omits now are removed, and an apply changing a field another manager set is a
  409 Conflict unless ``force`` (the client's default);
* label selectors (string or mapping form) and exact-match field selectors in ``list``.

Simplifications (enough for unit tests, not for testing the apiserver): strategic-merge
patches are applied as JSON merge patches; lists are atomic in apply (SSA merges keyed lists
such as ``containers`` by key); no garbage collection, admission, defaulting or validation.

Every call is logged in :attr:`FakeClient.requests` (count them with :meth:`FakeClient.count`)
and then passed to the optional ``intercept`` coroutine, which may sleep (latency) or raise
(an injected error), as c-r's ``interceptor.Funcs`` do.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from lightkube.core.exceptions import ApiError
from lightkube.models import meta_v1
from lightkube.types import PatchType

from runtime.client import _dict_type, _name_ns, _status_apply_body, _type_for
from runtime.codec import PartialObjectMetadata, decode_object, object_to_dict
from runtime.restmapper import ResourceInfo, resource_info
from runtime.selector import LabelSelector, match_labels
from runtime.selector import requirements as _requirements
from runtime.testing.patch import (
    SERVER_METADATA,
    Path,
    del_path,
    json_patch,
    leaves,
    merge_patch,
    set_path,
)

__all__ = ["FakeClient", "Intercept", "Request"]

T = TypeVar("T")

_Key = tuple[str, str, str, str]  # group, kind, namespace ("" if cluster-scoped), name

@dataclass(frozen=True, slots=True)
class Request:
    """One call made to the fake: ``verb`` is get, list, create, update, patch, apply or
    delete; ``subresource`` is "status" for the ``*_status`` calls."""

    verb: str
    kind: str
    namespace: str | None
    name: str | None
    subresource: str = ""


Intercept = Callable[[Request], Awaitable[None]]


# --------------------------------------------------------------------------- errors


def _resource_name(info: ResourceInfo) -> str:
    return f"{info.plural}.{info.group}" if info.group else info.plural


def _error(code: int, reason: str, message: str, info: ResourceInfo, name: str) -> ApiError:
    """An ``ApiError`` shaped as lightkube builds it from the apiserver's ``Status`` body."""
    status = meta_v1.Status(
        apiVersion="v1", kind="Status", status="Failure", code=code, reason=reason,
        message=message,
        details=meta_v1.StatusDetails(name=name, group=info.group or None, kind=info.plural),
    )
    return ApiError(status=status)


def _not_found(info: ResourceInfo, name: str) -> ApiError:
    return _error(404, "NotFound", f'{_resource_name(info)} "{name}" not found', info, name)


def _conflict(info: ResourceInfo, name: str, why: str) -> ApiError:
    return _error(409, "Conflict",
                  f'Operation cannot be fulfilled on {_resource_name(info)} "{name}": {why}',
                  info, name)


_STALE = ("the object has been modified; please apply your changes to the latest version "
          "and try again")


# --------------------------------------------------------------------------- helpers


def _field_value(obj: Mapping[str, Any], dotted: str) -> str | None:
    cur: Any = obj
    for p in dotted.split("."):
        if not isinstance(cur, Mapping) or p not in cur:
            return None
        cur = cur[p]
    return None if cur is None else str(cur).lower() if isinstance(cur, bool) else str(cur)


def _field_requirements(fields: Any) -> list[tuple[str, bool, str]]:
    """(path, equal?, value) from a mapping (exact matches) or a ``a=b,c!=d`` string."""
    if fields is None:
        return []
    if isinstance(fields, Mapping):
        return [(str(k), True, str(v)) for k, v in fields.items()]
    out: list[tuple[str, bool, str]] = []
    for term in str(fields).split(","):
        if not term.strip():
            continue
        if "!=" in term:
            k, v = term.split("!=", 1)
            out.append((k.strip(), False, v.strip()))
        else:
            k, v = term.replace("==", "=").split("=", 1)
            out.append((k.strip(), True, v.strip()))
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What ``generation`` tracks: everything but metadata and status."""
    return {k: v for k, v in obj.items()
            if k not in ("metadata", "status", "apiVersion", "kind")}


def _info_of(obj: Any) -> ResourceInfo:
    """An object's type, as :class:`runtime.client.Client` resolves it (a dict through
    lightkube's registry; an unknown kind is refused there, so it is here)."""
    return resource_info(_dict_type(obj) if isinstance(obj, dict) else type(obj))


# --------------------------------------------------------------------------- the client


class FakeClient:
    """An in-memory :class:`runtime.client.Client` for unit tests (see the module doc).

    ``objects`` are stored as they are given (no request is logged for them);
    ``field_manager`` is the default manager of writes; ``intercept`` is awaited with each
    :class:`Request` before it is served."""

    cache: None = None

    def __init__(
        self,
        *objects: Any,
        field_manager: str = "manager",
        intercept: Intercept | None = None,
    ) -> None:
        self.field_manager = field_manager
        self.intercept = intercept
        self.requests: list[Request] = []
        #: uncached reads go to the same tracker (c-r's fake has no cache either)
        self.api_reader = self
        self._objects: dict[_Key, dict[str, Any]] = {}
        self._owners: dict[_Key, dict[Path, set[str]]] = {}
        self._rv = 0
        for obj in objects:
            self.add(obj)

    # ------------------------------------------------------------- tracker

    def add(self, obj: Any) -> None:
        """Store ``obj`` as the initial state (uid, resourceVersion set if missing)."""
        info = _info_of(obj)
        body = self._body(obj, info)
        key = self._key(info, body)
        meta = body["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._next_rv()
        self._objects[key] = body

    def objects(self, resource: Any) -> list[dict[str, Any]]:
        """Copies of every stored object of a type, as JSON dicts (for assertions)."""
        info = resource_info(resource)
        return [copy.deepcopy(o) for k, o in sorted(self._objects.items())
                if k[:2] == (info.group, info.kind)]

    def all_objects(self) -> list[dict[str, Any]]:
        """Copies of every stored object, as JSON dicts, by group, kind, namespace, name."""
        return [copy.deepcopy(o) for _, o in sorted(self._objects.items())]

    def count(self, verb: str | None = None, *, kind: str | None = None,
              subresource: str | None = None) -> int:
        """How many logged requests match (``None`` matches anything)."""
        return sum(1 for r in self.requests
                   if (verb is None or r.verb == verb) and (kind is None or r.kind == kind)
                   and (subresource is None or r.subresource == subresource))

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    @staticmethod
    def _body(obj: Any, info: ResourceInfo) -> dict[str, Any]:
        body = copy.deepcopy(object_to_dict(obj))
        body["apiVersion"], body["kind"] = info.api_version, info.kind
        if not isinstance(body.get("metadata"), dict):
            body["metadata"] = {}
        return body

    @staticmethod
    def _key(info: ResourceInfo, body: Mapping[str, Any]) -> _Key:
        name, ns = _name_ns(body, info)
        return info.group, info.kind, ns or "", name

    async def _log(self, verb: str, info: ResourceInfo, namespace: str | None,
                   name: str | None, subresource: str = "") -> None:
        req = Request(verb, info.kind, namespace or None, name, subresource)
        self.requests.append(req)
        if self.intercept is not None:
            await self.intercept(req)

    @staticmethod
    def _out(tp: Any, body: Mapping[str, Any], info: ResourceInfo,
             metadata_only: bool = False) -> Any:
        if metadata_only:
            pom = msgspec.convert({"metadata": body.get("metadata") or {}},
                                  PartialObjectMetadata)
            pom.apiVersion, pom.kind = info.api_version, info.kind
            return pom
        d = copy.deepcopy(dict(body))
        d["apiVersion"], d["kind"] = info.api_version, info.kind
        return decode_object(tp, msgspec.json.encode(d))

    def _stored(self, info: ResourceInfo, key: _Key) -> dict[str, Any]:
        obj = self._objects.get(key)
        if obj is None:
            raise _not_found(info, key[3])
        return obj

    def _commit(self, info: ResourceInfo, key: _Key, new: dict[str, Any], manager: str,
                *, dry_run: bool, track: bool = True) -> dict[str, Any]:
        """Store ``new`` in place of the stored object: the server's metadata is kept, the
        counters bumped if something changed, ownership of changed fields given to
        ``manager`` (``track``), the object removed if it is deleting without finalizers."""
        old = self._objects[key]
        new_meta = _meta(new)
        for f in SERVER_METADATA:
            new_meta.pop(f, None)
            if f in old["metadata"]:
                new_meta[f] = old["metadata"][f]
        new["metadata"] = new_meta
        if new == old:
            return old  # a no-op write: no new resourceVersion (as the apiserver)
        if _spec_part(new) != _spec_part(old):
            new_meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if dry_run:
            return new
        new_meta["resourceVersion"] = self._next_rv()
        if track:
            owners = self._owners.setdefault(key, {})
            before, after = leaves(old), leaves(new)
            for p in before.keys() - after.keys():
                owners.pop(p, None)
            for p, v in after.items():
                if p not in before or before[p] != v:
                    owners[p] = {manager}
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            del self._objects[key]
            self._owners.pop(key, None)
        else:
            self._objects[key] = new
        return new

    # ------------------------------------------------------------- reads

    async def get(self, resource: Any, name: str, namespace: str | None = None, *,
                  metadata_only: bool = False) -> Any:
        info = resource_info(resource)
        info.object_path(name, namespace)  # a namespaced type without namespace: ValueError
        await self._log("get", info, namespace, name)
        key = (info.group, info.kind, (namespace or "") if info.namespaced else "", name)
        return self._out(_type_for(resource), self._stored(info, key), info, metadata_only)

    async def list(self, resource: Any, namespace: str | None = None, *,
                   labels: LabelSelector | None = None, fields: Any = None,
                   metadata_only: bool = False) -> list[Any]:
        """Matching objects sorted by namespace and name (the apiserver's order)."""
        info = resource_info(resource)
        await self._log("list", info, namespace, None)
        reqs = _requirements(labels) if labels else []
        freqs = _field_requirements(fields)
        out: list[Any] = []
        for (group, kind, ns, _name), obj in sorted(self._objects.items()):
            if (group, kind) != (info.group, info.kind):
                continue
            if namespace and info.namespaced and ns != namespace:
                continue
            if reqs and not match_labels(_meta(obj).get("labels"), reqs):
                continue
            if any((_field_value(obj, p) == v) != eq for p, eq, v in freqs):
                continue
            out.append(self._out(_type_for(resource), obj, info, metadata_only))
        return out

    # ------------------------------------------------------------- writes

    async def create(self, obj: T, *, field_manager: str | None = None,
                     dry_run: bool = False) -> T:
        info = _info_of(obj)
        body = self._body(obj, info)
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{secrets.token_hex(3)[:5]}"
        key = self._key(info, body)
        await self._log("create", info, key[2], key[3])
        if meta.get("resourceVersion"):
            raise _error(400, "BadRequest",
                         "resourceVersion should not be set on objects to be created",
                         info, key[3])
        if key in self._objects:
            raise _error(409, "AlreadyExists",
                         f'{_resource_name(info)} "{key[3]}" already exists', info, key[3])
        for f in SERVER_METADATA:
            meta.pop(f, None)
        body.pop("status", None)  # the status subresource: set only through *_status
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        if not dry_run:
            meta["resourceVersion"] = self._next_rv()
            self._objects[key] = body
            manager = field_manager or self.field_manager
            self._owners[key] = {p: {manager} for p in leaves(body)}
        result: T = self._out(type(obj), body, info)
        return result

    def _check_preconditions(self, info: ResourceInfo, key: _Key,
                             meta: Mapping[str, Any]) -> dict[str, Any]:
        stored = self._stored(info, key)
        rv, uid = meta.get("resourceVersion"), meta.get("uid")
        if rv and rv != stored["metadata"].get("resourceVersion"):
            raise _conflict(info, key[3], _STALE)
        if uid and uid != stored["metadata"].get("uid"):
            raise _conflict(info, key[3], f"Precondition failed: UID in precondition: {uid}, "
                            f"UID in object meta: {stored['metadata'].get('uid')}")
        return stored

    async def update(self, obj: T, *, field_manager: str | None = None, dry_run: bool = False,
                     subresource: str = "") -> T:
        """PUT: 409 Conflict when ``metadata.resourceVersion`` is set and stale."""
        info = _info_of(obj)
        body = self._body(obj, info)
        key = self._key(info, body)
        await self._log("update", info, key[2], key[3], subresource)
        stored = self._check_preconditions(info, key, body["metadata"])
        if subresource == "status":
            new = copy.deepcopy(stored)
            _replace_status(new, body.get("status"))
        else:
            new = body
            _replace_status(new, copy.deepcopy(stored.get("status")))
        result: T = self._out(type(obj), self._commit(
            info, key, new, field_manager or self.field_manager, dry_run=dry_run), info)
        return result

    async def update_status(self, obj: T, *, field_manager: str | None = None,
                            dry_run: bool = False) -> T:
        return await self.update(obj, field_manager=field_manager, dry_run=dry_run,
                                 subresource="status")

    async def patch(
        self,
        resource: Any,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        field_manager: str | None = None,
        force: bool | None = None,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Any:
        """Merge (and strategic merge, applied as merge), JSON and apply patches."""
        info = resource_info(resource)
        body = patch if isinstance(patch, dict | list) else object_to_dict(patch)
        manager = field_manager or self.field_manager
        if patch_type == PatchType.APPLY:
            if not isinstance(body, dict):
                raise TypeError("an apply patch is an object")
            applied = self._body(body, info)
            applied["metadata"].setdefault("name", name)
            if namespace and info.namespaced:
                applied["metadata"].setdefault("namespace", namespace)
            return await self._apply(
                _type_for(resource), info, applied, manager, force=bool(force),
                dry_run=dry_run, subresource=subresource)
        ns = namespace if info.namespaced else None
        info.object_path(name, ns)
        await self._log("patch", info, ns, name, subresource)
        key = (info.group, info.kind, ns or "", name)
        stored = self._stored(info, key)
        try:
            if patch_type == PatchType.JSON:
                if not isinstance(body, list):
                    raise ValueError("a JSON patch is a list of operations")
                patched = json_patch(stored, body)
            else:
                patched = merge_patch(stored, body)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise _error(422, "Invalid", f"the patch cannot be applied: {e}", info,
                         name) from e
        if not isinstance(patched, dict):
            raise _error(422, "Invalid", "the patch does not leave an object", info, name)
        if isinstance(body, dict):  # a resourceVersion in the patch is an optimistic lock
            self._check_preconditions(info, key, _meta(body))
        if subresource == "status":
            new = copy.deepcopy(stored)
            _replace_status(new, patched.get("status"))
        else:
            new = patched
            _replace_status(new, copy.deepcopy(stored.get("status")))
        return self._out(_type_for(resource),
                         self._commit(info, key, new, manager, dry_run=dry_run), info)

    async def patch_status(
        self,
        resource: Any,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        field_manager: str | None = None,
        dry_run: bool = False,
    ) -> Any:
        return await self.patch(resource, name, patch, namespace=namespace,
                                patch_type=patch_type, field_manager=field_manager,
                                dry_run=dry_run, subresource="status")

    async def apply(self, obj: T, *, field_manager: str | None = None, force: bool = True,
                    dry_run: bool = False) -> T:
        """Server-side apply: create, or set the fields ``obj`` sets, removing the ones this
        manager applied before and omits now."""
        info = _info_of(obj)
        result: T = await self._apply(type(obj), info, self._body(obj, info),
                                      field_manager or self.field_manager, force=force,
                                      dry_run=dry_run)
        return result

    async def apply_status(self, obj: T, status: Any = None, *,
                           field_manager: str | None = None, force: bool = True,
                           dry_run: bool = False) -> T:
        """Server-side apply of ``status`` (default: ``obj``'s) through the status
        subresource; the object must exist."""
        info = _info_of(obj)
        full = self._body(obj, info)
        key = self._key(info, full)
        body = copy.deepcopy(_status_apply_body(info, key[3], key[2], full, status))
        result: T = await self._apply(type(obj), info, body,
                                      field_manager or self.field_manager, force=force,
                                      dry_run=dry_run, subresource="status")
        return result

    async def _apply(self, tp: Any, info: ResourceInfo, body: dict[str, Any], manager: str,
                     *, force: bool, dry_run: bool, subresource: str = "") -> Any:
        key = self._key(info, body)
        await self._log("apply", info, key[2], key[3], subresource)
        body["metadata"].pop("managedFields", None)
        status_scope = subresource == "status"
        if status_scope:
            body = {"apiVersion": body["apiVersion"], "kind": body["kind"],
                    "metadata": {"name": key[3], **({"namespace": key[2]} if key[2] else {})},
                    "status": body.get("status") or {}}
        else:
            body.pop("status", None)
        stored = self._objects.get(key)
        if stored is None:
            if status_scope:
                raise _not_found(info, key[3])
            body["metadata"].pop("resourceVersion", None)
            created = self._create_applied(info, key, body, manager, dry_run=dry_run)
            return self._out(tp, created, info)
        self._check_preconditions(info, key, body["metadata"])

        def in_scope(p: Path) -> bool:
            return (p[0] == "status") == status_scope

        config = {p: v for p, v in leaves(body).items() if in_scope(p)}
        owners = {p: set(m) for p, m in self._owners.get(key, {}).items()}
        current = leaves(stored)
        conflicts = sorted(
            ".".join(p) for p, v in config.items()
            if owners.get(p, set()) - {manager} and current.get(p) != v
        )
        if conflicts and not force:
            others = sorted({m for p in config for m in owners.get(p, set()) - {manager}})
            raise _error(409, "Conflict", f"Apply failed with {len(conflicts)} conflict(s): "
                         f"conflict with {', '.join(map(repr, others))}: "
                         f"{', '.join(conflicts)}", info, key[3])
        new = copy.deepcopy(stored)
        for p in [p for p, ms in owners.items() if manager in ms and in_scope(p)]:
            if p in config:
                continue
            owners[p].discard(manager)
            if not owners[p]:
                del owners[p]
                del_path(new, p)
        for p, v in config.items():
            shared = current.get(p) == v and p in current
            owners[p] = (owners.get(p, set()) | {manager}) if shared else {manager}
            if v == {} and _has_map(new, p):
                continue  # an empty map merges into the one there (as SSA), not replaces it
            set_path(new, p, v)
        committed = self._commit(info, key, new, manager, dry_run=dry_run, track=False)
        if not dry_run and key in self._objects:
            live = leaves(self._objects[key])
            self._owners[key] = {p: ms for p, ms in owners.items() if p in live}
        return self._out(tp, committed, info)

    def _create_applied(self, info: ResourceInfo, key: _Key, body: dict[str, Any],
                        manager: str, *, dry_run: bool) -> dict[str, Any]:
        meta = body["metadata"]
        for f in SERVER_METADATA:
            meta.pop(f, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        if not dry_run:
            meta["resourceVersion"] = self._next_rv()
            self._objects[key] = body
            self._owners[key] = {p: {manager} for p in leaves(body)}
        return body

    async def delete(
        self,
        resource: Any,
        name: str | None = None,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions_uid: str | None = None,
        preconditions_resource_version: str | None = None,
        dry_run: bool = False,
    ) -> None:
        """DELETE by type and name, or an object. With finalizers the object stays, with a
        ``deletionTimestamp``, until they are removed. No garbage collection of dependents."""
        if name is None:
            info = _info_of(resource)
            _g, _k, ns, name = self._key(info, self._body(resource, info))
        else:
            info = resource_info(resource)
            ns = (namespace or "") if info.namespaced else ""
            info.object_path(name, ns or None)
        await self._log("delete", info, ns, name)
        key = (info.group, info.kind, ns, name)
        stored = self._check_preconditions(info, key, {
            "resourceVersion": preconditions_resource_version, "uid": preconditions_uid})
        if dry_run:
            return
        if stored["metadata"].get("finalizers"):
            if not stored["metadata"].get("deletionTimestamp"):
                stored["metadata"]["deletionTimestamp"] = _now()
                stored["metadata"]["resourceVersion"] = self._next_rv()
            return
        del self._objects[key]
        self._owners.pop(key, None)


def _has_map(obj: Mapping[str, Any], path: Path) -> bool:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping) or p not in cur:
            return False
        cur = cur[p]
    return isinstance(cur, dict)


def _replace_status(obj: dict[str, Any], status: Any) -> None:
    if status is None:
        obj.pop("status", None)
    else:
        obj["status"] = status
