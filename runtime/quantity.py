"""Kubernetes resource quantities (apimachinery ``resource.Quantity``) as exact decimals.

The API server canonicalises quantities in core objects (``"1000m"`` is stored as ``"1"``,
``"1024Mi"`` as ``"1Gi"``), so a controller comparing what it wants with what is stored must
compare quantities by value, not by text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["QUANTITY_RE", "is_quantity", "parse_quantity", "quantities_equal"]

QUANTITY_RE = re.compile(
    r"(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?P<suffix>[eE][+-]?[0-9]+|[a-zA-Z]*)\Z"
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str | int | float) -> Decimal:
    """The exact value of a quantity (``"500m"`` -> 0.5, ``"1Gi"`` -> 1073741824).

    Raises ``ValueError`` for text that is not a quantity."""
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int | float):
        return Decimal(str(text))
    m = QUANTITY_RE.match(text)
    if m is None:
        raise ValueError(f"not a quantity: {text!r}")
    try:
        num = Decimal(m.group("num"))
    except InvalidOperation as e:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"not a quantity: {text!r}") from e
    suffix = m.group("suffix")
    if suffix in _BINARY:
        return num * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return num.scaleb(_DECIMAL[suffix])
    if suffix[:1] in ("e", "E"):
        return num.scaleb(int(suffix[1:]))
    raise ValueError(f"not a quantity: {text!r}")


def is_quantity(text: object) -> bool:
    """Whether ``text`` is a string the API server would accept as a quantity."""
    if not isinstance(text, str):
        return False
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True


def quantities_equal(a: object, b: object) -> bool:
    """``a`` and ``b`` denote the same quantity (both must parse; ints count as quantities)."""
    try:
        return parse_quantity(a) == parse_quantity(b)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False
