"""Predicates: controller-runtime's pkg/predicate semantics, on lightkube models and dicts."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from runtime.event import CreateEvent, DeleteEvent, GenericEvent, UpdateEvent
from runtime.predicate import (
    AnnotationChangedPredicate,
    Funcs,
    GenerationChangedPredicate,
    LabelChangedPredicate,
    ResourceVersionChangedPredicate,
    and_,
    label_selector_predicate,
    new_predicate_funcs,
    not_,
    or_,
)


def deploy(rv: str = "1", gen: int | None = 1, labels: dict[str, str] | None = None,
           annotations: dict[str, str] | None = None) -> Deployment:
    return Deployment(metadata=ObjectMeta(name="d", namespace="ns", resourceVersion=rv,
                                          generation=gen, labels=labels,
                                          annotations=annotations))


def as_dict(rv: str, gen: int) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "ns", "resourceVersion": rv,
                         "generation": gen}}


def all_events(obj: Any) -> tuple[CreateEvent, DeleteEvent, GenericEvent]:
    return CreateEvent(obj), DeleteEvent(obj), GenericEvent(obj)


@pytest.mark.parametrize(
    "pred",
    [ResourceVersionChangedPredicate(), GenerationChangedPredicate(),
     AnnotationChangedPredicate(), LabelChangedPredicate()],
)
def test_change_predicates_pass_create_delete_generic(pred: Funcs) -> None:
    c, d, g = all_events(deploy())
    assert pred.create(c) and pred.delete(d) and pred.generic(g)


def test_resource_version_changed() -> None:
    p = ResourceVersionChangedPredicate()
    assert p.update(UpdateEvent(deploy("1"), deploy("2")))
    assert not p.update(UpdateEvent(deploy("1"), deploy("1")))  # resync
    o = deploy("3")
    assert not p.update(UpdateEvent(o, o))
    assert not p.update(UpdateEvent(None, deploy("2")))
    assert p.update(UpdateEvent(as_dict("1", 1), as_dict("2", 1)))


def test_generation_changed_ignores_status_and_metadata_updates() -> None:
    p = GenerationChangedPredicate()
    assert p.update(UpdateEvent(deploy("1", 1), deploy("2", 2)))
    assert not p.update(UpdateEvent(deploy("1", 1), deploy("2", 1)))
    assert p.update(UpdateEvent(as_dict("1", 1), as_dict("2", 2)))
    assert not p.update(UpdateEvent(as_dict("1", 1), as_dict("2", 1)))
    # Objects without a generation never pass an update (as in Go: 0 == 0).
    cm1 = ConfigMap(metadata=ObjectMeta(name="c", resourceVersion="1"), data={"a": "1"})
    cm2 = ConfigMap(metadata=ObjectMeta(name="c", resourceVersion="2"), data={"a": "2"})
    assert not p.update(UpdateEvent(cm1, cm2))


def test_label_and_annotation_changed() -> None:
    lp, ap = LabelChangedPredicate(), AnnotationChangedPredicate()
    a = deploy(labels={"x": "1"}, annotations={"k": "v"})
    b = deploy(labels={"x": "2"}, annotations={"k": "v"})
    c = deploy(labels={"x": "2"}, annotations={"k": "w"})
    assert lp.update(UpdateEvent(a, b)) and not ap.update(UpdateEvent(a, b))
    assert ap.update(UpdateEvent(b, c)) and not lp.update(UpdateEvent(b, c))
    # None and {} are the same label set.
    assert not lp.update(UpdateEvent(deploy(labels=None), deploy(labels={})))
    assert lp.update(UpdateEvent(deploy(labels=None), deploy(labels={"a": "b"})))


def test_label_selector_predicate_uses_new_object_on_update() -> None:
    p = label_selector_predicate({"matchLabels": {"app": "web"}})
    web, api = deploy(labels={"app": "web"}), deploy(labels={"app": "api"})
    assert p.create(CreateEvent(web)) and not p.create(CreateEvent(api))
    assert p.update(UpdateEvent(api, web)) and not p.update(UpdateEvent(web, api))
    assert p.delete(DeleteEvent(web)) and not p.generic(GenericEvent(api))


def test_new_predicate_funcs_and_funcs_defaults() -> None:
    p = new_predicate_funcs(lambda o: o.metadata.name == "d")
    c, d, g = all_events(deploy())
    assert p.create(c) and p.delete(d) and p.generic(g)
    other = Deployment(metadata=ObjectMeta(name="z"))
    assert not p.create(CreateEvent(other))
    assert not p.update(UpdateEvent(deploy(), other))
    f = Funcs(update=lambda e: False)
    assert f.create(c) and not f.update(UpdateEvent(deploy(), deploy()))


def test_combinators() -> None:
    yes, no = Funcs(), Funcs(create=lambda e: False, update=lambda e: False,
                             delete=lambda e: False, generic=lambda e: False)
    c, d, g = all_events(deploy())
    u = UpdateEvent(deploy(), deploy())
    for ev, meth in ((c, "create"), (u, "update"), (d, "delete"), (g, "generic")):
        assert getattr(and_(yes, yes), meth)(ev)
        assert not getattr(and_(yes, no), meth)(ev)
        assert getattr(or_(no, yes), meth)(ev)
        assert not getattr(or_(no, no), meth)(ev)
        assert not getattr(not_(yes), meth)(ev)
        assert getattr(not_(no), meth)(ev)
    assert and_().create(c)  # vacuous truth, as predicate.And()
    assert not or_().create(c)  # as predicate.Or()
    # The common Go idiom: generation OR labels changed.
    p = or_(GenerationChangedPredicate(), LabelChangedPredicate())
    assert p.update(UpdateEvent(deploy("1", 1, {"a": "1"}), deploy("2", 1, {"a": "2"})))
    assert not p.update(UpdateEvent(deploy("1", 1, {"a": "1"}), deploy("2", 1, {"a": "1"})))
