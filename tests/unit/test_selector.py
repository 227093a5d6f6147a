"""runtime.selector: the one label/field selector parser (labels.Parse, LabelSelectorAsSelector)."""

from __future__ import annotations

import pytest
from lightkube import operators

from runtime.selector import (
    Requirement,
    field_requirements,
    from_label_selector,
    match_labels,
    parse,
    requirements,
    selector_of,
)

LABELS = {"app": "web", "tier": "front", "replicas": "3", "example.com/team": "ml"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("env!=prod", True),  # an absent label matches !=
        ("app,tier", True),
        ("env", False),
        ("!env", True),
        ("!app", False),
        ("tier in (front, back)", True),
        ("tier in (back)", False),
        ("tier notin (back)", True),
        ("env notin (prod)", True),  # and notin
        ("replicas>2", True),
        ("replicas<3", False),
        ("app>2", False),  # not an integer label value
        ("example.com/team=ml", True),
        ("app=web,tier in (front),!env,replicas>1", True),
        ("app=web,tier=back", False),
    ],
)
def test_parse_and_match(selector: str, matches: bool) -> None:
    assert parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize(
    "selector",
    [
        "a=b=c",
        "a in (b",
        "-a=b",  # key must start alphanumeric
        "a=b-",  # value must end alphanumeric
        "a=" + "x" * 64,  # value too long
        "a>b",  # gt needs an integer
        "Example.com/a=b",  # prefix must be a lowercase DNS subdomain
        "a=b c",  # one value per term
    ],
)
def test_parse_rejects_what_the_apiserver_rejects(selector: str) -> None:
    with pytest.raises(ValueError):
        parse(selector)


def test_round_trip_to_query_string() -> None:
    sel = parse("app=web, tier in (b,a), !x, y, n>1")
    assert str(sel) == "app=web,tier in (a,b),!x,y,n>1"
    assert parse(str(sel)) == sel


def test_mapping_form_is_the_same_selector() -> None:
    assert selector_of({"app": "web", "tier": None}) == parse("app=web,tier")
    assert selector_of({"tier": ["a", "b"]}) == parse("tier in (a,b)")
    assert selector_of({"tier": operators.not_in(["a"])}) == parse("tier notin (a)")
    assert selector_of({"app": operators.not_equal("x")}) == parse("app!=x")
    assert selector_of({"app": operators.not_exists()}) == parse("!app")
    assert selector_of(None).matches({"anything": "x"})


def test_requirements_and_match_labels() -> None:
    reqs = requirements("app=web,tier in (front, back)")
    assert reqs == (Requirement("app", "=", frozenset({"web"})),
                    Requirement("tier", "in", frozenset({"front", "back"})))
    assert match_labels(LABELS, reqs)
    assert match_labels(None, requirements("app notin (web)"))
    assert not match_labels(None, requirements("app"))


def test_field_requirements() -> None:
    assert field_requirements("metadata.name=a, spec.nodeName!=n, status.phase==Running") == [
        ("metadata.name", True, "a"), ("spec.nodeName", False, "n"),
        ("status.phase", True, "Running"),
    ]
    assert field_requirements({"metadata.name": "a",
                               "spec.x": operators.not_equal("b")}) == [
        ("metadata.name", True, "a"), ("spec.x", False, "b")]
    assert field_requirements("") == []
    with pytest.raises(ValueError):
        field_requirements("metadata.name")


def test_label_selector_match_labels_and_expressions() -> None:
    sel = from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "team", "operator": "Exists"},
        ],
    })
    ok = {"app": "web", "tier": "fe", "team": "a"}
    assert sel.matches(ok)
    assert sel.matches({**ok, "env": "dev"})
    assert not sel.matches({**ok, "env": "prod"})
    assert not sel.matches({**ok, "canary": "y"})
    assert not sel.matches({**ok, "tier": "db"})
    assert not sel.matches({"app": "web", "tier": "fe"})  # team missing
    assert not sel.matches({**ok, "app": "api"})
    assert from_label_selector({}).matches({"anything": "x"})


def test_label_selector_rejects_invalid() -> None:
    with pytest.raises(ValueError):
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt"}]})
    with pytest.raises(ValueError):
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]})
    with pytest.raises(ValueError):
        from_label_selector(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})


def test_label_selector_from_lightkube_model() -> None:
    from lightkube.models.meta_v1 import LabelSelector as LKSelector
    from lightkube.models.meta_v1 import LabelSelectorRequirement

    sel = from_label_selector(LKSelector(
        matchLabels={"a": "1"},
        matchExpressions=[LabelSelectorRequirement(key="b", operator="In", values=["2"])]))
    assert sel.matches({"a": "1", "b": "2"})
    assert not sel.matches({"a": "1", "b": "3"})


