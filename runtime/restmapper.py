"""Type identity: which REST resource a Python type stands for, and whether the API server
serves it (client-go's ``RESTMapper``, controller-runtime's ``client/apiutil``).

:class:`ResourceInfo` is what the REST layer needs to address a resource type (group,
version, kind, plural, scope). :func:`resource_info` returns it for a type that *declares* it:
lightkube resources (their type info, read by ``runtime.transport``), typed custom resources
(``runtime.resource.CustomResource`` via ``__crd__``) and classes declaring ``__group__``,
``__version__``, ``__kind__`` and ``__plural__`` (and optionally ``__namespaced__``). A type
that declares only its group/version/kind gets no guessed English plural (``Policy`` ->
``policys``?): its resource is looked up by discovery, :meth:`RESTMapper.resource_info`.

:class:`RESTMapper` is controller-runtime's lazy dynamic mapper: it reads the discovery
document of one group-version (``/api/v1``, ``/apis/<group>/<version>``) the first time a
kind of it is asked for, caches it, and reads it again on a miss (at most once per
``refresh_interval``), so a CRD installed while the process runs is found without a restart.
Discovery is readable by every authenticated user (the ``system:discovery`` role): it needs
no extra RBAC, unlike watching CustomResourceDefinitions.

:meth:`RESTMapper.is_served` answers "does the API server serve this kind now?" for
optional integrations (KEDA, Gateway API, Knative... may be absent): a cached answer no older
than ``refresh_interval``. A group-version last found absent is looked for again in the group
list (``/apis``, one read shared by every absent group-version for ``refresh_interval``)
before its own document is read: a manager rechecking five absent integrations every 30 s
makes one request, not five.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import msgspec

from runtime.codec import status_error
from runtime.transport import lightkube_type_info

__all__ = [
    "GVK",
    "NoKindMatchError",
    "RESTMapper",
    "ResourceInfo",
    "gvk_of",
    "is_namespaced",
    "resource_info",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """What the REST layer needs to know about a resource type."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        """The discovery path's group/version: ``v1`` (core) or ``apps/v1``."""
        return self.api_version

    def collection_path(self, namespace: str | None = None) -> str:
        """``/api/v1/namespaces/ns/configmaps`` (or the all-namespaces / cluster path)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None, subresource: str = "") -> str:
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} {name!r} is namespaced: a namespace is required")
        path = f"{self.collection_path(namespace if self.namespaced else None)}/{name}"
        return f"{path}/{subresource}" if subresource else path

    def metric_label(self, metadata_only: bool = False) -> str:
        """``resource`` label of the cache metrics: ``<plural>.<group>/<version>`` (core:
        ``<plural>/<version>``), suffixed ``:metadata`` for a metadata-only projection."""
        label = f"{self.plural}.{self.group}/{self.version}" if self.group else (
            f"{self.plural}/{self.version}"
        )
        return label + (":metadata" if metadata_only else "")

    def describe(self) -> str:
        """``Widget (widgets.example.com/v1)``: how errors name a kind."""
        return f"{self.kind} ({self.metric_label()})"


@dataclass(frozen=True, slots=True)
class GVK:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GVK:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)


_INFO_CACHE: dict[Any, ResourceInfo] = {}


def declared_info(resource: Any) -> ResourceInfo | None:
    """The :class:`ResourceInfo` a type declares, or None when it declares no plural (only
    discovery can tell then). ``TypeError`` if it is not a resource type at all."""
    if isinstance(resource, ResourceInfo):
        return resource
    cached = _INFO_CACHE.get(resource)
    if cached is not None:
        return cached
    info: ResourceInfo
    lk = lightkube_type_info(resource)
    if lk is not None:
        info = ResourceInfo(*lk)
    elif getattr(resource, "__crd__", None) is not None:
        crd = resource.__crd__  # runtime.resource.CRD (duck-typed: no import upwards)
        info = ResourceInfo(
            group=crd.group,
            version=crd.version,
            kind=crd.kind,
            plural=crd.plural,
            namespaced=getattr(crd, "scope", "Namespaced") != "Cluster",
        )
    else:
        gvk = gvk_of(resource)
        declared = getattr(resource, "__plural__", None)
        if not isinstance(declared, str):
            return None
        info = ResourceInfo(
            group=gvk.group,
            version=gvk.version,
            kind=gvk.kind,
            plural=declared,
            namespaced=bool(getattr(resource, "__namespaced__", True)),
        )
    with contextlib.suppress(TypeError):  # unhashable
        _INFO_CACHE[resource] = info
    return info


def resource_info(resource: Any) -> ResourceInfo:
    """The :class:`ResourceInfo` a type declares (see the module doc); no request is made.

    ``TypeError`` for a type that declares no plural: use :meth:`RESTMapper.resource_info`
    (the client and the cache do), which asks discovery instead of guessing."""
    info = declared_info(resource)
    if info is None:
        gvk = gvk_of(resource)
        raise TypeError(
            f"{resource!r} declares no __plural__: the resource of {gvk.kind} "
            f"({gvk.api_version}) is known only by discovery (RESTMapper.resource_info)"
        )
    return info


def gvk_of(resource: Any) -> GVK:
    """Group/version/kind of a resource type.

    Accepts a ``GVK``, a ``ResourceInfo``, lightkube resources, typed custom resources
    (``__crd__``) and classes declaring ``__group__``, ``__version__``, ``__kind__``.
    """
    if isinstance(resource, GVK):
        return resource
    if isinstance(resource, ResourceInfo):
        return GVK(resource.group, resource.version, resource.kind)
    crd = getattr(resource, "__crd__", None)
    if crd is not None:
        return GVK(crd.group, crd.version, crd.kind)
    lk = lightkube_type_info(resource)
    if lk is not None:
        return GVK(lk[0], lk[1], lk[2])
    group = getattr(resource, "__group__", None)
    version = getattr(resource, "__version__", None)
    kind = getattr(resource, "__kind__", None)
    if isinstance(group, str) and isinstance(version, str) and isinstance(kind, str):
        return GVK(group, version, kind)
    raise TypeError(f"cannot tell the group/version/kind of {resource!r}")


def is_namespaced(resource: Any) -> bool:
    """Whether objects of this type live in a namespace, as declared (a ``GVK``, or a type
    declaring nothing, is assumed namespaced)."""
    if isinstance(resource, GVK):
        return True
    info = declared_info(resource)
    if info is not None:
        return info.namespaced
    return bool(getattr(resource, "__namespaced__", True))


# --------------------------------------------------------------------------- discovery


class NoKindMatchError(LookupError):
    """The API server serves no such kind (apimachinery's ``NoKindMatchError``): its CRD is
    not installed, or not in this version."""

    def __init__(self, gvk: GVK) -> None:
        self.gvk = gvk
        super().__init__(
            f'no matches for kind "{gvk.kind}" in version "{gvk.api_version}": the API '
            "server does not serve it (is its CRD installed?)"
        )


class _APIResource(msgspec.Struct):
    name: str
    kind: str
    namespaced: bool = False


class _APIResourceList(msgspec.Struct):
    resources: list[_APIResource] = msgspec.field(default_factory=list)


class _GroupVersion(msgspec.Struct):
    groupVersion: str


class _APIGroup(msgspec.Struct):
    versions: list[_GroupVersion] = msgspec.field(default_factory=list)


class _APIGroupList(msgspec.Struct):
    groups: list[_APIGroup] = msgspec.field(default_factory=list)


class _Everything(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


_EVERY_GROUP_VERSION = _Everything()


@dataclass
class _Discovered:
    fetched: float
    kinds: dict[str, ResourceInfo] | None  # None: the group-version is not served
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class RESTMapper:
    """Kind -> resource by discovery, per group-version, cached (see the module doc).

    ``http`` is an httpx client on the API server (a lightkube client's, see
    ``runtime.transport.http_client``). Requests it makes: one GET per group-version on first
    use, and again on a miss or an :meth:`is_served` of a stale entry, at most once per
    ``refresh_interval`` seconds per group-version."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        refresh_interval: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.refresh_interval = refresh_interval
        self._now = now
        self._gv: dict[str, _Discovered] = {}
        self._groups_fetched = -float("inf")
        self._groups: frozenset[str] = frozenset()
        self._groups_lock = anyio.Lock()
        #: discovery GETs made (tests and debugging read it)
        self.requests = 0

    def invalidate(self, group_version: str | None = None) -> None:
        """Forget what was discovered (for one ``group/version``, or everything)."""
        if group_version is None:
            self._gv.clear()
        else:
            self._gv.pop(group_version, None)

    async def _kinds(self, gvk: GVK, max_age: float | None) -> dict[str, ResourceInfo] | None:
        """The served kinds of ``gvk``'s group-version, read again if the cached answer is
        older than ``max_age`` (None: any age) and older than ``refresh_interval``."""
        gv = gvk.api_version
        entry = self._gv.get(gv)
        if entry is not None and not self._stale(entry, max_age):
            return entry.kinds
        if entry is None:
            entry = self._gv.setdefault(gv, _Discovered(fetched=-float("inf"), kinds=None))
        async with entry.lock:
            if not self._stale(entry, max_age):  # another task refreshed it meanwhile
                return entry.kinds
            absent_before = entry.kinds is None and entry.fetched > -float("inf")
            if absent_before and gvk.group and gv not in await self._group_versions():
                entry.fetched = self._now()  # still absent: the shared group list says so
                return None
            entry.kinds = await self._fetch(gvk)
            entry.fetched = self._now()
            return entry.kinds

    async def _group_versions(self) -> frozenset[str]:
        """The group-versions ``/apis`` lists, read at most once per ``refresh_interval``. If
        it cannot be read, every group-version counts as listed (its own document decides)."""
        async with self._groups_lock:
            if self._now() - self._groups_fetched >= self.refresh_interval:
                self.requests += 1
                resp = await self.http.get("/apis")
                if resp.status_code != 200:
                    log.debug("discovery: /apis answered %s", resp.status_code)
                    return _EVERY_GROUP_VERSION
                body = msgspec.json.decode(resp.content, type=_APIGroupList)
                self._groups = frozenset(v.groupVersion for g in body.groups for v in g.versions)
                self._groups_fetched = self._now()
            return self._groups

    def _stale(self, entry: _Discovered, max_age: float | None) -> bool:
        age = self._now() - entry.fetched
        if age < self.refresh_interval:
            return False
        return max_age is None or age >= max_age

    async def _fetch(self, gvk: GVK) -> dict[str, ResourceInfo] | None:
        path = f"/apis/{gvk.group}/{gvk.version}" if gvk.group else f"/api/{gvk.version}"
        self.requests += 1
        resp = await self.http.get(path)
        if resp.status_code == 404:
            log.debug("discovery: %s is not served", gvk.api_version)
            return None
        if resp.status_code != 200:
            raise status_error(resp.content, resp.status_code)
        body = msgspec.json.decode(resp.content, type=_APIResourceList)
        kinds: dict[str, ResourceInfo] = {}
        for r in body.resources:
            if "/" in r.name:  # a subresource (pods/status)
                continue
            kinds.setdefault(r.kind, ResourceInfo(
                group=gvk.group, version=gvk.version, kind=r.kind, plural=r.name,
                namespaced=r.namespaced,
            ))
        return kinds

    async def mapping(self, resource: Any) -> ResourceInfo:
        """The served :class:`ResourceInfo` of ``resource`` (client-go ``RESTMapping``),
        discovery's word on plural and scope. Refreshes on a miss; raises
        :class:`NoKindMatchError` if the kind is not served."""
        gvk = gvk_of(resource)
        kinds = await self._kinds(gvk, max_age=None)
        info = kinds.get(gvk.kind) if kinds else None
        if info is None:
            kinds = await self._kinds(gvk, max_age=0.0)
            info = kinds.get(gvk.kind) if kinds else None
        if info is None:
            raise NoKindMatchError(gvk)
        return info

    async def resource_info(self, resource: Any) -> ResourceInfo:
        """What the type declares (no request), or else :meth:`mapping`: never a guess."""
        info = declared_info(resource)
        return info if info is not None else await self.mapping(resource)

    async def is_served(self, resource: Any) -> bool:
        """Whether the API server serves ``resource``'s kind now: a cached answer at most
        ``refresh_interval`` seconds old. For optional kinds (a CRD that may be absent or
        installed later): skip or clean up what needs it when False."""
        gvk = gvk_of(resource)
        kinds = await self._kinds(gvk, max_age=self.refresh_interval)
        return kinds is not None and gvk.kind in kinds
