"""Reading a Secret's JSON: its data keys and their decoded values."""

from __future__ import annotations

import base64
import binascii
from typing import Any

__all__ = ["secret_name", "secret_values"]


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    """``data`` decoded from base64 (``stringData`` merged over it, as the API server does
    when it stores the Secret); bytes that are not UTF-8 are replaced, as Go's JSON encoder
    replaces them when the value ends up in a pod."""
    out: dict[str, str] = {}
    for key, raw in (secret.get("data") or {}).items():
        if not isinstance(raw, str):
            continue
        try:
            out[key] = base64.b64decode(raw, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            out[key] = raw
    for key, value in (secret.get("stringData") or {}).items():
        if isinstance(value, str):
            out[key] = value
    return out


def secret_name(secret: dict[str, Any]) -> str:
    """``metadata.name``."""
    return str((secret.get("metadata") or {}).get("name") or "")
