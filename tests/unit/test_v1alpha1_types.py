"""v1alpha1 API types: every field has an explicit camelCase alias and a docstring; kinds are
registered for codegen; helper methods mirror upstream."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from apis.serving import v1alpha1
from runtime.resource import CustomResource, registered
from tests.reference import reference


def _models(root: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if root in seen:
        return
    seen.add(root)
    for f in root.model_fields.values():
        stack: list[Any] = [f.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                _models(t, seen)
            stack.extend(getattr(t, "__args__", ()) or ())
            stack.extend(getattr(t, "__metadata__", ()) or ())
            origin = getattr(t, "__origin__", None)
            if origin is not None:
                stack.append(origin)


KINDS = [c for c in registered("apis.serving.v1alpha1")]


def test_registered_kinds_are_upstreams_v1alpha1_kinds() -> None:
    """The registry holds exactly the v1alpha1 kinds of upstream's CRDs (read from the
    reference, not listed by hand)."""
    upstream = set()
    for path in reference("crd").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if any(v["name"] == "v1alpha1" for v in crd["spec"]["versions"]):
            upstream.add(crd["spec"]["names"]["kind"])
    assert len(upstream) == 9
    assert sorted(k.__crd__.kind for k in KINDS) == sorted(upstream)


def test_every_field_has_alias_and_docstring() -> None:
    seen: set[type[BaseModel]] = set()
    for k in KINDS:
        _models(k, seen)
    missing = []
    for model in seen:
        if not model.__module__.startswith("apis.serving.v1alpha1"):
            continue
        for name, f in model.model_fields.items():
            if name in CustomResource.model_fields:  # apiVersion/kind/metadata: the base's
                continue
            if f.alias is None or "_" in f.alias:
                missing.append(f"{model.__name__}.{name}: alias")
            if not f.description:
                missing.append(f"{model.__name__}.{name}: docstring")
    assert missing == []


def test_helpers() -> None:
    spec = v1alpha1.ServingRuntimeSpec.model_validate(
        {
            "containers": [{"name": "kserve-container"}],
            "supportedModelFormats": [{"name": "sklearn", "priority": 2, "autoSelect": True}],
            "protocolVersions": ["v1"],
            "disabled": True,
        }
    )
    assert (
        spec.is_disabled()
        and not spec.is_multi_model_runtime()
        and not spec.is_multi_node_runtime()
    )
    assert spec.is_protocol_version_supported("v1") and not spec.is_protocol_version_supported("v2")
    assert spec.is_protocol_version_supported(None)
    assert spec.get_priority("sklearn") == 2 and spec.get_priority("x") is None
    assert (
        v1alpha1.get_storage_key("gs://b/m")
        == __import__("hashlib").sha256(b"gs://b/m").hexdigest()[:16]
    )
    assert v1alpha1.match_storage_uri("gs://b/m/", "gs://b/m/sub")
    assert not v1alpha1.match_storage_uri("gs://b/m", "gs://b/mm")
    info = v1alpha1.LocalModelInfo.model_validate(
        {"sourceModelUri": "u", "modelName": "m", "namespace": "ns"}
    )
    assert info.get_status_key() == "ns/m"
    csc = v1alpha1.ClusterStorageContainer.model_validate(
        {
            "metadata": {"name": "c"},
            "spec": {
                "container": {"name": "s", "image": "i"},
                "supportedUriFormats": [{"prefix": "hdfs://"}, {"regex": "^custom://.*"}],
            },
        }
    )
    assert not csc.is_disabled()
    assert csc.spec is not None
    assert csc.spec.is_storage_uri_supported("hdfs://x") and csc.spec.is_storage_uri_supported(
        "custom://y"
    )
    assert not csc.spec.is_storage_uri_supported("s3://z")


@pytest.mark.parametrize(("priority", "ok"), [(1, True), (0, False)])
def test_priority_minimum(priority: int, ok: bool) -> None:
    data = {"name": "sklearn", "priority": priority}
    if ok:
        v1alpha1.SupportedModelFormat.model_validate(data)
    else:
        with pytest.raises(ValueError):
            v1alpha1.SupportedModelFormat.model_validate(data)
