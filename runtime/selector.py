"""Label and field selectors: one parser and one matcher for the whole framework
(apimachinery's ``pkg/labels``, ``pkg/fields`` and ``metav1.LabelSelectorAsSelector``).

Three spellings of a label selector reach the framework, all parsed here into one
:class:`Selector` (a conjunction of :class:`Requirement` s):

* the query string (``"app=web,tier in (a,b),!legacy,replicas>2"``, :func:`parse`), as sent to
  the API server and accepted by ``Cache.list(labels=...)``;
* lightkube's mapping form (``{"app": "web", "tier": ["a", "b"], "x": None,
  "y": operators.not_in([...])}``);
* ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``, a dict or a lightkube model,
  :func:`from_label_selector`), as found in Deployments and custom resources.

Matching follows ``labels.Requirement.Matches``: ``!=`` and ``notin`` match objects that do not
have the label; ``gt``/``lt`` need an integer label value. Keys and values are validated as the
API server validates them (qualified names, 63-character values), so a selector the server
would refuse is refused here too, with the term named.

Field selectors (:func:`field_requirements`) support what the API server supports for most
resources: ``=``, ``==`` and ``!=`` on a field path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lightkube import operators
from lightkube.core.selector import build_selector

__all__ = [
    "LabelSelector",
    "Requirement",
    "Selector",
    "field_requirements",
    "from_label_selector",
    "match_labels",
    "parse",
    "requirements",
    "selector_of",
    "selector_string",
]

LabelSelector = str | Mapping[str, "str | Iterable[str] | operators.Operator[Any] | None"]
"""A selector string (``"app=x,tier!=db"``) or lightkube's mapping form: value ``str`` ->
``=``, ``None`` -> exists, an iterable -> ``in``, or a ``lightkube.operators`` operator."""

# ``operator`` values of a Requirement (apimachinery's selection.Operator, normalised).
EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT = (
    "=", "!=", "in", "notin", "exists", "!", "gt", "lt",
)

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY = re.compile(rf"(?:({_DNS_SUBDOMAIN})/)?({_NAME})")
_VALUE = re.compile(rf"(?:{_NAME})?")


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if _KEY.fullmatch(key) is None or len(name) > 63 or len(prefix) > 253:
        raise ValueError(f"invalid label key {key!r}: must be a qualified name "
                         "(optional DNS prefix and '/', then at most 63 characters "
                         "[A-Za-z0-9-_.] beginning and ending with an alphanumeric)")


def _check_value(key: str, value: str) -> None:
    if len(value) > 63 or _VALUE.fullmatch(value) is None:
        raise ValueError(f"invalid label value {value!r} for key {key!r}: at most 63 "
                         "characters [A-Za-z0-9-_.] beginning and ending with an alphanumeric")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term: ``key``, an operator (``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!``,
    ``gt``, ``lt``) and its values."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_key(self.key)
        op, n = self.operator, len(self.values)
        if op not in (EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT):
            raise ValueError(f"{op!r} is not a valid label selector operator (key {self.key!r})")
        if op in (EQUALS, NOT_EQUALS, GT, LT) and n != 1:
            raise ValueError(f"exactly one value is required for operator {op!r} "
                             f"(key {self.key!r})")
        if op in (IN, NOT_IN) and n == 0:
            raise ValueError(f"values must be non-empty for operator {op!r} (key {self.key!r})")
        if op in (EXISTS, DOES_NOT_EXIST) and n:
            raise ValueError(f"values must be empty for operator {op!r} (key {self.key!r})")
        if op in (GT, LT):
            (v,) = self.values
            try:
                int(v)
            except ValueError:
                raise ValueError(f"value {v!r} for operator {op!r} must be an integer "
                                 f"(key {self.key!r})") from None
        else:
            for v in self.values:
                _check_value(self.key, v)

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        present = self.key in labels
        if op == EXISTS:
            return present
        if op == DOES_NOT_EXIST:
            return not present
        if op in (EQUALS, IN):
            return present and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        (want,) = self.values
        return have > int(want) if op == GT else have < int(want)

    def __str__(self) -> str:
        op, key = self.operator, self.key
        if op == EXISTS:
            return key
        if op == DOES_NOT_EXIST:
            return f"!{key}"
        vals = sorted(self.values)
        if op in (EQUALS, NOT_EQUALS):
            return f"{key}{op}{vals[0]}"
        if op in (GT, LT):
            return f"{key}{'>' if op == GT else '<'}{vals[0]}"
        return f"{key} {op} ({','.join(vals)})"


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        """The query-string form (what ``labelSelector=`` takes)."""
        return ",".join(str(r) for r in self.requirements)


# --------------------------------------------------------------------------- parsing

_TERM = re.compile(
    r"\s*(?:"
    r"(?P<not>!)\s*(?P<nkey>[^\s!=<>(),]+)"
    r"|(?P<key>[^\s!=<>(),]+)\s*(?:"
    r"(?P<op>==|!=|=|>|<)\s*(?P<val>[^\s!=<>(),]*)"
    r"|\s(?P<setop>in|notin)\s*\((?P<vals>[^()]*)\)"
    r")?"
    r")\s*"
)


def _split_terms(selector: str) -> list[str]:
    terms: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return terms


def parse(selector: str) -> Selector:
    """A label selector string -> :class:`Selector` (``labels.Parse``); ``""`` selects
    everything. ``ValueError`` names the offending term."""
    if not selector.strip():
        return Selector()
    out: list[Requirement] = []
    for term in _split_terms(selector):
        m = _TERM.fullmatch(term)
        if m is None:
            raise ValueError(f"invalid label selector term {term!r} in {selector!r}")
        if m["not"]:
            out.append(Requirement(m["nkey"], DOES_NOT_EXIST))
        elif m["op"]:
            op = {"==": EQUALS, "=": EQUALS, "!=": NOT_EQUALS, ">": GT, "<": LT}[m["op"]]
            out.append(Requirement(m["key"], op, frozenset([m["val"]])))
        elif m["setop"]:
            vals = [v.strip() for v in m["vals"].split(",")]
            out.append(Requirement(m["key"], m["setop"], frozenset(vals)))
        else:
            out.append(Requirement(m["key"], EXISTS))
    return Selector(tuple(out))


def _from_mapping(selector: Mapping[str, Any]) -> Selector:
    out: list[Requirement] = []
    for k, v in selector.items():
        if v is None:
            out.append(Requirement(k, EXISTS))
        elif isinstance(v, str):
            out.append(Requirement(k, EQUALS, frozenset([v])))
        elif isinstance(v, operators.Operator):
            name = v.op_name
            if name in ("equal", "not_equal"):
                op = EQUALS if name == "equal" else NOT_EQUALS
                out.append(Requirement(k, op, frozenset([str(v.value)])))
            elif name in ("in_", "not_in"):
                assert isinstance(v.value, Iterable)
                out.append(Requirement(k, IN if name == "in_" else NOT_IN,
                                       frozenset(str(x) for x in v.value)))
            elif name == "exists":
                out.append(Requirement(k, EXISTS))
            elif name == "not_exists":
                out.append(Requirement(k, DOES_NOT_EXIST))
            else:
                raise ValueError(f"unsupported label selector operator {name!r} (key {k!r})")
        else:
            out.append(Requirement(k, IN, frozenset(str(x) for x in v)))
    return Selector(tuple(out))


def selector_of(selector: LabelSelector | Selector | None) -> Selector:
    """A query-string or mapping selector (or a :class:`Selector`, or None) -> Selector."""
    if selector is None:
        return Selector()
    if isinstance(selector, Selector):
        return selector
    if isinstance(selector, str):
        return parse(selector)
    return _from_mapping(selector)


_LS_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(selector: Any) -> Selector:
    """``metav1.LabelSelector`` -> :class:`Selector` (``LabelSelectorAsSelector``).

    Accepts the API dict (``{"matchLabels": ..., "matchExpressions": [...]}``), bare match
    labels (``{key: value}``), a model with ``matchLabels``/``matchExpressions`` attributes
    (lightkube's), or a :class:`Selector`. Invalid operators or values raise ``ValueError``."""
    if isinstance(selector, Selector):
        return selector
    if selector is None:
        return Selector()
    if isinstance(selector, Mapping):
        if "matchLabels" in selector or "matchExpressions" in selector:
            ml = selector.get("matchLabels") or {}
            me: Iterable[Any] = selector.get("matchExpressions") or ()
        else:
            ml, me = selector, ()
    else:
        ml = getattr(selector, "matchLabels", None) or {}
        me = getattr(selector, "matchExpressions", None) or ()
    out = [Requirement(str(k), EQUALS, frozenset([str(v)])) for k, v in ml.items()]
    for ex in me:
        get = ex.get if isinstance(ex, Mapping) else lambda n, _ex=ex: getattr(_ex, n, None)
        key, op = str(get("key")), str(get("operator"))
        if op not in _LS_OPS:
            raise ValueError(f"{op!r} is not a valid label selector operator (key {key!r})")
        values = frozenset(str(v) for v in (get("values") or ()))
        out.append(Requirement(key, _LS_OPS[op], values))
    return Selector(tuple(out))


def requirements(selector: LabelSelector | Selector | None) -> tuple[Requirement, ...]:
    """The requirements of a query-string or mapping selector."""
    return selector_of(selector).requirements


def match_labels(labels: Mapping[str, str] | None, reqs: Iterable[Requirement]) -> bool:
    """Whether ``labels`` satisfy every requirement."""
    labels = labels or {}
    return all(r.matches(labels) for r in reqs)


def selector_string(selector: LabelSelector | None, *, for_fields: bool = False) -> str | None:
    """The query parameter form of a selector (None for no selector)."""
    if selector is None:
        return None
    if isinstance(selector, str):
        return selector or None
    return build_selector(dict(selector), for_fields=for_fields) or None


# --------------------------------------------------------------------------- fields

_FIELD_TERM = re.compile(r"\s*(?P<key>[^\s!=,]+)\s*(?P<op>==|!=|=)\s*(?P<val>[^,]*?)\s*")


def field_requirements(
    selector: str | Mapping[str, Any] | None,
) -> list[tuple[str, bool, str]]:
    """A field selector -> ``(field path, equal?, value)`` terms (``fields.ParseSelector``:
    ``=``/``==`` and ``!=``). The mapping form takes ``str`` values (equal) or
    ``operators.not_equal(v)``."""
    if selector is None:
        return []
    out: list[tuple[str, bool, str]] = []
    if isinstance(selector, str):
        if not selector.strip():
            return []
        for term in selector.split(","):
            m = _FIELD_TERM.fullmatch(term)
            if m is None:
                raise ValueError(f"invalid field selector term {term!r} in {selector!r}")
            out.append((m["key"], m["op"] != "!=", m["val"]))
        return out
    for k, v in selector.items():
        if isinstance(v, operators.Operator):
            if v.op_name not in ("equal", "not_equal"):
                raise ValueError(f"field selectors support only = and != (field {k!r})")
            out.append((k, v.op_name == "equal", str(v.value)))
        else:
            out.append((k, True, str(v)))
    return out
