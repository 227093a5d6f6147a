"""The InferenceGraph status the controller writes: upstream ``TestPropagateRawStatus`` with
quirk 7 fixed (Ready only when the Deployment's Available condition is True), Ready's
timestamps, and the stop rules combined with it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lightkube.models.apps_v1 import DeploymentCondition, DeploymentStatus
from lightkube.resources.apps_v1 import Deployment

from apis.serving.v1alpha1.inference_graph import InferenceGraphStatus
from apis.serving.v1alpha1.inference_graph_status import propagate_stopped_condition
from controllers.inferencegraph.status import (
    deployment_available,
    propagate_deployment_status,
    set_ready,
    status_changed,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def dep(*conds: tuple[str, str, str | None]) -> Deployment:
    return Deployment(status=DeploymentStatus(conditions=[
        DeploymentCondition(type=t, status=s, reason=r, message=f"{t} {s}" if r else None)
        for t, s, r in conds]))


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        (None, (False, "DeploymentNotAvailable", "the router Deployment does not exist yet")),
        (dep(), (False, "DeploymentNotAvailable",
                 "the router Deployment has no Available condition yet")),
        (dep(("Progressing", "True", "NewReplicaSetAvailable")),
         (False, "DeploymentNotAvailable", "the router Deployment has no Available condition yet")),
        # upstream: Ready True here (an Available condition exists); fixed
        (dep(("Available", "False", "MinimumReplicasUnavailable")),
         (False, "MinimumReplicasUnavailable", "Available False")),
        (dep(("Available", "Unknown", None)),
         (False, "DeploymentNotAvailable", "the router Deployment is not available")),
        (dep(("Available", "True", "MinimumReplicasAvailable")), (True, "", "")),
    ],
    ids=["absent", "no-conditions", "progressing-only", "available-false", "available-unknown",
         "available-true"],
)
def test_deployment_available(deployment: Any, expected: tuple[bool, str, str]) -> None:
    assert deployment_available(deployment) == expected


def _conds(st: InferenceGraphStatus) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.type, c.status, c.reason, c.last_transition_time) for c in st.conditions or []]


@pytest.mark.parametrize(
    ("start", "deployment", "ready", "url"),
    [
        # upstream "graph status as ready and deployment available"
        ([{"type": "Ready", "status": "True"}], dep(("Available", "True", None)), True,
         "http://test.com"),
        # upstream "not ready and deployment unavailable"
        ([{"type": "Ready", "status": "False"}], dep(), False, None),
        # quirk 7 fixed: Available False is not Ready
        ([], dep(("Available", "False", "MinimumReplicasUnavailable")), False, None),
    ],
)
def test_propagate_deployment_status(start: list[dict[str, str]], deployment: Any,
                                     ready: bool, url: str | None) -> None:
    st = InferenceGraphStatus.model_validate({"conditions": start})
    assert propagate_deployment_status(st, deployment, "http://test.com",
                                       clock=lambda: T0) is ready
    assert st.url == url
    ready_c = st.get_condition("Ready")
    assert ready_c is not None and ready_c.status == ("True" if ready else "False")


def test_set_ready_keeps_time_and_stopped() -> None:
    st = InferenceGraphStatus()
    propagate_stopped_condition(st, False, clock=lambda: T0)
    set_ready(st, False, "X", "x", clock=lambda: T0)
    assert _conds(st) == [("Ready", "False", "X", "2026-01-01T00:00:00Z"),
                          ("Stopped", "False", None, "2026-01-01T00:00:00Z")]
    before = st.model_copy(deep=True)
    set_ready(st, False, "X", "x", clock=lambda: T1)  # unchanged: same time, no write
    assert _conds(st) == _conds(before) and not status_changed(before, st)
    set_ready(st, True, clock=lambda: T1)
    assert _conds(st)[0] == ("Ready", "True", None, "2026-01-01T00:05:00Z")
    assert status_changed(before, st)
    # a stop then makes it [Stopped True, Ready False Stopped]; resuming flips Stopped back
    propagate_stopped_condition(st, True, clock=lambda: T1)
    assert [(c.type, c.status, c.reason) for c in st.conditions or []] == [
        ("Stopped", "True", None), ("Ready", "False", "Stopped")]
    propagate_stopped_condition(st, False, clock=lambda: T1)
    set_ready(st, False, "DeploymentNotAvailable", "m", clock=lambda: T1)
    assert [(c.type, c.status, c.reason) for c in st.conditions or []] == [
        ("Ready", "False", "DeploymentNotAvailable"), ("Stopped", "False", None)]


def test_status_changed_ignores_timestamps_only() -> None:
    a = InferenceGraphStatus.model_validate({"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "deploymentMode": "Standard"})
    b = a.model_copy(deep=True)
    assert b.conditions is not None
    b.conditions[0].last_transition_time = "2027-01-01T00:00:00Z"
    assert not status_changed(a, b)
    b.deployment_mode = "Knative"
    assert status_changed(a, b)
    assert status_changed(None, a)
