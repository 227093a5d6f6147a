"""runtime.written: the newer of the cached object and our own last write."""

from __future__ import annotations

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from runtime.written import WrittenObjects


def cm(rv: str, uid: str = "u1", data: str = "") -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="a", namespace="ns", uid=uid, resourceVersion=rv),
                     data={"k": data})


def test_newer_write_wins_until_the_cache_catches_up() -> None:
    w = WrittenObjects()
    w.remember(cm("7", data="mine"))
    got = w.freshest(cm("5", data="stale"))
    assert got.data == {"k": "mine"}
    got.data["k"] = "changed"  # a copy: the remembered object is not shared
    assert w.freshest(cm("5")).data == {"k": "mine"}
    caught_up = cm("7", data="cache")
    assert w.freshest(caught_up) is caught_up
    assert w.freshest(cm("5", data="stale")).data == {"k": "stale"}  # forgotten


def test_recreated_object_and_odd_versions_use_the_cache() -> None:
    w = WrittenObjects()
    w.remember(cm("9", uid="old"))
    fresh = cm("3", uid="new")
    assert w.freshest(fresh) is fresh  # another object with the same name
    w.remember(cm("abc"))
    odd = cm("2")
    assert w.freshest(odd) is odd
    assert w.freshest(None) is None
