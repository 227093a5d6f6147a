"""runtime.client's controllerutil helpers on objects no apiserver is needed for."""

from __future__ import annotations

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from runtime.client import set_controller_reference
from runtime.codec import PartialObjectMetadata


def test_owner_reference_from_a_metadata_only_owner() -> None:
    # what a metadata-only informer hands a controller: the GVK is on the object (the watched
    # type's), not derivable from its Python type
    owner = PartialObjectMetadata(
        metadata=ObjectMeta(name="owner", namespace="ns", uid="uid-owner"),
        apiVersion="v1", kind="ConfigMap",
    )
    child = ConfigMap(metadata=ObjectMeta(name="child", namespace="ns"))
    set_controller_reference(owner, child)
    assert child.metadata is not None and child.metadata.ownerReferences is not None
    ref = child.metadata.ownerReferences[0]
    assert (ref.apiVersion, ref.kind, ref.name, ref.uid, ref.controller) == (
        "v1", "ConfigMap", "owner", "uid-owner", True)
