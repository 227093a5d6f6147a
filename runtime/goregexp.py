"""Go (RE2) regular expressions matched with Python's ``re``: the two dialects agree on the
patterns Kubernetes and KServe use except at the end of the text. Used wherever Python checks a
value against a pattern Go checks (CRD ``pattern`` markers, which the apiserver evaluates with
Go's ``regexp``; KServe's name and storage-URI patterns).
"""

from __future__ import annotations

import functools
import re

__all__ = ["go_regexp"]

# Go's RE2, without (?m), reads "$" as end of text; Python's "$" also matches before a final
# newline, so "abc\n" would pass a name check Go refuses. Go's "\z" is Python's "\Z".
_GO_MULTILINE = re.compile(r"\(\?[a-zA-Z-]*m[a-zA-Z-]*[:)]")


@functools.lru_cache(maxsize=256)
def go_regexp(pattern: str) -> re.Pattern[str]:
    r"""Compile a Go (RE2) ``pattern`` so that it matches what Go's ``regexp`` matches where
    the two dialects differ at a string's end: an unescaped ``$`` outside a character class
    becomes ``\Z`` (unless the pattern turns on multi-line mode, where both mean end of line),
    and ``\z`` becomes ``\Z``. Raises ``re.error`` for a pattern Python cannot compile."""
    multiline = _GO_MULTILINE.search(pattern) is not None
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append(r"\Z" if nxt == "z" and not in_class else c + nxt)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # "]" first in a class is a literal (both)
                out.append("]")
                i += 1
            continue
        elif c == "$" and not multiline:
            out.append(r"\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return re.compile("".join(out))
