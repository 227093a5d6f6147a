"""Handlers: which requests each event puts on the queue (controller-runtime pkg/handler)."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import ConfigMap, Namespace

from runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from runtime.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
)
from runtime.reconcile import Request
from runtime.restmapper import GVK, gvk_of, is_namespaced


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[Request] = []

    def add(self, item: Request) -> None:
        self.added.append(item)


def ref(kind: str, name: str, api_version: str = "apps/v1", controller: bool | None = True,
        uid: str = "u") -> OwnerReference:
    return OwnerReference(apiVersion=api_version, kind=kind, name=name, uid=uid,
                          controller=controller)


def rs(name: str = "rs", ns: str = "ns", owners: list[OwnerReference] | None = None) -> ReplicaSet:
    return ReplicaSet(metadata=ObjectMeta(name=name, namespace=ns, ownerReferences=owners))


def test_enqueue_for_object_all_events() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForObject()
    cm = ConfigMap(metadata=ObjectMeta(name="a", namespace="n1"))
    h.create(CreateEvent(cm), q)
    h.update(UpdateEvent(cm, ConfigMap(metadata=ObjectMeta(name="a", namespace="n1"))), q)
    h.delete(DeleteEvent(cm), q)
    h.generic(GenericEvent({"metadata": {"name": "b", "namespace": "n2"}}), q)
    h.create(CreateEvent(Namespace(metadata=ObjectMeta(name="cluster-scoped"))), q)
    assert q.added == [Request("n1", "a")] * 3 + [Request("n2", "b"),
                                                   Request("", "cluster-scoped")]


def test_enqueue_for_object_update_falls_back_to_old() -> None:
    q = RecordingQueue()
    EnqueueRequestForObject().update(
        UpdateEvent(ConfigMap(metadata=ObjectMeta(name="old", namespace="n")), None), q)
    assert q.added == [Request("n", "old")]


def test_enqueue_for_owner_only_controller() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(Deployment)
    obj = rs(owners=[ref("Deployment", "ctrl", controller=True),
                     ref("Deployment", "other", controller=False),
                     ref("StatefulSet", "sts"),
                     ref("Deployment", "wronggroup", api_version="example.com/v1")])
    h.create(CreateEvent(obj), q)
    assert q.added == [Request("ns", "ctrl")]


def test_enqueue_for_owner_match_every_owner() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(Deployment, only_controller=False)
    h.delete(DeleteEvent(rs(owners=[ref("Deployment", "a", controller=None),
                                     ref("Deployment", "b")])), q)
    assert sorted(q.added) == [Request("ns", "a"), Request("ns", "b")]


def test_enqueue_for_owner_matches_any_version_of_group() -> None:
    q = RecordingQueue()
    EnqueueRequestForOwner(Deployment).generic(
        GenericEvent(rs(owners=[ref("Deployment", "d", api_version="apps/v1beta2")])), q)
    assert q.added == [Request("ns", "d")]


def test_enqueue_for_owner_update_enqueues_old_and_new_owner_once() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(Deployment)
    old = rs(owners=[ref("Deployment", "a")])
    new = rs(owners=[ref("Deployment", "b")])
    h.update(UpdateEvent(old, new), q)
    assert sorted(q.added) == [Request("ns", "a"), Request("ns", "b")]
    q.added.clear()
    h.update(UpdateEvent(old, old), q)
    assert q.added == [Request("ns", "a")]


def test_enqueue_for_cluster_scoped_owner_has_no_namespace() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(Namespace)
    cm = ConfigMap(metadata=ObjectMeta(name="c", namespace="ns", ownerReferences=[
        ref("Namespace", "ns", api_version="v1")]))
    h.create(CreateEvent(cm), q)
    assert q.added == [Request("", "ns")]


def test_enqueue_for_owner_with_dict_objects_and_custom_gvk() -> None:
    q = RecordingQueue()
    h = EnqueueRequestForOwner(GVK("serving.kserve.io", "v1beta1", "InferenceService"))
    obj = {"metadata": {"name": "x", "namespace": "n", "ownerReferences": [
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
         "name": "isvc", "uid": "1", "controller": True}]}}
    h.create(CreateEvent(obj), q)
    assert q.added == [Request("n", "isvc")]


def test_map_func_handler_dedups_old_and_new() -> None:
    q = RecordingQueue()
    calls: list[Any] = []

    def map_fn(obj: Any) -> list[Request]:
        calls.append(obj)
        return [Request("n", obj.metadata.labels["owner"]), Request("n", "always")]

    h = EnqueueRequestsFromMapFunc(map_fn)
    a = ConfigMap(metadata=ObjectMeta(name="c", labels={"owner": "a"}))
    b = ConfigMap(metadata=ObjectMeta(name="c", labels={"owner": "b"}))
    h.update(UpdateEvent(a, b), q)
    assert q.added == [Request("n", "a"), Request("n", "always"), Request("n", "b")]
    assert calls == [a, b]
    q.added.clear()
    h.create(CreateEvent(a), q)
    h.delete(DeleteEvent(b), q)
    h.generic(GenericEvent(a), q)
    assert q.added == [Request("n", "a"), Request("n", "always"), Request("n", "b"),
                       Request("n", "always"), Request("n", "a"), Request("n", "always")]


def test_gvk_of_and_scope() -> None:
    assert gvk_of(Deployment) == GVK("apps", "v1", "Deployment")
    assert gvk_of(ConfigMap).api_version == "v1"
    assert GVK.from_api_version("serving.kserve.io/v1beta1", "X").group == "serving.kserve.io"

    class Custom:
        __group__ = "example.com"
        __version__ = "v1"
        __kind__ = "Thing"
        __namespaced__ = False

    assert gvk_of(Custom) == GVK("example.com", "v1", "Thing")
    assert not is_namespaced(Custom)
    assert is_namespaced(ConfigMap) and not is_namespaced(Namespace)
    with pytest.raises(TypeError):
        gvk_of(object())


def test_async_map_func_needs_a_spawning_queue() -> None:
    async def map_fn(obj: Any) -> list[Request]:
        return []

    h = EnqueueRequestsFromMapFunc(map_fn)
    assert h.is_async
    with pytest.raises(TypeError, match="spawn"):
        h.create(CreateEvent(ConfigMap(metadata=ObjectMeta(name="c"))), RecordingQueue())
