"""runtime.apply: what counts as a difference between desired and stored state."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.apply import Applier, contains

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d", "namespace": "ns", "labels": {"app": "x"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "img:1",
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}},
                    }
                ]
            }
        }
    },
}


def _live(**changes: Any) -> dict[str, Any]:
    import copy

    live = copy.deepcopy(DEPLOY)
    live["metadata"].update(resourceVersion="7", uid="u", labels={"app": "x", "other": "y"})
    c = live["spec"]["template"]["spec"]["containers"][0]
    c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    c["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    live["spec"]["replicas"] = 3
    live["status"] = {"replicas": 3}
    for path, value in changes.items():
        node = live
        *parents, last = path.split(".")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return live


_DELETE = object()
C0 = "spec.template.spec.containers.0"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),  # server defaults, canonical quantities, other labels, status: no diff
        ({f"{C0}.image": "img:2"}, False),
        ({f"{C0}.env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}, False),
        ({f"{C0}.env": []}, False),
        ({f"{C0}.resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}, False),
        ({"metadata.labels": {"app": "y"}}, False),
        ({"metadata.labels": _DELETE}, False),
        ({f"{C0}.env.0": {"name": "A", "value": "1.0"}}, False),  # env values are text
    ],
)
def test_contains(changes: dict[str, Any], expected: bool) -> None:
    assert contains(DEPLOY, _live(**changes)) is expected


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        ({"a": False}, {}, True),  # omitempty: a zero value matches an absent field
        ({"a": 0, "b": "", "c": {}, "d": []}, {}, True),
        ({"a": True}, {}, False),
        ({"a": 1}, {"a": 1.0}, True),  # JSON numbers
        ({"a": 1}, {"a": True}, False),
        ({"a": "1"}, {"a": 1}, False),  # int-or-string values keep their type
        ({"a": None}, {"a": 5}, True),  # unset: anything goes
        ({"limits": {"cpu": "0.5"}}, {"limits": {"cpu": "500m"}}, True),
        ({"sizeLimit": "1024Mi"}, {"sizeLimit": "1Gi"}, True),
        ({"image": "1.0"}, {"image": "1"}, False),  # not a quantity field
        ({"l": [{"x": 1}]}, {"l": [{"x": 1, "y": 2}]}, True),
        ({"l": [{"x": 1}]}, {"l": [{"x": 2}]}, False),
        ({"l": []}, {}, True),
        ({"m": {"k": "v"}}, {"m": None}, False),
    ],
)
def test_contains_values(desired: Any, live: Any, expected: bool) -> None:
    assert contains(desired, live) is expected


class _RecordingClient:
    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        return obj


@pytest.mark.anyio
async def test_applier_writes_only_differences() -> None:
    client = _RecordingClient()
    applier = Applier(client)
    assert await applier.apply(DEPLOY, None)  # absent: created
    assert not await applier.apply(DEPLOY, _live())  # stored as wanted: no request
    changed = {**DEPLOY, "metadata": {**DEPLOY["metadata"], "labels": {}}}
    # a removed label is "contained" in the live object, but we applied something else last
    assert await applier.apply(changed, _live())
    assert not await applier.apply(changed, _live())
    assert len(client.applied) == 2


@pytest.mark.anyio
async def test_applier_after_restart_trusts_containment() -> None:
    client = _RecordingClient()
    assert not await Applier(client).apply(DEPLOY, _live())
    assert client.applied == []
