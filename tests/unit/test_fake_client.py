"""runtime.testing.fake_client: the in-memory client reconciler unit tests use, and the
pure patch helpers under it. What matters is that it answers as the apiserver does where
reconcilers depend on it (errors, resourceVersion, status subresource, apply ownership)."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from lightkube import operators
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.types import PatchType
from pydantic import Field

from runtime.client import ignore_not_found, is_already_exists, is_conflict, is_not_found
from runtime.codec import PartialObjectMetadata, api_error
from runtime.resource import CRD, CustomResource, KubeModel
from runtime.testing.fake_client import FakeClient, Request
from runtime.testing.patch import del_path, json_patch, leaves, merge_patch, set_path

pytestmark = pytest.mark.anyio


def cm(name: str, ns: str = "ns", labels: dict[str, str] | None = None, **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=ns, labels=labels), data=data)


def deploy(name: str, replicas: int = 1, ns: str = "ns") -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=DeploymentSpec(selector=LabelSelector(matchLabels={"app": name}),
                            template=PodTemplateSpec(), replicas=replicas),
    )


class WidgetSpec(KubeModel):
    size: int | None = Field(None, alias="size")


class WidgetStatus(KubeModel):
    ready: bool | None = Field(None, alias="ready")


class Widget(CustomResource):
    __crd__ = CRD(group="test.kserve-py.io", version="v1", kind="Widget", plural="widgets",
                  status_subresource=True)
    spec: WidgetSpec | None = Field(None, alias="spec")
    status: WidgetStatus | None = Field(None, alias="status")


async def raises(aw: Any) -> Any:
    with pytest.raises(Exception) as exc:
        await aw
    return exc.value


# --------------------------------------------------------------------------- CRUD


async def test_create_sets_server_metadata_and_get_returns_a_fresh_copy() -> None:
    c = FakeClient()
    made = await c.create(cm("a", k="v"))
    assert isinstance(made, ConfigMap)
    m = made.metadata
    assert m.uid and m.resourceVersion and m.creationTimestamp and m.generation == 1
    got = await c.get(ConfigMap, "a", "ns")
    assert got.data == {"k": "v"} and got.metadata.uid == m.uid
    got.data["k"] = "changed locally"
    assert (await c.get(ConfigMap, "a", "ns")).data == {"k": "v"}


async def test_errors_are_shaped_like_the_apiservers() -> None:
    c = FakeClient(cm("a"))
    e = await raises(c.get(ConfigMap, "missing", "ns"))
    assert is_not_found(e)
    assert e.status.message == 'configmaps "missing" not found'
    assert (e.status.details.kind, e.status.details.name) == ("configmaps", "missing")
    e = await raises(c.get(Deployment, "missing", "ns"))
    assert e.status.message == 'deployments.apps "missing" not found'
    assert e.status.details.group == "apps"
    e = await raises(c.create(cm("a")))
    assert is_already_exists(e) and not is_not_found(e)
    assert (e.status.code, e.status.message) == (409, 'configmaps "a" already exists')
    assert await ignore_not_found(c.delete(ConfigMap, "missing", "ns")) is None


@pytest.mark.parametrize("call", [
    lambda c: c.get(ConfigMap, "a"),
    lambda c: c.create(ConfigMap(metadata=ObjectMeta(name="a"))),
    lambda c: c.create(ConfigMap(metadata=ObjectMeta(namespace="ns"))),
])
async def test_missing_name_or_namespace_is_refused_before_any_request(call: Any) -> None:
    c = FakeClient()
    with pytest.raises(ValueError, match=r"metadata\.name|namespace"):
        await call(c)
    assert c.requests == []


async def test_update_conflicts_on_a_stale_resource_version_and_noop_keeps_it() -> None:
    c = FakeClient()
    first = await c.create(cm("a", k="1"))
    fresh = await c.get(ConfigMap, "a", "ns")
    fresh.data["k"] = "2"
    second = await c.update(fresh)
    assert int(second.metadata.resourceVersion) > int(first.metadata.resourceVersion)
    first.data["k"] = "3"  # still carries the old resourceVersion
    e = await raises(c.update(first))
    assert is_conflict(e) and "the object has been modified" in e.status.message
    assert (await c.get(ConfigMap, "a", "ns")).data == {"k": "2"}
    # an update without resourceVersion is unconditional; the same content is a no-op
    same = await c.get(ConfigMap, "a", "ns")
    again = await c.update(same)
    assert again.metadata.resourceVersion == second.metadata.resourceVersion


async def test_update_of_a_missing_object_is_not_found() -> None:
    assert is_not_found(await raises(FakeClient().update(cm("a"))))


async def test_generation_follows_the_spec_not_metadata() -> None:
    c = FakeClient()
    d = await c.create(deploy("d"))
    d.metadata.labels = {"x": "y"}
    d = await c.update(d)
    assert d.metadata.generation == 1
    d.spec.replicas = 3
    d = await c.update(d)
    assert d.metadata.generation == 2


async def test_status_is_a_subresource() -> None:
    c = FakeClient()
    w = await c.create(Widget(metadata=ObjectMeta(name="w", namespace="ns"),
                              spec=WidgetSpec(size=1), status=WidgetStatus(ready=True)))
    assert isinstance(w, Widget) and w.status is None  # create ignores status
    w.status = WidgetStatus(ready=True)
    w.spec = WidgetSpec(size=5)
    out = await c.update_status(w)
    assert out.status.ready is True and out.spec.size == 1  # only status written
    out.status = WidgetStatus(ready=False)
    out.spec = WidgetSpec(size=7)
    out = await c.update(out)
    assert out.status.ready is True and out.spec.size == 7  # status kept
    out = await c.patch_status(Widget, "w", {"status": {"ready": False}, "spec": {"size": 9}},
                               namespace="ns")
    assert out.status.ready is False and out.spec.size == 7


async def test_generate_name_and_dry_run() -> None:
    c = FakeClient()
    made = await c.create(ConfigMap(metadata=ObjectMeta(generateName="x-", namespace="ns")))
    assert made.metadata.name.startswith("x-") and len(made.metadata.name) == 7
    await c.create(cm("dry"), dry_run=True)
    assert is_not_found(await raises(c.get(ConfigMap, "dry", "ns")))


async def test_dicts_resolve_through_lightkubes_registry() -> None:
    c = FakeClient()
    made = await c.create({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "d", "namespace": "ns"}, "data": {"a": "b"}})
    assert isinstance(made, dict) and made["data"] == {"a": "b"}
    assert (await c.get(ConfigMap, "d", "ns")).data == {"a": "b"}
    with pytest.raises(TypeError, match="unknown resource"):
        await c.create({"apiVersion": "x.io/v1", "kind": "Nope", "metadata": {"name": "n"}})


async def test_cluster_scoped_objects() -> None:
    c = FakeClient(Namespace(metadata=ObjectMeta(name="team")))
    assert (await c.get(Namespace, "team")).metadata.name == "team"
    await c.delete(Namespace, "team")
    assert await c.list(Namespace) == []


# --------------------------------------------------------------------------- patch


async def test_a_spec_patch_keeps_the_server_metadata_and_bumps_generation() -> None:
    c = FakeClient()
    d = await c.create(deploy("d"))
    out = await c.patch(Deployment, "d", {"spec": {"replicas": 4}}, namespace="ns")
    assert out.metadata.uid == d.metadata.uid and out.metadata.generation == 2
    assert out.metadata.creationTimestamp == d.metadata.creationTimestamp


async def test_merge_json_and_strategic_patches() -> None:
    c = FakeClient(cm("a", labels={"l": "1", "m": "2"}, k="v", drop="me"))
    out = await c.patch(ConfigMap, "a", {"data": {"drop": None, "new": "n"}}, namespace="ns")
    assert out.data == {"k": "v", "new": "n"}
    out = await c.patch(ConfigMap, "a", [{"op": "replace", "path": "/data/k", "value": "w"},
                                         {"op": "remove", "path": "/metadata/labels/m"}],
                        namespace="ns", patch_type=PatchType.JSON)
    assert out.data["k"] == "w" and out.metadata.labels == {"l": "1"}
    out = await c.patch(ConfigMap, "a", {"metadata": {"labels": {"s": "3"}}}, namespace="ns",
                        patch_type=PatchType.STRATEGIC)
    assert out.metadata.labels == {"l": "1", "s": "3"}
    e = await raises(c.patch(ConfigMap, "a", [{"op": "test", "path": "/data/k", "value": "x"}],
                             namespace="ns", patch_type=PatchType.JSON))
    assert e.status.code == 422 and e.status.reason == "Invalid"
    assert is_not_found(await raises(c.patch(ConfigMap, "zz", {}, namespace="ns")))


async def test_patch_with_a_resource_version_is_an_optimistic_lock() -> None:
    c = FakeClient(cm("a"))
    e = await raises(c.patch(ConfigMap, "a", {"metadata": {"resourceVersion": "999"}},
                             namespace="ns"))
    assert is_conflict(e)


# --------------------------------------------------------------------------- apply


async def test_apply_creates_then_removes_fields_it_no_longer_sets() -> None:
    c = FakeClient(field_manager="ctrl")
    await c.apply(cm("a", labels={"app": "x", "tier": "web"}, k="1", j="2"))
    out = await c.apply(cm("a", labels={"app": "x"}, k="1"))
    assert out.metadata.labels == {"app": "x"} and out.data == {"k": "1"}
    before = out.metadata.resourceVersion
    out = await c.apply(cm("a", labels={"app": "x"}, k="1"))
    assert out.metadata.resourceVersion == before  # nothing changed: no write


async def test_apply_keeps_other_managers_fields_and_conflicts_without_force() -> None:
    c = FakeClient(field_manager="ctrl")
    await c.apply(cm("a", k="1"))
    await c.patch(ConfigMap, "a", {"data": {"other": "x", "k": "2"}}, namespace="ns",
                  field_manager="kubectl")
    # k now belongs to kubectl: changing it without force conflicts and changes nothing
    e = await raises(c.apply(cm("a", k="1"), force=False))
    assert is_conflict(e) and "kubectl" in e.status.message and "data.k" in e.status.message
    assert (await c.get(ConfigMap, "a", "ns")).data == {"k": "2", "other": "x"}
    # forced, we take k back; kubectl's own field stays even though we do not set it
    out = await c.apply(cm("a", k="1"))
    assert out.data == {"k": "1", "other": "x"}
    # and with k ours alone again, dropping it from our config removes it
    out = await c.apply(cm("a"))
    assert out.data == {"other": "x"}


async def test_apply_of_the_same_value_is_shared_not_a_conflict() -> None:
    c = FakeClient()
    await c.apply(cm("a", k="1"), field_manager="one")
    await c.apply(cm("a", k="1"), field_manager="two", force=False)
    out = await c.apply(cm("a"), field_manager="one")
    assert out.data == {"k": "1"}  # "two" still owns it


async def test_apply_status_touches_only_status() -> None:
    c = FakeClient()
    w = Widget(metadata=ObjectMeta(name="w", namespace="ns"), spec=WidgetSpec(size=2))
    assert is_not_found(await raises(c.apply_status(w, WidgetStatus(ready=True))))
    applied = await c.apply(w)
    assert applied.status is None and applied.metadata.generation == 1
    out = await c.apply_status(applied, WidgetStatus(ready=True))
    assert out.status.ready is True and out.spec.size == 2 and out.metadata.generation == 1
    out = await c.apply(Widget(metadata=ObjectMeta(name="w", namespace="ns"),
                               spec=WidgetSpec(size=3)))
    assert out.status.ready is True and out.metadata.generation == 2


async def test_apply_patch_through_patch() -> None:
    c = FakeClient()
    out = await c.patch(ConfigMap, "a", {"apiVersion": "v1", "kind": "ConfigMap",
                                         "data": {"k": "v"}},
                        namespace="ns", patch_type=PatchType.APPLY, field_manager="m")
    assert out.data == {"k": "v"} and c.requests[-1].verb == "apply"


# --------------------------------------------------------------------------- delete


async def test_delete_waits_for_finalizers() -> None:
    c = FakeClient()
    obj = cm("a")
    obj.metadata.finalizers = ["example.com/cleanup"]
    await c.create(obj)
    await c.delete(ConfigMap, "a", "ns")
    held = await c.get(ConfigMap, "a", "ns")
    assert held.metadata.deletionTimestamp is not None
    held.metadata.finalizers = None
    await c.update(held)
    assert is_not_found(await raises(c.get(ConfigMap, "a", "ns")))


async def test_delete_by_object_and_preconditions() -> None:
    c = FakeClient()
    made = await c.create(cm("a"))
    assert is_conflict(await raises(c.delete(ConfigMap, "a", "ns", preconditions_uid="nope")))
    assert is_conflict(await raises(
        c.delete(ConfigMap, "a", "ns", preconditions_resource_version="0")))
    await c.delete(made, dry_run=True)
    await c.get(ConfigMap, "a", "ns")
    await c.delete(made)
    assert c.objects(ConfigMap) == []


# --------------------------------------------------------------------------- list


@pytest.fixture
def listed() -> FakeClient:
    return FakeClient(
        cm("b", "ns1", {"app": "web", "tier": "front"}),
        cm("a", "ns1", {"app": "web"}),
        cm("c", "ns2", {"app": "db"}),
        cm("d", "ns2"),
        deploy("a", ns="ns1"),
    )


@pytest.mark.parametrize(("namespace", "labels", "fields", "want"), [
    (None, None, None, ["ns1/a", "ns1/b", "ns2/c", "ns2/d"]),
    ("ns2", None, None, ["ns2/c", "ns2/d"]),
    (None, "app=web", None, ["ns1/a", "ns1/b"]),
    (None, "app!=web", None, ["ns2/c", "ns2/d"]),  # != matches objects without the label
    (None, "app in (db, web),!tier", None, ["ns1/a", "ns2/c"]),
    (None, "tier", None, ["ns1/b"]),
    (None, {"app": "web", "tier": None}, None, ["ns1/b"]),
    (None, {"app": operators.not_in(["web"])}, None, ["ns2/c", "ns2/d"]),
    (None, None, {"metadata.name": "c"}, ["ns2/c"]),
    (None, None, "metadata.namespace!=ns1", ["ns2/c", "ns2/d"]),
])
async def test_list_filters(listed: FakeClient, namespace: str | None, labels: Any,
                            fields: Any, want: list[str]) -> None:
    got = await listed.list(ConfigMap, namespace, labels=labels, fields=fields)
    assert [f"{o.metadata.namespace}/{o.metadata.name}" for o in got] == want


async def test_metadata_only_reads(listed: FakeClient) -> None:
    got = await listed.list(ConfigMap, "ns1", metadata_only=True)
    assert all(isinstance(o, PartialObjectMetadata) for o in got)
    assert [(o.apiVersion, o.kind, o.metadata.name) for o in got] == [
        ("v1", "ConfigMap", "a"), ("v1", "ConfigMap", "b")]
    one = await listed.api_reader.get(Deployment, "a", "ns1", metadata_only=True)
    assert (one.apiVersion, one.kind) == ("apps/v1", "Deployment")


# --------------------------------------------------------------------------- request log


async def test_request_log_counts_calls_and_intercept_injects() -> None:
    seen: list[Request] = []

    async def intercept(req: Request) -> None:
        seen.append(req)
        if req.verb == "update":
            raise api_error(500, "InternalError", "injected")
        await anyio.lowlevel.checkpoint()

    c = FakeClient(cm("a"), intercept=intercept)
    await c.get(ConfigMap, "a", "ns")
    await c.get(ConfigMap, "a", "ns")
    await c.apply(cm("a", k="v"))
    await c.apply_status(cm("a"), {})
    e = await raises(c.update(cm("a")))
    assert e.status.code == 500
    assert c.count("get") == 2 and c.count("apply") == 2
    assert c.count("apply", subresource="status") == 1
    assert c.count(kind="ConfigMap") == 5 and c.count("list") == 0
    assert seen == c.requests
    assert c.requests[0] == Request("get", "ConfigMap", "ns", "a")


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(("target", "patch", "want"), [
    ({"a": 1}, {"a": None}, {}),
    ({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}, {"a": {"c": 2, "d": 3}}),
    ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
    ({"a": 1}, {"b": {"c": None}}, {"a": 1, "b": {}}),
    ({"a": {"b": 1}, "m": {"x": 1}}, {"a": {"c": 2}}, {"a": {"b": 1, "c": 2}, "m": {"x": 1}}),
    ("not an object", {"a": 1}, {"a": 1}),
])
def test_merge_patch(target: Any, patch: Any, want: Any) -> None:
    before = copy.deepcopy(target)
    got = merge_patch(target, patch)
    assert got == want
    assert target == before  # the target is not changed, and shares nothing with the result
    for value in (got.values() if isinstance(got, dict) else ()):
        if isinstance(value, dict):
            value["z"] = 0
    assert target == before


@pytest.mark.parametrize(("ops", "want"), [
    ([{"op": "add", "path": "/l/-", "value": 9}], {"a": {"b": 1}, "l": [1, 2, 9]}),
    ([{"op": "add", "path": "/l/0", "value": 0}], {"a": {"b": 1}, "l": [0, 1, 2]}),
    ([{"op": "remove", "path": "/a/b"}], {"a": {}, "l": [1, 2]}),
    ([{"op": "move", "from": "/a/b", "path": "/c"}], {"a": {}, "l": [1, 2], "c": 1}),
    ([{"op": "copy", "from": "/l", "path": "/m"}], {"a": {"b": 1}, "l": [1, 2], "m": [1, 2]}),
    ([{"op": "add", "path": "/a/x~1y", "value": 2}], {"a": {"b": 1, "x/y": 2}, "l": [1, 2]}),
])
def test_json_patch(ops: list[dict[str, Any]], want: Any) -> None:
    doc = {"a": {"b": 1}, "l": [1, 2]}
    assert json_patch(doc, ops) == want
    assert doc == {"a": {"b": 1}, "l": [1, 2]}  # the input is not modified


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/a/b", "value": 2}],
    [{"op": "remove", "path": "/nope"}],
    [{"op": "frob", "path": "/a"}],
    [{"op": "add", "path": "", "value": 1}],
])
def test_json_patch_refuses_bad_operations(ops: list[dict[str, Any]]) -> None:
    with pytest.raises((ValueError, KeyError, IndexError)):
        json_patch({"a": {"b": 1}}, ops)


def test_leaves_and_paths() -> None:
    obj = {"apiVersion": "v1", "kind": "X",
           "metadata": {"name": "n", "uid": "u", "labels": {"a": "1"}, "resourceVersion": "3"},
           "spec": {"l": [1], "m": {}, "n": {"o": 1}}}
    assert leaves(obj) == {("metadata", "labels", "a"): "1", ("spec", "l"): [1],
                           ("spec", "m"): {}, ("spec", "n", "o"): 1}
    d: dict[str, Any] = {}
    set_path(d, ("a", "b", "c"), 1)
    assert d == {"a": {"b": {"c": 1}}}
    set_path(d, ("a", "x"), 2)
    del_path(d, ("a", "b", "c"))
    assert d == {"a": {"x": 2}}  # empty parents pruned
    del_path(d, ("a", "x"))
    assert d == {}
    del_path(d, ("missing", "path"))
