"""RFC 6902 JSON patches between two JSON documents: what a mutating webhook answers.

:func:`create_patch` diffs the object the API server sent with the defaulted one, as
controller-runtime's ``PatchResponseFromRaw`` (gomodules ``jsonpatch.CreatePatch``) does:
``add``/``remove``/``replace`` per object key, recursing into objects. Lists are compared
element by element when their lengths match; a list that only grew at the end gets ``add``
operations for the new elements; any other list change replaces the list (always correct,
and what mutators produce - appended containers, volumes, env - stays small). The patch,
applied to the original, gives exactly the new document (:func:`apply_patch`, used by the
tests and any caller that wants the result of its own patch).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["JSONPatchError", "apply_patch", "create_patch", "escape", "unescape"]

Operation = dict[str, Any]


class JSONPatchError(ValueError):
    """A patch that does not apply to the document."""


def escape(token: str) -> str:
    """A JSON-pointer reference token (RFC 6901): ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _same(a: Any, b: Any) -> bool:
    # JSON equality: 1 == 1.0 is the same number, but True is not 1
    if type(a) is not type(b):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a == b
        return False
    return bool(a == b)


def _diff(old: Any, new: Any, path: str, out: list[Operation]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            if k not in new:
                out.append({"op": "remove", "path": f"{path}/{escape(k)}"})
        for k, v in new.items():
            p = f"{path}/{escape(k)}"
            if k not in old:
                out.append({"op": "add", "path": p, "value": v})
            else:
                _diff(old[k], v, p, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        n = len(old)
        if len(new) == n:
            for i in range(n):
                _diff(old[i], new[i], f"{path}/{i}", out)
            return
        if len(new) > n and all(_same_deep(old[i], new[i]) for i in range(n)):
            for i in range(n, len(new)):
                out.append({"op": "add", "path": f"{path}/{i}", "value": new[i]})
            return
        out.append({"op": "replace", "path": path, "value": new})
        return
    if not _same(old, new):
        out.append({"op": "replace", "path": path, "value": new})


def create_patch(original: Any, current: Any) -> list[Operation]:
    """Operations turning ``original`` into ``current`` (both JSON values); ``[]`` if equal.
    Values in the operations are shared with ``current`` (do not mutate it afterwards)."""
    out: list[Operation] = []
    _diff(original, current, "", out)
    return out


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    if not path.startswith("/"):
        raise JSONPatchError(f"invalid JSON pointer {path!r}")
    tokens = [unescape(t) for t in path[1:].split("/")]
    node = doc
    for t in tokens[:-1]:
        if isinstance(node, dict):
            if t not in node:
                raise JSONPatchError(f"path {path!r} does not exist")
            node = node[t]
        elif isinstance(node, list):
            node = node[_index(t, len(node) - 1, path)]
        else:
            raise JSONPatchError(f"path {path!r} does not exist")
    return node, tokens[-1]


def _index(token: str, last: int, path: str) -> int:
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise JSONPatchError(f"invalid array index in {path!r}")
    i = int(token)
    if i > last:
        raise JSONPatchError(f"array index out of range in {path!r}")
    return i


def apply_patch(doc: Any, patch: Sequence[Mapping[str, Any]]) -> Any:
    """``doc`` with ``patch`` applied (a new document; ``doc`` is untouched). Supports
    add, remove, replace and test (what mutating webhooks send)."""
    out = copy.deepcopy(doc)
    for op in patch:
        kind, path = op.get("op"), op.get("path")
        if not isinstance(path, str):
            raise JSONPatchError(f"operation without a path: {op!r}")
        if path == "":
            if kind in ("add", "replace"):
                out = copy.deepcopy(op["value"])
                continue
            if kind == "test":
                if not _same_deep(out, op.get("value")):
                    raise JSONPatchError("test failed at the document root")
                continue
            raise JSONPatchError(f"cannot {kind} the document root")
        parent, key = _parent(out, path)
        if kind == "add":
            value = copy.deepcopy(op["value"])
            if isinstance(parent, dict):
                parent[key] = value
            elif isinstance(parent, list):
                parent.insert(len(parent) if key == "-" else _index(key, len(parent), path), value)
            else:
                raise JSONPatchError(f"path {path!r} does not exist")
        elif kind in ("remove", "replace", "test"):
            if isinstance(parent, dict):
                if key not in parent:
                    raise JSONPatchError(f"path {path!r} does not exist")
                idx: Any = key
            elif isinstance(parent, list):
                idx = _index(key, len(parent) - 1, path)
            else:
                raise JSONPatchError(f"path {path!r} does not exist")
            if kind == "remove":
                del parent[idx]
            elif kind == "replace":
                parent[idx] = copy.deepcopy(op["value"])
            elif not _same_deep(parent[idx], op.get("value")):
                raise JSONPatchError(f"test failed at {path!r}")
        else:
            raise JSONPatchError(f"unsupported operation {kind!r}")
    return out


def _same_deep(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_deep(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_deep(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b)
