"""Go's ``encoding/json`` output (``json.Marshal``), for text that must equal what upstream's
controllers write byte for byte (annotations, ConfigMap data, env values): compact, map keys
sorted, ``\\b``/``\\f`` short escapes and other control characters as ``\\u00XX`` (Go 1.22+),
and the HTML-safe escapes of ``<``, ``>``, ``&``, U+2028 and U+2029.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["go_json", "go_string"]


def go_json(value: Any, *, sort_keys: bool = True) -> str:
    """``json.Marshal(value)`` for JSON-typed ``value``. ``sort_keys=False`` keeps the dicts'
    order, for a JSON object standing for a Go struct (whose fields Go writes in declaration
    order)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def go_string(s: str) -> str:
    """A Go JSON string literal (quotes included)."""
    return go_json(s)
