"""Type identity: which REST resource a Python type stands for (client-go's ``RESTMapper``,
controller-runtime's ``client/apiutil``).

:class:`ResourceInfo` is what the REST layer needs to address a resource type (group,
version, kind, plural, scope). :func:`resource_info` derives it from a type that declares it:
lightkube resources (``_api_info``), typed custom resources (``runtime.resource.CustomResource``
via ``__crd__``) and classes declaring ``__group__``, ``__version__``, ``__kind__`` and
``__plural__`` (and optionally ``__namespaced__``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GVK",
    "ResourceInfo",
    "gvk_of",
    "is_namespaced",
    "resource_info",
]


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


def _default_plural(kind: str) -> str:
    k = kind.lower()
    if k.endswith(("s", "x", "z", "ch", "sh")):
        return k + "es"
    if k.endswith("y") and len(k) > 1 and k[-2] not in "aeiou":
        return k[:-1] + "ies"
    return k + "s"


_INFO_CACHE: dict[Any, ResourceInfo] = {}


def resource_info(resource: Any) -> ResourceInfo:
    """The :class:`ResourceInfo` of a resource type.

    Understands, in order: a :class:`ResourceInfo` itself; lightkube resources (``_api_info``,
    including generic resources made by ``create_namespaced_resource``); typed custom resources
    (``runtime.resource.CustomResource``, via ``__crd__``); and classes declaring
    ``__group__``, ``__version__``, ``__kind__`` and optionally ``__plural__`` (default:
    lowercased kind, English plural) and ``__namespaced__`` (default True).
    """
    if isinstance(resource, ResourceInfo):
        return resource
    cached = _INFO_CACHE.get(resource)
    if cached is not None:
        return cached
    info: ResourceInfo
    api = getattr(resource, "_api_info", None)
    if api is not None:
        from lightkube.core.resource import GlobalResource, GlobalSubResource

        rd = api.parent or api.resource
        info = ResourceInfo(
            group=rd.group,
            version=rd.version,
            kind=rd.kind,
            plural=api.plural,
            namespaced=not (
                isinstance(resource, type)
                and issubclass(resource, GlobalResource | GlobalSubResource)
            ),
        )
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
        group = getattr(resource, "__group__", None)
        version = getattr(resource, "__version__", None)
        kind = getattr(resource, "__kind__", None)
        if not (isinstance(group, str) and isinstance(version, str) and isinstance(kind, str)):
            raise TypeError(f"cannot tell the group/version/kind/plural of {resource!r}")
        plural = getattr(resource, "__plural__", None)
        namespaced = getattr(resource, "__namespaced__", True)
        info = ResourceInfo(
            group=group,
            version=version,
            kind=kind,
            plural=plural if isinstance(plural, str) else _default_plural(kind),
            namespaced=bool(namespaced),
        )
    with contextlib.suppress(TypeError):  # unhashable
        _INFO_CACHE[resource] = info
    return info


def gvk_of(resource: Any) -> GVK:
    """Group/version/kind of a resource type.

    Accepts a ``GVK``, or anything :func:`resource_info` understands: lightkube resources,
    typed custom resources (``__crd__``), classes declaring ``__group__``, ``__version__``,
    ``__kind__``, a ``ResourceInfo``.
    """
    if isinstance(resource, GVK):
        return resource
    if isinstance(resource, ResourceInfo):
        return GVK(resource.group, resource.version, resource.kind)
    crd = getattr(resource, "__crd__", None)
    if crd is not None:
        return GVK(crd.group, crd.version, crd.kind)
    api = getattr(resource, "_api_info", None)
    if api is not None:
        rd = api.parent or api.resource
        return GVK(rd.group, rd.version, rd.kind)
    group = getattr(resource, "__group__", None)
    version = getattr(resource, "__version__", None)
    kind = getattr(resource, "__kind__", None)
    if isinstance(group, str) and isinstance(version, str) and isinstance(kind, str):
        return GVK(group, version, kind)
    raise TypeError(f"cannot tell the group/version/kind of {resource!r}")


def is_namespaced(resource: Any) -> bool:
    """Whether objects of this type live in a namespace (a ``GVK`` is assumed namespaced)."""
    if isinstance(resource, GVK):
        return True
    return resource_info(resource).namespaced
