"""Pure JSON document operations the fake client (:mod:`runtime.testing.fake_client`) is
built on: RFC 7386 merge patches, RFC 6902 JSON patches, and objects seen as paths to leaf
values (what server-side apply's field ownership is about)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SERVER_METADATA", "Path", "del_path", "json_patch", "leaves", "merge_patch",
           "set_path"]

Path = tuple[str, ...]

SERVER_METADATA = frozenset({
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
})
"""metadata the server owns: never taken from a request, never part of field ownership"""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge recursively, ``null`` deletes, the rest replaces.
    The result shares nothing with ``target`` or ``patch``."""
    return _merge(copy.deepcopy(target), patch)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = target if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    if not parts:
        raise ValueError("the JSON patch path must not be the whole document")
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur, parts[-1]


def _jp_get(doc: Any, path: str) -> Any:
    cur = doc
    for p in _pointer(path):
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur


def _jp_add(doc: Any, path: str, value: Any) -> None:
    parent, last = _parent(doc, _pointer(path))
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value


def _jp_remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, _pointer(path))
    return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)


def json_patch(doc: Any, ops: Iterable[Mapping[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy of ``doc``.
    Raises ``ValueError`` (or ``KeyError``/``IndexError``) on a bad operation."""
    out = copy.deepcopy(doc)
    for op in ops:
        kind, path = op["op"], op["path"]
        if kind == "add":
            _jp_add(out, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _jp_remove(out, path)
        elif kind == "replace":
            _jp_remove(out, path)
            _jp_add(out, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            _jp_add(out, path, _jp_remove(out, op["from"]))
        elif kind == "copy":
            _jp_add(out, path, copy.deepcopy(_jp_get(out, op["from"])))
        elif kind == "test":
            if _jp_get(out, path) != op["value"]:
                raise ValueError(f"test operation failed at {path}")
        else:
            raise ValueError(f"unknown JSON patch operation {kind!r}")
    return out


def leaves(obj: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """The fields a write sets, as paths to leaf values (lists and empty maps are leaves),
    leaving out apiVersion, kind, name, namespace and the server's metadata."""
    out: dict[Path, Any] = {}
    for k, v in obj.items():
        if not prefix and k in ("apiVersion", "kind"):
            continue
        if prefix == ("metadata",) and (k in SERVER_METADATA or k in ("name", "namespace")):
            continue
        p = (*prefix, k)
        if isinstance(v, dict) and v:
            out.update(leaves(v, p))
        else:
            out[p] = v
    return out


def set_path(obj: dict[str, Any], path: Path, value: Any) -> None:
    cur = obj
    for p in path[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = cur[p] = {}
        cur = nxt
    cur[path[-1]] = copy.deepcopy(value)


def del_path(obj: dict[str, Any], path: Path) -> None:
    """Remove ``path`` and the maps it leaves empty."""
    chain: list[dict[str, Any]] = [obj]
    for p in path[:-1]:
        nxt = chain[-1].get(p)
        if not isinstance(nxt, dict):
            return
        chain.append(nxt)
    chain[-1].pop(path[-1], None)
    for i in range(len(chain) - 1, 0, -1):
        if chain[i]:
            break
        chain[i - 1].pop(path[i - 1], None)
