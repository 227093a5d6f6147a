"""runtime.webhook.jsonpatch: the patch a mutating webhook answers turns the object the API
server sent into the defaulted one, exactly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.webhook.jsonpatch import JSONPatchError, apply_patch, create_patch


@pytest.mark.parametrize(
    ("old", "new", "ops"),
    [
        ({}, {}, []),
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, [{"op": "replace", "path": "/a", "value": 2}]),
        ({"a": 1}, {}, [{"op": "remove", "path": "/a"}]),
        ({}, {"a": {"b": 1}}, [{"op": "add", "path": "/a", "value": {"b": 1}}]),
        ({"a/b": 1, "c~d": 1}, {"a/b": 2, "c~d": 2},
         [{"op": "replace", "path": "/a~1b", "value": 2},
          {"op": "replace", "path": "/c~0d", "value": 2}]),
        ({"l": [1, 2]}, {"l": [1, 2, 3, 4]},
         [{"op": "add", "path": "/l/2", "value": 3}, {"op": "add", "path": "/l/3", "value": 4}]),
        ({"l": [1, 2]}, {"l": [1, 5]}, [{"op": "replace", "path": "/l/1", "value": 5}]),
        ({"l": [1, 2]}, {"l": [2]}, [{"op": "replace", "path": "/l", "value": [2]}]),
        ({"l": [{"a": 1}]}, {"l": [{"a": 1, "b": 2}]},
         [{"op": "add", "path": "/l/0/b", "value": 2}]),
        ({"x": 1}, {"x": 1.0}, []),  # the same JSON number
        ({"x": 1}, {"x": True}, [{"op": "replace", "path": "/x", "value": True}]),
        ({"x": None}, {"x": 0}, [{"op": "replace", "path": "/x", "value": 0}]),
        ({"x": {}}, {"x": []}, [{"op": "replace", "path": "/x", "value": []}]),
    ],
    ids=lambda v: str(v)[:40],
)
def test_create_patch(old: Any, new: Any, ops: list[dict[str, Any]]) -> None:
    assert create_patch(old, new) == ops
    assert apply_patch(old, ops) == new


@pytest.mark.parametrize(
    ("doc", "patch"),
    [
        ({}, [{"op": "remove", "path": "/a"}]),
        ({"a": []}, [{"op": "replace", "path": "/a/0", "value": 1}]),
        ({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 1}]),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": 2}]),
        ({"a": 1}, [{"op": "move", "path": "/a", "from": "/b"}]),
        ({"a": 1}, [{"op": "add", "path": "a", "value": 1}]),
    ],
)
def test_apply_patch_errors(doc: Any, patch: list[dict[str, Any]]) -> None:
    with pytest.raises(JSONPatchError):
        apply_patch(doc, patch)


def test_apply_patch_does_not_touch_input() -> None:
    doc = {"a": {"b": [1]}}
    out = apply_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 2}])
    assert out == {"a": {"b": [1, 2]}}
    assert doc == {"a": {"b": [1]}}


_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet="ab/~", max_size=3), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_json, _json)
def test_patch_roundtrip(old: Any, new: Any) -> None:
    assert apply_patch(old, create_patch(old, new)) == new
