"""Knative's condition sets (``knative.dev/pkg/apis/condition_set.go``): a happy condition
(``Ready`` for living resources, ``Succeeded`` for batch ones) that follows a set of
dependent ("terminal") conditions.

Semantics kept exactly:

- dependents and the happy condition have severity Error (serialised as no ``severity``
  field, Go's ``""``); every other condition type has severity Info;
- ``mark_true`` sets the happy condition True once no Error-severity condition is False or
  Unknown and every dependent exists; otherwise the happy condition takes the status, reason
  and message of the most recently transitioned unhappy one (False before Unknown);
- ``mark_false`` on a dependent also marks the happy condition False;
- ``mark_unknown`` on a dependent marks the happy condition Unknown unless a dependent is
  False (then the happy condition is made False with the new reason/message);
- ``set_condition`` keeps ``lastTransitionTime`` when nothing else changed (no write), stamps
  the clock's time otherwise, and stores the conditions sorted by type (for kubectl);
- ``clear_condition`` refuses the happy condition and dependents.

Deliberate differences: messages are plain strings (upstream feeds them to ``Sprintf`` as a
format, so a ``%`` in a message becomes ``%!v(MISSING)``); conditions transitioned in the
same second keep their order by type when picking the unhappy one (Go's ``sort.Slice`` leaves
that order unspecified).

Pure: no I/O; time comes from an injected clock (``Callable[[], datetime]``). A manager
mutates the status object it manages, as upstream's does; deep-copy a cached object first.
Timestamps are RFC 3339 with seconds, UTC, as Go marshals ``apis.VolatileTime``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from apis.knative.duck import Condition

__all__ = [
    "CONDITION_READY",
    "CONDITION_SUCCEEDED",
    "SEVERITY_ERROR",
    "SEVERITY_INFO",
    "SEVERITY_WARNING",
    "STATUS_FALSE",
    "STATUS_TRUE",
    "STATUS_UNKNOWN",
    "ConditionManager",
    "ConditionSet",
    "ConditionsAccessor",
    "WallClock",
    "format_time",
    "is_false",
    "is_true",
    "is_unknown",
    "parse_time",
    "semantic_equal",
    "utc_now",
]

CONDITION_READY = "Ready"
"""``apis.ConditionReady``: the happy condition of a living set."""
CONDITION_SUCCEEDED = "Succeeded"
"""``apis.ConditionSucceeded``: the happy condition of a batch set."""
STATUS_TRUE = "True"
STATUS_FALSE = "False"
STATUS_UNKNOWN = "Unknown"
SEVERITY_ERROR = ""
"""``apis.ConditionSeverityError``: Go's empty string, so the field is omitted; stored as
``None`` on :class:`~apis.knative.duck.Condition`."""
SEVERITY_WARNING = "Warning"
SEVERITY_INFO = "Info"

WallClock = Callable[[], datetime]
"""Returns the current (timezone-aware) time; injected so tests stamp known times."""

_ZERO = datetime(1, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    """The real wall clock (the default :data:`WallClock`)."""
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """RFC 3339 in UTC with whole seconds (``2024-05-01T12:00:00Z``), as ``metav1.Time``
    marshals. A naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s: str | datetime | None) -> datetime:
    """The inverse of :func:`format_time` (also accepts fractional seconds and offsets);
    None or unparseable text is Go's zero time."""
    if isinstance(s, datetime):
        return s if s.tzinfo is not None else s.replace(tzinfo=UTC)
    if not s:
        return _ZERO
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return _ZERO
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def is_true(c: Condition | None) -> bool:
    """``Condition.IsTrue`` (nil-safe)."""
    return c is not None and c.status == STATUS_TRUE


def is_false(c: Condition | None) -> bool:
    """``Condition.IsFalse`` (nil-safe)."""
    return c is not None and c.status == STATUS_FALSE


def is_unknown(c: Condition | None) -> bool:
    """``Condition.IsUnknown`` (nil-safe: a missing condition is not Unknown here)."""
    return c is not None and c.status == STATUS_UNKNOWN


def _norm(s: str | None) -> str | None:
    return s or None


def _same(a: Condition, b: Condition) -> bool:
    """Go's ``reflect.DeepEqual`` of two conditions whose times were made equal ("" and an
    absent field are the same Go string)."""
    return (
        a.type == b.type
        and a.status == b.status
        and _norm(a.severity) == _norm(b.severity)
        and _norm(a.reason) == _norm(b.reason)
        and _norm(a.message) == _norm(b.message)
    )


class ConditionsAccessor(Protocol):
    """``apis.ConditionsAccessor``: any status with a ``conditions`` list (every
    :class:`~apis.knative.duck.DuckStatus`)."""

    conditions: list[Condition] | None


@dataclass(frozen=True)
class ConditionSet:
    """``apis.ConditionSet``: the happy condition type and its dependents (duplicates and the
    happy type itself dropped, order kept)."""

    happy: str
    dependents: tuple[str, ...]

    @classmethod
    def living(cls, *dependents: str) -> ConditionSet:
        """``apis.NewLivingConditionSet``: happy condition ``Ready``."""
        return cls._new(CONDITION_READY, dependents)

    @classmethod
    def batch(cls, *dependents: str) -> ConditionSet:
        """``apis.NewBatchConditionSet``: happy condition ``Succeeded``."""
        return cls._new(CONDITION_SUCCEEDED, dependents)

    @classmethod
    def _new(cls, happy: str, dependents: tuple[str, ...]) -> ConditionSet:
        deps: list[str] = []
        for d in dependents:
            if d != happy and d not in deps:
                deps.append(d)
        return cls(happy=happy, dependents=tuple(deps))

    def is_terminal(self, t: str) -> bool:
        """The happy condition or a dependent."""
        return t == self.happy or t in self.dependents

    def severity(self, t: str) -> str:
        """Error (``""``) for terminal conditions, Info for the rest."""
        return SEVERITY_ERROR if self.is_terminal(t) else SEVERITY_INFO

    def manage(self, status: ConditionsAccessor, clock: WallClock = utc_now) -> ConditionManager:
        """``ConditionSet.Manage``: operate on ``status.conditions``."""
        return ConditionManager(self, status, clock)


class ConditionManager:
    """``apis.ConditionManager`` over one status object (mutated in place)."""

    __slots__ = ("_clock", "_set", "_status")

    def __init__(self, cset: ConditionSet, status: ConditionsAccessor, clock: WallClock) -> None:
        self._set = cset
        self._status = status
        self._clock = clock

    # -- reads -----------------------------------------------------------------------------

    def get_condition(self, t: str) -> Condition | None:
        """A copy of the condition of type ``t``, or None."""
        for c in self._status.conditions or ():
            if c.type == t:
                return c.model_copy()
        return None

    def get_top_level_condition(self) -> Condition | None:
        """The happy condition."""
        return self.get_condition(self._set.happy)

    def is_happy(self) -> bool:
        """True iff the happy condition is True."""
        return is_true(self.get_top_level_condition())

    # -- writes ----------------------------------------------------------------------------

    def set_condition(self, new: Condition) -> None:
        """Set or replace the condition of ``new.type``; no change (not even the time) when
        only ``lastTransitionTime`` would differ. Conditions are stored sorted by type."""
        new = new.model_copy()
        new.severity = _norm(new.severity)
        new.reason = _norm(new.reason)
        new.message = _norm(new.message)
        kept: list[Condition] = []
        for c in self._status.conditions or ():
            if c.type != new.type:
                kept.append(c)
            elif _same(new, c):
                return
        new.last_transition_time = format_time(self._clock())
        kept.append(new)
        kept.sort(key=lambda c: c.type)
        self._status.conditions = kept

    def clear_condition(self, t: str) -> None:
        """Remove the condition of type ``t``. Raises ValueError for the happy condition and
        dependents (upstream: "Clearing terminal conditions not implemented")."""
        if self._set.is_terminal(t):
            raise ValueError("Clearing terminal conditions not implemented")
        current = self._status.conditions or []
        if not any(c.type == t for c in current):
            return
        self._status.conditions = sorted((c for c in current if c.type != t), key=lambda c: c.type)

    def _new(self, t: str, status: str, reason: str = "", message: str = "") -> Condition:
        return Condition(
            type=t,
            status=status,
            reason=reason or None,
            message=message or None,
            severity=self._set.severity(t) or None,
        )

    def mark_true(self, t: str) -> None:
        """``MarkTrue``: ``t`` True (no reason), then the happy condition if all is well."""
        self.set_condition(self._new(t, STATUS_TRUE))
        self._mark_happy(t)

    def mark_true_with_reason(self, t: str, reason: str, message: str = "") -> None:
        """``MarkTrueWithReason``."""
        self.set_condition(self._new(t, STATUS_TRUE, reason, message))
        self._mark_happy(t)

    def _mark_happy(self, t: str) -> None:
        unhappy = self._find_unhappy_dependent()
        happy = self._set.happy
        if unhappy is not None:
            self.set_condition(
                self._new(happy, unhappy.status, unhappy.reason or "", unhappy.message or "")
            )
        elif t != happy:
            self.set_condition(self._new(happy, STATUS_TRUE))

    def _find_unhappy_dependent(self) -> Condition | None:
        if not self._set.dependents:
            return None
        errors = [
            c for c in self._status.conditions or () if not c.severity and c.type != self._set.happy
        ]
        # Newest transition first (stable: same-second transitions keep their type order).
        errors.sort(key=lambda c: parse_time(c.last_transition_time), reverse=True)
        for c in errors:
            if c.status == STATUS_FALSE:
                return c
        for c in errors:
            if c.status == STATUS_UNKNOWN:
                return c
        if len(self._set.dependents) != len(errors):
            # Something was not initialized.
            return Condition(type="", status=STATUS_UNKNOWN)
        return None

    def mark_unknown(self, t: str, reason: str, message: str = "") -> None:
        """``MarkUnknown``: ``t`` Unknown; the happy condition Unknown too when ``t`` is a
        dependent, unless some dependent is False (then the happy condition goes False)."""
        self.set_condition(self._new(t, STATUS_UNKNOWN, reason, message))
        is_dependent = False
        for dep in self._set.dependents:
            if is_false(self.get_condition(dep)):
                if not is_false(self.get_condition(self._set.happy)):
                    self.mark_false(self._set.happy, reason, message)
                return
            if dep == t:
                is_dependent = True
        if is_dependent:
            self.set_condition(self._new(self._set.happy, STATUS_UNKNOWN, reason, message))

    def mark_false(self, t: str, reason: str, message: str = "") -> None:
        """``MarkFalse``: ``t`` False, and the happy condition too when ``t`` is a
        dependent."""
        types = [t]
        if t in self._set.dependents:
            types.append(self._set.happy)
        for ty in types:
            self.set_condition(self._new(ty, STATUS_FALSE, reason, message))

    def initialize_conditions(self) -> None:
        """``InitializeConditions``: the happy condition Unknown if unset; unset dependents
        True if the happy condition is True, else Unknown."""
        happy = self.get_condition(self._set.happy)
        if happy is None:
            happy = self._new(self._set.happy, STATUS_UNKNOWN)
            self.set_condition(happy)
        status = STATUS_TRUE if happy.status == STATUS_TRUE else STATUS_UNKNOWN
        for dep in self._set.dependents:
            if self.get_condition(dep) is None:
                self.set_condition(self._new(dep, status))


# ---------------------------------------------------------------------------------------------
# Semantic equality (``equality.Semantic.DeepEqual`` with knative's VolatileTime)
# ---------------------------------------------------------------------------------------------


def _semantic(v: Any) -> Any:
    if isinstance(v, Mapping):
        out = {}
        for k, x in v.items():
            if k == "lastTransitionTime":
                continue
            y = _semantic(x)
            if y is not None:
                out[k] = y
        return out or None
    if isinstance(v, list):
        items = [_semantic(x) for x in v]
        return items or None
    if v == "":
        return None
    return v


def semantic_equal(a: BaseModel | None, b: BaseModel | None) -> bool:
    """Whether two statuses are equal as upstream decides before writing one: Go's
    ``equality.Semantic.DeepEqual``, where ``apis.VolatileTime`` (every condition's
    ``lastTransitionTime``) always compares equal, and nil, empty and zero-string fields are
    the same. Use it to skip a status write that would change nothing but timestamps."""
    da = a.model_dump(mode="json", by_alias=True, exclude_none=True) if a is not None else None
    db = b.model_dump(mode="json", by_alias=True, exclude_none=True) if b is not None else None
    return bool(_semantic(da) == _semantic(db))
