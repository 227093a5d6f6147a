"""The group and version of this package (upstream ``v1alpha1.go``: ``SchemeGroupVersion``
and the package's ``+groupName`` marker, which controller-gen applies to every kind in it)."""

from __future__ import annotations

from typing import Any

from apis.serving import GROUP
from runtime.resource import CRD

__all__ = ["VERSION", "crd"]

VERSION = "v1alpha1"


def crd(**options: Any) -> CRD:
    """The ``__crd__`` of a kind in ``serving.kserve.io/v1alpha1``; ``options`` are the other
    :class:`~runtime.resource.CRD` fields (``kind``, ``plural``, ``scope``, ...)."""
    return CRD(group=GROUP, version=VERSION, **options)
