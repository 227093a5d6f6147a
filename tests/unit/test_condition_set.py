"""apis.knative.condition_set: knative's ConditionSet semantics (vectors from knative.dev/pkg
``apis/condition_set_impl_test.go`` plus timestamps, sorting and semantic equality)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from apis.knative import Condition, DuckStatus
from apis.knative.condition_set import (
    ConditionSet,
    format_time,
    parse_time,
    semantic_equal,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class Ticker:
    """A wall clock that advances one second per reading."""

    def __init__(self) -> None:
        self._it: Iterator[int] = iter(range(10**6))

    def __call__(self) -> datetime:
        return T0 + timedelta(seconds=next(self._it))


def cond(t: str, s: str = "", reason: str = "", message: str = "", sev: str = "") -> Condition:
    return Condition(
        type=t, status=s, reason=reason or None, message=message or None, severity=sev or None
    )


def status(*cs: Condition) -> DuckStatus:
    return DuckStatus(conditions=list(cs) if cs else None)


def view(st: DuckStatus) -> list[tuple[str, str, str, str, str]]:
    """Conditions without times: (type, status, reason, message, severity)."""
    return [
        (c.type, c.status, c.reason or "", c.message or "", c.severity or "")
        for c in st.conditions or []
    ]


def types(st: DuckStatus) -> list[str]:
    return [c.type for c in st.conditions or []]


# ---------------------------------------------------------------------------------------------


def test_living_and_batch_sets_drop_duplicates_and_the_happy_type() -> None:
    assert ConditionSet.living("A", "Ready", "B", "A") == ConditionSet("Ready", ("A", "B"))
    assert ConditionSet.batch("A") == ConditionSet("Succeeded", ("A",))


@pytest.mark.parametrize(
    ("conditions", "happy"),
    [
        ((), False),
        ((cond("Foo", "True"),), False),
        ((cond("Ready", "False"),), False),
        ((cond("Ready", "Unknown"),), False),
        ((cond("Ready"),), False),
        ((cond("Ready", "True"),), True),
        ((cond("Foo", "True"), cond("Ready", "True")), True),
        ((cond("Foo", "True"), cond("Ready", "False")), False),
        ((cond("Foo", "True"), cond("Bar", "False"), cond("Ready", "True")), True),
    ],
)
def test_is_happy(conditions: tuple[Condition, ...], happy: bool) -> None:
    assert ConditionSet.living().manage(status(*conditions)).is_happy() is happy


def test_get_condition_returns_a_copy_or_none() -> None:
    st = status(cond("Ready", "True"))
    m = ConditionSet.living().manage(st)
    got = m.get_condition("Ready")
    assert got is not None and (got.type, got.status) == ("Ready", "True")
    got.status = "False"
    assert st.conditions is not None and st.conditions[0].status == "True"
    assert m.get_condition("Missing") is None


def test_set_condition_stamps_time_sorts_by_type_and_skips_time_only_changes() -> None:
    st = status()
    m = ConditionSet.living().manage(st, Ticker())
    m.set_condition(cond("Zeta", "True"))
    m.set_condition(cond("Alpha", "False", "R"))
    m.set_condition(cond("Mid", "Unknown"))
    assert types(st) == ["Alpha", "Mid", "Zeta"]
    times = {c.type: c.last_transition_time for c in st.conditions or []}
    assert times == {
        "Zeta": "2024-05-01T12:00:00Z",
        "Alpha": "2024-05-01T12:00:01Z",
        "Mid": "2024-05-01T12:00:02Z",
    }
    before = [c.model_copy() for c in st.conditions or []]
    m.set_condition(cond("Alpha", "False", "R"))  # same content: nothing changes
    assert st.conditions == before
    m.set_condition(cond("Alpha", "False", "Other"))  # reason changed: new time
    alpha = m.get_condition("Alpha")
    assert alpha is not None
    assert (alpha.reason, alpha.last_transition_time) == ("Other", "2024-05-01T12:00:03Z")


def test_set_condition_treats_empty_and_absent_strings_alike() -> None:
    st = status(Condition(type="A", status="True", reason="", message="", lastTransitionTime="x"))
    ConditionSet.living().manage(st, Ticker()).set_condition(cond("A", "True"))
    assert st.conditions is not None and st.conditions[0].last_transition_time == "x"


def test_severity_error_for_terminal_info_otherwise() -> None:
    st = status()
    m = ConditionSet.living("Foo").manage(st, Ticker())
    m.initialize_conditions()
    m.mark_false("Bar", "", "")
    assert view(st) == [
        ("Bar", "False", "", "", "Info"),
        ("Foo", "Unknown", "", "", ""),
        ("Ready", "Unknown", "", "", ""),
    ]
    # Error severity is Go's "": the field is omitted on the wire.
    dumped = st.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert [("severity" in c) for c in dumped["conditions"]] == [True, False, False]


# MarkTrue (condition_set_impl_test.go TestMarkTrue): the set's dependents are the given types
# (or the types present), conditions are initialized, then ``mark`` is marked True.
MARK_TRUE = [
    ("no deps", (), None, "Ready", ("Ready", "True", "", "")),
    ("existing, turns happy", (cond("Ready", "False"),), None, "Ready", ("Ready", "True", "", "")),
    (
        "with deps, happy",
        (cond("Ready", "False"), cond("Foo", "True")),
        None,
        "Ready",
        ("Ready", "True", "", ""),
    ),
    (
        "with deps, not happy",
        (
            cond("Ready", "False", "ReadyReason", "ReadyMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
        ),
        None,
        "Ready",
        ("Ready", "False", "FooReason", "FooMsg"),
    ),
    (
        "update dep, turns happy",
        (cond("Ready", "False"), cond("Foo", "False")),
        None,
        "Foo",
        ("Ready", "True", "", ""),
    ),
    (
        "update dep, happy was unknown",
        (cond("Ready", "Unknown"), cond("Foo", "False")),
        None,
        "Foo",
        ("Ready", "True", "", ""),
    ),
    (
        "update dep 1/2, still not happy",
        (
            cond("Ready", "False", "FooReason", "FooMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
            cond("Bar", "False", "BarReason", "BarMsg"),
        ),
        None,
        "Foo",
        ("Ready", "False", "BarReason", "BarMsg"),
    ),
    (
        "update dep 1/3, False beats Unknown",
        (
            cond("Ready", "False", "FooReason", "FooMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
            cond("Bar", "Unknown", "BarReason", "BarMsg"),
            cond("Baz", "False", "BazReason", "BazMsg"),
        ),
        None,
        "Foo",
        ("Ready", "False", "BazReason", "BazMsg"),
    ),
    (
        "update dep 1/3, unknown",
        (
            cond("Ready", "False", "FooReason", "FooMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
            cond("Bar", "Unknown", "BarReason", "BarMsg"),
            cond("Baz", "Unknown", "BazReason", "BazMsg"),
        ),
        None,
        "Foo",
        ("Ready", "Unknown", "BarReason", "BarMsg"),
    ),
    (
        "update dep 1/3, unknown because not initialized",
        (
            cond("Ready", "False", "FooReason", "FooMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
        ),
        ("Foo", "Bar", "Baz"),
        "Foo",
        ("Ready", "Unknown", "", ""),
    ),
    (
        "all deps happy, cruft with other severities ignored",
        (
            cond("Ready", "False", "FooReason", "FooMsg"),
            cond("Foo", "False", "FooReason", "FooMsg"),
            cond("Bar", "Unknown", "BarReason", "BarMsg", "FYI"),
            cond("Baz", "Unknown", "BazReason", "BazMsg", "LOLJK"),
        ),
        ("Foo",),
        "Foo",
        ("Ready", "True", "", ""),
    ),
    (
        "no dependents, cruft",
        (
            cond("Ready", "False", "LongStory", "Set manually"),
            cond("Foo", "False", "FooReason", "FooMsg"),
            cond("Bar", "Unknown", "BarReason", "BarMsg", "FYI"),
        ),
        (),
        "Foo",
        ("Ready", "True", "", ""),
    ),
    (
        "happy dependents, a non-dependent marked",
        (
            cond("Ready", "False", "LongStory", "Set manually"),
            cond("Foo", "True"),
            cond("Bar", "Unknown", "BarReason", "BarMsg", "FYI"),
            cond("Baz", "Unknown", "BazReason", "BazMsg", "LOLJK"),
        ),
        ("Foo",),
        "Bar",
        ("Ready", "True", "", ""),
    ),
]


@pytest.mark.parametrize(
    ("conditions", "deps", "mark", "want_ready"),
    [c[1:] for c in MARK_TRUE],
    ids=[c[0] for c in MARK_TRUE],
)
def test_mark_true(
    conditions: tuple[Condition, ...],
    deps: tuple[str, ...] | None,
    mark: str,
    want_ready: tuple[str, str, str, str],
) -> None:
    cset = ConditionSet.living(*(deps if deps is not None else [c.type for c in conditions]))
    st = status(*(c.model_copy() for c in conditions))
    m = cset.manage(st, Ticker())
    m.initialize_conditions()
    m.mark_true(mark)
    ready = m.get_condition("Ready")
    assert ready is not None
    assert (ready.type, ready.status, ready.reason or "", ready.message or "") == want_ready
    if mark != "Ready":
        marked = m.get_condition(mark)
        assert marked is not None
        assert (marked.status, marked.reason, marked.message) == ("True", None, None)


@pytest.mark.parametrize(
    ("conditions", "mark"),
    [
        ((), "Ready"),
        ((cond("Ready", "True"),), "Ready"),
        ((cond("Ready", "True"), cond("Foo", "True")), "Ready"),
        ((cond("Ready", "True"), cond("Foo", "False")), "Ready"),
        ((cond("Ready", "True"), cond("Foo", "True")), "Foo"),
        ((cond("Ready", "Unknown"), cond("Foo", "False")), "Foo"),
        ((cond("Ready", "True"), cond("Foo", "True"), cond("Bar", "True")), "Foo"),
    ],
)
def test_mark_false_makes_the_set_unhappy(conditions: tuple[Condition, ...], mark: str) -> None:
    cset = ConditionSet.living(*[c.type for c in conditions])
    st = status(*(c.model_copy() for c in conditions))
    m = cset.manage(st, Ticker())
    m.initialize_conditions()
    m.mark_false(mark, "UnitTest", "calm down, just testing")
    assert not m.is_happy()
    got = m.get_condition(mark)
    assert got is not None
    assert (got.status, got.reason, got.message) == ("False", "UnitTest", "calm down, just testing")
    ready = m.get_condition("Ready")
    assert ready is not None and (ready.status, ready.reason) == ("False", "UnitTest")


@pytest.mark.parametrize(
    ("conditions", "mark", "ready_is"),
    [
        ((), "Ready", "Unknown"),
        ((cond("Ready", "True"),), "Ready", "Unknown"),
        ((cond("Ready", "True"), cond("Foo", "True")), "Ready", "Unknown"),
        ((cond("Ready", "True"), cond("Foo", "False"), cond("Bar", "False")), "Foo", "False"),
        ((cond("Ready", "True"), cond("Foo", "True")), "Foo", "Unknown"),
        ((cond("Ready", "Unknown"), cond("Foo", "False")), "Foo", "Unknown"),
        ((cond("Ready", "True"), cond("Foo", "True"), cond("Bar", "True")), "Foo", "Unknown"),
    ],
)
def test_mark_unknown(conditions: tuple[Condition, ...], mark: str, ready_is: str) -> None:
    cset = ConditionSet.living(*[c.type for c in conditions])
    st = status(*(c.model_copy() for c in conditions))
    m = cset.manage(st, Ticker())
    m.mark_unknown(mark, "UnitTest", "idk, just testing")
    assert not m.is_happy()
    ready = m.get_condition("Ready")
    assert ready is not None and ready.status == ready_is
    got = m.get_condition(mark)
    assert got is not None
    assert (got.status, got.reason, got.message) == ("Unknown", "UnitTest", "idk, just testing")


def test_mark_unknown_with_a_false_dependent_makes_ready_false_with_the_new_reason() -> None:
    st = status(cond("Ready", "True"), cond("Foo", "True"), cond("Bar", "False", "BarR"))
    m = ConditionSet.living("Foo", "Bar").manage(st, Ticker())
    m.mark_unknown("Foo", "Waiting", "for foo")
    assert view(st) == [
        ("Bar", "False", "BarR", "", ""),
        ("Foo", "Unknown", "Waiting", "for foo", ""),
        ("Ready", "False", "Waiting", "for foo", ""),
    ]


def test_unhappy_dependent_is_the_most_recently_transitioned() -> None:
    st = status()
    m = ConditionSet.living("A", "B", "C").manage(st, Ticker())
    m.initialize_conditions()
    m.mark_false("A", "AOld", "")
    m.mark_false("B", "BNew", "")
    m.mark_true("C")
    ready = m.get_condition("Ready")
    assert ready is not None and (ready.status, ready.reason) == ("False", "BNew")


def test_initialize_conditions() -> None:
    st = status()
    m = ConditionSet.living("Foo").manage(st, Ticker())
    m.initialize_conditions()
    assert view(st) == [("Foo", "Unknown", "", "", ""), ("Ready", "Unknown", "", "", "")]
    m.initialize_conditions()  # idempotent, no time change
    assert [c.last_transition_time for c in st.conditions or []] == [
        "2024-05-01T12:00:01Z",
        "2024-05-01T12:00:00Z",
    ]
    m.mark_true("Foo")
    assert m.is_happy()
    # A dependent added later starts True when Ready is already True (TestTerminalInitialization).
    m2 = ConditionSet.living("Foo", "Bar").manage(st, Ticker())
    m2.initialize_conditions()
    bar = m2.get_condition("Bar")
    assert bar is not None and bar.status == "True"
    assert types(st) == ["Bar", "Foo", "Ready"]


def test_clear_condition() -> None:
    st = status()
    m = ConditionSet.living("Foo").manage(st, Ticker())
    m.mark_true("Foo")
    m.mark_true("Bar")
    assert types(st) == ["Bar", "Foo", "Ready"] and m.is_happy()
    m.clear_condition("Bar")
    assert types(st) == ["Foo", "Ready"] and m.is_happy()
    m.clear_condition("Never")  # absent: nothing to do
    for terminal in ("Foo", "Ready"):
        with pytest.raises(ValueError, match="terminal"):
            m.clear_condition(terminal)
    assert types(st) == ["Foo", "Ready"]


@pytest.mark.parametrize(
    ("t", "want"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),
        (
            datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02T03:04:05Z",
        ),
    ],
)
def test_format_time(t: datetime, want: str) -> None:
    assert format_time(t) == want


@pytest.mark.parametrize(
    ("s", "want"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.5Z", datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        (None, datetime(1, 1, 1, tzinfo=UTC)),
        ("", datetime(1, 1, 1, tzinfo=UTC)),
        ("garbage", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_time(s: str | None, want: datetime) -> None:
    assert parse_time(s) == want


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (
            status(
                Condition(type="Ready", status="True", lastTransitionTime="2024-01-01T00:00:00Z")
            ),
            status(
                Condition(type="Ready", status="True", lastTransitionTime="2025-01-01T00:00:00Z")
            ),
            True,
        ),
        (status(cond("Ready", "True")), status(cond("Ready", "False")), False),
        (status(), DuckStatus(conditions=[]), True),
        (status(cond("Ready", "True", reason="")), status(cond("Ready", "True")), True),
        (
            status(cond("A", "True"), cond("B", "True")),
            status(cond("B", "True"), cond("A", "True")),
            False,
        ),
        (DuckStatus(observed_generation=1), DuckStatus(observed_generation=2), False),
        (None, status(), True),
    ],
)
def test_semantic_equal(a: DuckStatus | None, b: DuckStatus | None, equal: bool) -> None:
    assert semantic_equal(a, b) is equal
