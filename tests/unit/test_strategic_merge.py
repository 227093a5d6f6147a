"""runtime.strategic_merge: apimachinery's StrategicMergePatch on JSON objects typed by their
OpenAPI definition. Expected values were checked against apimachinery's strategicpatch (Go)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.strategic_merge import CONTAINER, POD_SPEC, StrategicMergeError, strategic_merge

J = dict[str, Any]


@pytest.mark.parametrize(
    ("original", "patch", "definition", "expected"),
    [
        # null deletes a key; nested nulls are dropped when the key is new
        (
            {"a": 1, "b": 2},
            {"a": None, "c": {"d": None, "e": 1}},
            CONTAINER,
            {"b": 2, "c": {"e": 1}},
        ),
        # kinds differ: replaced
        (
            {"resources": {"limits": {"cpu": "1"}}},
            {"resources": "x"},
            CONTAINER,
            {"resources": "x"},
        ),
        # merge list: patch items in patch order; an original-only item is placed before the
        # first patch item that follows it in the original (b before c)
        (
            {"env": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
            {"env": [{"name": "c", "value": "3"}, {"name": "x"}, {"name": "a", "value": "1"}]},
            CONTAINER,
            {
                "env": [
                    {"name": "b"},
                    {"name": "c", "value": "3"},
                    {"name": "x"},
                    {"name": "a", "value": "1"},
                ]
            },
        ),
        # volumes by name: sources of the same name are merged (both end up set)
        (
            {"volumes": [{"name": "v", "emptyDir": {}}]},
            {"volumes": [{"name": "v", "configMap": {"name": "cm"}}]},
            POD_SPEC,
            {"volumes": [{"name": "v", "emptyDir": {}, "configMap": {"name": "cm"}}]},
        ),
        # containers by name inside a pod spec, each container merged by its own rules
        (
            {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]},
            {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}, {"name": "b"}]},
            POD_SPEC,
            {
                "containers": [
                    {
                        # X is original-only, Y new: the patch item comes first (as Go)
                        "name": "a",
                        "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}],
                    },
                    {"name": "b"},
                ]
            },
        ),
    ],
    ids=["null-deletes", "kind-change", "merge-order", "volume-merge", "containers-by-name"],
)
def test_strategic_merge(original: J, patch: J, definition: str, expected: J) -> None:
    before = repr(original)
    assert strategic_merge(original, patch, definition) == expected
    assert repr(original) == before  # input untouched


def test_strategic_merge_missing_merge_key() -> None:
    with pytest.raises(StrategicMergeError, match="merge key"):
        strategic_merge({"env": [{"name": "a"}]}, {"env": [{"value": "x"}]}, CONTAINER)
