"""What the webhook fuzz tests share: breaking one value of a drawn object."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

_REMOVE = "<remove>"


def json_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path below ``node`` (a JSON value), outermost first."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += json_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += json_paths(v, (*prefix, i))
    return out


def break_one(
    draw: st.DrawFn,
    obj: Any,
    paths: Sequence[tuple[Any, ...]],
    choices: Sequence[Any],
    *,
    removable: bool = False,
) -> None:
    """Replace the value at one of ``paths`` of ``obj`` by one of ``choices`` of another JSON
    type (a copy), or, with ``removable``, remove it. Nothing without paths."""
    if not paths:
        return
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent: Any = obj
    for p in path[:-1]:
        parent = parent[p]
    old = parent[path[-1]]
    options = [c for c in choices if type(c) is not type(old)]
    new = draw(st.sampled_from([*options, _REMOVE] if removable else options))
    if new == _REMOVE:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    else:
        parent[path[-1]] = copy.deepcopy(new)
