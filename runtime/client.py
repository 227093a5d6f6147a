"""The CRUD client (controller-runtime's ``pkg/client`` and ``controllerutil``).

:class:`Client` reads from the shared :class:`~runtime.cache.Cache` by default (fresh objects
the caller may mutate) and writes to the API server. :attr:`Client.api_reader` reads from the
API server directly (c-r's ``mgr.GetAPIReader()``): use it where a stale read is wrong, e.g.
just after a write whose result another step depends on.

Objects may be lightkube models (msgspec Structs), typed custom resources
(``runtime.resource.CustomResource``) or plain dicts with ``apiVersion``/``kind``; every call
returns the server's answer decoded into the type it was given. Writes go through lightkube's
underlying httpx client with a uniform path for all three shapes (lightkube's own methods only
accept its models). Errors are lightkube ``ApiError`` with ``.status.code``/``.status.reason``;
:func:`is_not_found`, :func:`is_conflict`, :func:`is_already_exists` and
:func:`ignore_not_found` test them.

Server-side apply is the default way to write desired state: ``apply(obj)`` sends the object as
an apply patch with a fixed field manager and ``force=True`` (we own the fields we set; other
managers such as an HPA keep theirs). ``apply_status`` applies only ``status`` through the
status subresource.

Request metrics (``rest_client_requests_total{code,method,host}``,
``rest_client_request_duration_seconds{verb,host}``) come from the transport wrapper of
``runtime.transport``, installed on the client's connection pool and the cache's.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx2
import msgspec
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.types import PatchType

from runtime.cache import Cache
from runtime.codec import (
    METADATA_ACCEPT_LIST,
    METADATA_ACCEPT_OBJECT,
    PartialObjectMetadata,
    decode_object,
    object_to_dict,
    status_error,
)
from runtime.restmapper import ResourceInfo, RESTMapper, gvk_of
from runtime.selector import LabelSelector, selector_string
from runtime.transport import instrument

__all__ = [
    "DEFAULT_RETRY",
    "APIReader",
    "AlreadyOwnedError",
    "Backoff",
    "Client",
    "PatchType",
    "add_finalizer",
    "contains_finalizer",
    "ignore_not_found",
    "is_already_exists",
    "is_conflict",
    "is_not_found",
    "remove_finalizer",
    "retry_on_conflict",
    "set_controller_reference",
    "set_owner_reference",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- errors


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, ApiError):
        return exc.status.code
    return None


def _reason(exc: BaseException) -> str | None:
    if isinstance(exc, ApiError):
        return exc.status.reason
    return None


def is_not_found(exc: BaseException) -> bool:
    """apimachinery's ``IsNotFound`` (HTTP 404 / reason NotFound)."""
    return _code(exc) == 404 or _reason(exc) == "NotFound"


def is_conflict(exc: BaseException) -> bool:
    """apimachinery's ``IsConflict``: an update with a stale resourceVersion, or an apply
    conflict without ``force`` (409, reason Conflict; not AlreadyExists)."""
    return _reason(exc) == "Conflict" or (
        _code(exc) == 409 and _reason(exc) != "AlreadyExists"
    )


def is_already_exists(exc: BaseException) -> bool:
    """apimachinery's ``IsAlreadyExists``: a create of an existing name."""
    return _reason(exc) == "AlreadyExists"


async def ignore_not_found(aw: Awaitable[T]) -> T | None:
    """c-r's ``client.IgnoreNotFound``: ``await ignore_not_found(client.delete(...))`` returns
    None instead of raising when the object does not exist."""
    try:
        return await aw
    except ApiError as e:
        if is_not_found(e):
            return None
        raise


# --------------------------------------------------------------------------- retry


@dataclass(frozen=True)
class Backoff:
    """``k8s.io/apimachinery/pkg/util/wait.Backoff`` (the fields retry helpers use)."""

    steps: int
    duration: float
    factor: float
    jitter: float


DEFAULT_RETRY = Backoff(steps=5, duration=0.010, factor=1.0, jitter=0.1)
"""client-go's ``retry.DefaultRetry``."""


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]], backoff: Backoff = DEFAULT_RETRY
) -> T:
    """client-go's ``retry.RetryOnConflict``: run ``fn`` (which should re-read the object,
    modify it and update it) until it does not raise a Conflict, at most ``backoff.steps``
    times, sleeping ``duration * (1 + jitter * rand)`` between attempts. The last conflict is
    re-raised."""
    delay = backoff.duration
    for attempt in range(backoff.steps):
        try:
            return await fn()
        except ApiError as e:
            if not is_conflict(e) or attempt == backoff.steps - 1:
                raise
        await anyio.sleep(delay * (1.0 + backoff.jitter * random.random()))
        delay *= backoff.factor
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- reader


def _type_for(resource: Any) -> Any:
    return dict if isinstance(resource, ResourceInfo) else resource


def _check(resp: httpx2.Response) -> None:
    if resp.status_code >= 400:
        raise status_error(resp.content, resp.status_code)


class APIReader:
    """Uncached reads straight from the API server (c-r's ``APIReader``)."""

    def __init__(self, http: httpx2.AsyncClient, rest_mapper: RESTMapper | None = None) -> None:
        self.http = http
        self.rest_mapper = rest_mapper if rest_mapper is not None else RESTMapper(http)

    async def get(
        self,
        resource: Any,
        name: str,
        namespace: str | None = None,
        *,
        metadata_only: bool = False,
    ) -> Any:
        info = await self.rest_mapper.resource_info(resource)
        headers = (
            {"Accept": METADATA_ACCEPT_OBJECT}
            if metadata_only
            else {}
        )
        resp = await self.http.get(info.object_path(name, namespace), headers=headers)
        _check(resp)
        if metadata_only:
            obj = msgspec.json.decode(resp.content, type=PartialObjectMetadata)
            obj.apiVersion, obj.kind = info.api_version, info.kind
            return obj
        return decode_object(_type_for(resource), resp.content)

    async def list(
        self,
        resource: Any,
        namespace: str | None = None,
        *,
        labels: LabelSelector | None = None,
        fields: LabelSelector | None = None,
        metadata_only: bool = False,
        chunk_size: int = 500,
    ) -> list[Any]:
        """All matching objects, read in pages of ``chunk_size`` (a consistent read)."""
        info = await self.rest_mapper.resource_info(resource)
        params: dict[str, str] = {"limit": str(chunk_size)}
        if (ls := selector_string(labels)) is not None:
            params["labelSelector"] = ls
        if (fs := selector_string(fields, for_fields=True)) is not None:
            params["fieldSelector"] = fs
        headers = {"Accept": METADATA_ACCEPT_LIST} if metadata_only else {}
        tp = PartialObjectMetadata if metadata_only else _type_for(resource)
        out: list[Any] = []
        while True:
            resp = await self.http.get(
                info.collection_path(namespace), params=params, headers=headers
            )
            _check(resp)
            body = msgspec.json.decode(resp.content, type=_RawList)
            for raw in body.items:
                obj = decode_object(tp, raw)
                if metadata_only:
                    obj.apiVersion, obj.kind = info.api_version, info.kind
                elif isinstance(obj, dict):
                    obj.setdefault("apiVersion", info.api_version)
                    obj.setdefault("kind", info.kind)
                out.append(obj)
            cont = body.metadata.continue_ if body.metadata else None
            if not cont:
                return out
            params["continue"] = cont


class _ListMeta(msgspec.Struct):
    continue_: str | None = msgspec.field(name="continue", default=None)


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw] = msgspec.field(default_factory=list)
    metadata: _ListMeta | None = None


# --------------------------------------------------------------------------- client


def _body(obj: Any, info: ResourceInfo) -> dict[str, Any]:
    d = dict(object_to_dict(obj))
    d.setdefault("apiVersion", info.api_version)
    d.setdefault("kind", info.kind)
    return d


def _name_ns(body: Mapping[str, Any], info: ResourceInfo) -> tuple[str, str | None]:
    meta = body.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise ValueError(f"{info.kind}: metadata.name is required")
    ns = meta.get("namespace") if info.namespaced else None
    if info.namespaced and not ns:
        raise ValueError(f"{info.kind} {name!r}: metadata.namespace is required")
    return str(name), ns


def _status_apply_body(
    info: ResourceInfo, name: str, ns: str | None, full: Mapping[str, Any], status: Any
) -> dict[str, Any]:
    """A status apply's body: apiVersion, kind, name, namespace and ``status`` (default:
    ``full``'s), so the field manager owns exactly the status fields it sets."""
    if status is None:
        st = full.get("status") or {}
    else:
        st = status if isinstance(status, dict) else object_to_dict(status)
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": meta, "status": st}


class Client:
    """Reads from the cache, writes to the API (c-r's default client).

    ``cache=None`` makes every read go to the API server. ``disable_for`` lists resource types
    read from the API even when a cache is present (c-r ``CacheOptions.DisableFor``).
    ``field_manager`` is the default ``fieldManager`` of every write (apply requires one).
    """

    def __init__(
        self,
        kube: Any,
        cache: Cache | None = None,
        *,
        field_manager: str = "manager",
        disable_for: Iterable[Any] = (),
        rest_mapper: RESTMapper | None = None,
    ) -> None:
        self.http = instrument(kube)
        self.cache = cache
        self.field_manager = field_manager
        if rest_mapper is None:
            rest_mapper = cache.rest_mapper if cache is not None else RESTMapper(self.http)
        self.rest_mapper = rest_mapper
        self.api_reader = APIReader(self.http, rest_mapper)
        self._uncached = {gvk_of(r) for r in disable_for}

    async def is_served(self, resource: Any) -> bool:
        """Whether the API server serves ``resource``'s kind now (discovery, cached for a few
        seconds; see ``RESTMapper.is_served``): for optional kinds, e.g. skip writing a KEDA
        ScaledObject, or delete what needs a CRD that is gone."""
        return await self.rest_mapper.is_served(resource)

    # ------------------------------------------------------------- reads

    def _cached(self, resource: Any) -> bool:
        return self.cache is not None and (
            not self._uncached or gvk_of(resource) not in self._uncached
        )

    async def get(
        self,
        resource: Any,
        name: str,
        namespace: str | None = None,
        *,
        metadata_only: bool = False,
    ) -> Any:
        """One object (a fresh copy); ``ApiError`` 404 if absent. From the cache unless
        disabled for ``resource``; the first cached read of a type starts its informer."""
        if self._cached(resource):
            assert self.cache is not None
            return await self.cache.get(resource, name, namespace, metadata_only=metadata_only)
        return await self.api_reader.get(resource, name, namespace, metadata_only=metadata_only)

    async def list(
        self,
        resource: Any,
        namespace: str | None = None,
        *,
        labels: LabelSelector | None = None,
        fields: Mapping[str, str] | None = None,
        metadata_only: bool = False,
    ) -> list[Any]:
        """Matching objects. Cached lists support exact field matches on indexed fields,
        ``metadata.name`` and ``metadata.namespace`` only (as c-r)."""
        if self._cached(resource):
            assert self.cache is not None
            return await self.cache.list(
                resource, namespace, labels=labels, fields=fields, metadata_only=metadata_only
            )
        return await self.api_reader.list(
            resource, namespace, labels=labels, fields=fields, metadata_only=metadata_only
        )

    # ------------------------------------------------------------- writes

    def _params(self, field_manager: str | None, dry_run: bool, **extra: str | None) -> dict[
        str, str
    ]:
        p = {"fieldManager": field_manager or self.field_manager}
        if dry_run:
            p["dryRun"] = "All"
        p.update({k: v for k, v in extra.items() if v is not None})
        return p

    async def _info_of(self, obj: Any) -> ResourceInfo:
        tp = _dict_type(obj) if isinstance(obj, dict) else type(obj)
        return await self.rest_mapper.resource_info(tp)

    async def _send(
        self,
        method: str,
        path: str,
        tp: Any,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> Any:
        content = msgspec.json.encode(body) if body is not None else None
        resp = await self.http.request(
            method,
            path,
            content=content,
            params=params,
            headers={"Content-Type": content_type} if content is not None else None,
        )
        _check(resp)
        if tp is None:
            return None
        return decode_object(tp, resp.content)

    async def create(
        self, obj: T, *, field_manager: str | None = None, dry_run: bool = False
    ) -> T:
        """POST; ``ApiError`` 409 AlreadyExists if it exists."""
        info = await self._info_of(obj)
        body = _body(obj, info)
        meta = body.get("metadata") or {}
        ns = meta.get("namespace") if info.namespaced else None
        if info.namespaced and not ns:
            raise ValueError(f"{info.kind}: metadata.namespace is required")
        result: T = await self._send(
            "POST", info.collection_path(ns), type(obj), body=body,
            params=self._params(field_manager, dry_run),
        )
        return result

    async def update(
        self, obj: T, *, field_manager: str | None = None, dry_run: bool = False,
        subresource: str = "",
    ) -> T:
        """PUT the whole object; with ``metadata.resourceVersion`` set, a concurrent change
        makes it fail with 409 Conflict (see :func:`retry_on_conflict`)."""
        info = await self._info_of(obj)
        body = _body(obj, info)
        name, ns = _name_ns(body, info)
        result: T = await self._send(
            "PUT", info.object_path(name, ns, subresource), type(obj), body=body,
            params=self._params(field_manager, dry_run),
        )
        return result

    async def update_status(
        self, obj: T, *, field_manager: str | None = None, dry_run: bool = False
    ) -> T:
        """PUT to the status subresource (only ``status`` changes are kept by the server)."""
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
        """PATCH with a merge (default), strategic-merge, JSON or apply patch. ``patch`` is a
        dict/list or a typed object (encoded as JSON)."""
        info = await self.rest_mapper.resource_info(resource)
        body = patch if isinstance(patch, dict | list) else object_to_dict(patch)
        force_param = ("true" if force else "false") if (
            force is not None and patch_type == PatchType.APPLY
        ) else None
        return await self._send(
            "PATCH",
            info.object_path(name, namespace if info.namespaced else None, subresource),
            _type_for(resource),
            body=body,
            content_type=patch_type.value,
            params=self._params(field_manager, dry_run, force=force_param),
        )

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
        return await self.patch(
            resource, name, patch, namespace=namespace, patch_type=patch_type,
            field_manager=field_manager, dry_run=dry_run, subresource="status",
        )

    async def apply(
        self,
        obj: T,
        *,
        field_manager: str | None = None,
        force: bool = True,
        dry_run: bool = False,
    ) -> T:
        """Server-side apply ``obj`` (create or update the fields it sets). ``managedFields``
        is dropped from the request; keep ``resourceVersion`` unset unless you want the apply
        to fail on a concurrent change."""
        info = await self._info_of(obj)
        body = _body(obj, info)
        meta = body.get("metadata")
        if isinstance(meta, dict) and "managedFields" in meta:
            body["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
        name, ns = _name_ns(body, info)
        result: T = await self._send(
            "PATCH", info.object_path(name, ns), type(obj), body=body,
            content_type=PatchType.APPLY.value,
            params=self._params(field_manager, dry_run, force="true" if force else "false"),
        )
        return result

    async def apply_status(
        self,
        obj: T,
        status: Any = None,
        *,
        field_manager: str | None = None,
        force: bool = True,
        dry_run: bool = False,
    ) -> T:
        """Server-side apply of ``status`` (default: ``obj``'s status) through the status
        subresource. Only apiVersion, kind, name, namespace and status are sent, so the field
        manager owns exactly the status fields it sets."""
        info = await self._info_of(obj)
        full = _body(obj, info)
        name, ns = _name_ns(full, info)
        body = _status_apply_body(info, name, ns, full, status)
        result: T = await self._send(
            "PATCH", info.object_path(name, ns, "status"), type(obj), body=body,
            content_type=PatchType.APPLY.value,
            params=self._params(field_manager, dry_run, force="true" if force else "false"),
        )
        return result

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
        """DELETE by type and name, or pass an object as ``resource`` (name and namespace are
        taken from it). ``propagation_policy``: "Foreground", "Background" or "Orphan"."""
        if name is None:
            obj = resource
            info = await self._info_of(obj)
            name, namespace = _name_ns(_body(obj, info), info)
        else:
            info = await self.rest_mapper.resource_info(resource)
        opts: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            opts["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        pre = {}
        if preconditions_uid:
            pre["uid"] = preconditions_uid
        if preconditions_resource_version:
            pre["resourceVersion"] = preconditions_resource_version
        if pre:
            opts["preconditions"] = pre
        if dry_run:
            opts["dryRun"] = ["All"]
        await self._send(
            "DELETE", info.object_path(name, namespace if info.namespaced else None), None,
            body=opts,
        )


def _dict_type(obj: Mapping[str, Any]) -> Any:
    """A plain dict's type, via lightkube's registry (built-in kinds, and generic resources
    created with ``create_namespaced_resource``/``create_global_resource``)."""
    from lightkube.core.exceptions import LoadResourceError
    from lightkube.core.resource_registry import resource_registry

    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version or not kind:
        raise ValueError("a dict object needs apiVersion and kind")
    try:
        res = resource_registry.load(api_version, kind)
    except LoadResourceError:
        res = None
    if res is None:
        raise TypeError(
            f"unknown resource {api_version} {kind}: pass a typed object, or register it "
            "with lightkube.generic_resource.create_namespaced_resource"
        )
    return res


# --------------------------------------------------------------------------- controllerutil


class AlreadyOwnedError(ValueError):
    """c-r's ``AlreadyOwnedError``: the object already has a different controller."""


def _meta(obj: Any) -> Any:
    meta = obj.get("metadata") if isinstance(obj, dict) else getattr(obj, "metadata", None)
    if meta is None:
        if isinstance(obj, dict):
            meta = obj["metadata"] = {}
        else:
            meta = ObjectMeta()
            obj.metadata = meta
    return meta


def _mget(meta: Any, field: str) -> Any:
    return meta.get(field) if isinstance(meta, dict) else getattr(meta, field, None)


def _mset(meta: Any, field: str, value: Any) -> None:
    if isinstance(meta, dict):
        meta[field] = value
    else:
        setattr(meta, field, value)


def _owner_gvk(owner: Any) -> tuple[str, str]:
    if isinstance(owner, dict):
        return str(owner["apiVersion"]), str(owner["kind"])
    if isinstance(owner, PartialObjectMetadata):  # metadata-only: the watched type's GVK
        if not (owner.apiVersion and owner.kind):
            raise ValueError("owner must have apiVersion and kind")
        return owner.apiVersion, owner.kind
    gvk = gvk_of(type(owner))
    return gvk.api_version, gvk.kind


def _ref_field(ref: Any, field: str) -> Any:
    return ref.get(field) if isinstance(ref, dict) else getattr(ref, field, None)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _upsert_owner_ref(owner: Any, obj: Any, controller: bool | None, block: bool | None) -> None:
    ometa = _meta(owner)
    api_version, kind = _owner_gvk(owner)
    name, uid = _mget(ometa, "name"), _mget(ometa, "uid")
    if not name or not uid:
        raise ValueError("owner must have metadata.name and metadata.uid (read it from the API)")
    owner_ns = _mget(ometa, "namespace")
    meta = _meta(obj)
    obj_ns = _mget(meta, "namespace")
    if owner_ns and owner_ns != obj_ns:
        raise ValueError(
            f"cross-namespace owner references are disallowed: owner {kind} {owner_ns}/{name}, "
            f"object namespace {obj_ns or '(cluster-scoped)'}"
        )
    as_dict = isinstance(meta, dict)
    ref: Any
    if as_dict:
        ref = {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid}
        if block is not None:
            ref["blockOwnerDeletion"] = block
        if controller is not None:
            ref["controller"] = controller
    else:
        ref = OwnerReference(apiVersion=api_version, kind=kind, name=name, uid=uid,
                             blockOwnerDeletion=block, controller=controller)
    refs = list(_mget(meta, "ownerReferences") or [])
    for i, r in enumerate(refs):
        # same owner: same group, kind and name (c-r's referSameObject ignores the version)
        if (_group(_ref_field(r, "apiVersion")) == _group(api_version)
                and _ref_field(r, "kind") == kind and _ref_field(r, "name") == name):
            refs[i] = ref
            break
    else:
        refs.append(ref)
    _mset(meta, "ownerReferences", refs)


def set_controller_reference(owner: Any, obj: Any, *, block_owner_deletion: bool = True) -> None:
    """c-r's ``SetControllerReference``: make ``owner`` the managing controller of ``obj``
    (``controller: true``, ``blockOwnerDeletion: true``), so it is garbage-collected with the
    owner and ``owns()`` watches map it back. Raises :class:`AlreadyOwnedError` if another
    object is already its controller, ``ValueError`` for a cross-namespace owner."""
    api_version, kind = _owner_gvk(owner)
    name = _mget(_meta(owner), "name")
    for r in _mget(_meta(obj), "ownerReferences") or []:
        if _ref_field(r, "controller") and not (
            _group(_ref_field(r, "apiVersion")) == _group(api_version)
            and _ref_field(r, "kind") == kind and _ref_field(r, "name") == name
        ):
            raise AlreadyOwnedError(
                f"object is already owned by another {_ref_field(r, 'kind')} controller "
                f"{_ref_field(r, 'name')}"
            )
    _upsert_owner_ref(owner, obj, controller=True, block=block_owner_deletion)


def set_owner_reference(owner: Any, obj: Any) -> None:
    """c-r's ``SetOwnerReference``: a non-controller owner reference (upserted)."""
    _upsert_owner_ref(owner, obj, controller=None, block=None)


def contains_finalizer(obj: Any, finalizer: str) -> bool:
    return finalizer in (_mget(_meta(obj), "finalizers") or [])


def add_finalizer(obj: Any, finalizer: str) -> bool:
    """Add ``finalizer`` unless present; True if ``obj`` changed (write it back then)."""
    meta = _meta(obj)
    fins = list(_mget(meta, "finalizers") or [])
    if finalizer in fins:
        return False
    fins.append(finalizer)
    _mset(meta, "finalizers", fins)
    return True


def remove_finalizer(obj: Any, finalizer: str) -> bool:
    """Remove every occurrence of ``finalizer``; True if ``obj`` changed."""
    meta = _meta(obj)
    fins = list(_mget(meta, "finalizers") or [])
    kept = [f for f in fins if f != finalizer]
    if len(kept) == len(fins):
        return False
    _mset(meta, "finalizers", kept or None)
    return True
