"""InferenceGraph status rules (reference §5; upstream controller.go / raw_ig.go)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lightkube.models.apps_v1 import Deployment

from apis.knative import Condition
from apis.knative.serving import ServiceStatus
from apis.serving.v1alpha1.inference_graph import InferenceGraphStatus
from apis.serving.v1alpha1.inference_graph_status import (
    is_ready,
    propagate_knative_status,
    propagate_raw_status,
    propagate_stopped_condition,
    readiness_event,
)
from tests.unit._workloads import dc, deployment

T0S, T1S = "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z"
URL = "http://ig-ns.example.com"


def clock() -> datetime:
    return datetime(2024, 5, 1, 13, 0, 0, tzinfo=UTC)


def cond(t: str, s: str, when: str = T1S, reason: str = "") -> dict[str, str]:
    out = {"type": t, "status": s, "lastTransitionTime": when}
    if reason:
        out["reason"] = reason
    return out


def graph(*conds: dict[str, str], url: str | None = None) -> InferenceGraphStatus:
    return InferenceGraphStatus.model_validate({"conditions": list(conds) or None, "url": url})


@pytest.mark.parametrize(
    ("initial", "dep", "generation", "want_available", "want"),
    [
        (graph(), deployment("ig"), None, False, {}),
        (graph(), None, None, False, {}),
        (
            graph(),
            deployment(
                "ig", dc("Available", "True", "MinimumReplicasAvailable"), observed_generation=2
            ),
            None,
            True,
            {"observedGeneration": 2, "conditions": [cond("Ready", "True")], "url": URL},
        ),
        # Upstream's quirk: any Available condition, even False, makes the graph Ready.
        (
            graph(),
            deployment("ig", dc("Available", "False", "MinimumReplicasUnavailable")),
            5,
            True,
            {"observedGeneration": 5, "conditions": [cond("Ready", "True")], "url": URL},
        ),
        # Ready keeps its time while True; Stopped is carried over; other conditions go.
        (
            graph(
                cond("Ready", "True", T0S), cond("Foo", "False", T0S), cond("Stopped", "False", T0S)
            ),
            deployment("ig", dc("Available", "True")),
            None,
            True,
            {"conditions": [cond("Ready", "True", T0S), cond("Stopped", "False", T0S)], "url": URL},
        ),
        (
            graph(cond("Ready", "False", T0S, "Stopped")),
            deployment("ig", dc("Available", "True")),
            None,
            True,
            {"conditions": [cond("Ready", "True")], "url": URL},
        ),
    ],
)
def test_propagate_raw_status(
    initial: InferenceGraphStatus,
    dep: Deployment | None,
    generation: int | None,
    want_available: bool,
    want: dict[str, Any],
) -> None:
    got = propagate_raw_status(initial, dep, URL, generation=generation, clock=clock)
    assert got is want_available
    assert initial.to_kube() == want


@pytest.mark.parametrize(
    ("ksvc", "initial_url", "want"),
    [
        (
            {
                "conditions": [
                    {"type": "ConfigurationsReady", "status": "True"},
                    {"type": "Ready", "status": "True"},
                ],
                "url": URL,
            },
            None,
            {
                "conditions": [
                    {"type": "ConfigurationsReady", "status": "True"},
                    {"type": "Ready", "status": "True"},
                ],
                "url": URL,
            },
        ),
        (
            {
                "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}],
                "url": URL,
            },
            URL,
            {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}]},
        ),
        (
            {"conditions": [{"type": "RoutesReady", "status": "Unknown"}]},
            URL,
            {"conditions": [{"type": "RoutesReady", "status": "Unknown"}], "url": URL},
        ),
        ({}, URL, {"url": URL}),
    ],
)
def test_propagate_knative_status(
    ksvc: dict[str, Any], initial_url: str | None, want: dict[str, Any]
) -> None:
    status = graph(url=initial_url)
    propagate_knative_status(status, ServiceStatus.model_validate(ksvc))
    assert status.to_kube() == want


@pytest.mark.parametrize(
    ("initial", "stopped", "want"),
    [
        # Stopped False appended by default
        (
            graph(cond("Ready", "True", T0S), url=URL),
            False,
            {"conditions": [cond("Ready", "True", T0S), cond("Stopped", "False")], "url": URL},
        ),
        # stopping a running graph
        (
            graph(cond("Ready", "True", T0S), cond("Stopped", "False", T0S), url=URL),
            True,
            {"conditions": [cond("Stopped", "True"), cond("Ready", "False", reason="Stopped")]},
        ),
        (
            graph(url=URL),
            True,
            {"conditions": [cond("Stopped", "True"), cond("Ready", "False", reason="Stopped")]},
        ),
        # already stopped: unchanged
        (
            graph(cond("Stopped", "True", T0S), cond("Ready", "False", T0S, "Stopped")),
            True,
            {"conditions": [cond("Stopped", "True", T0S), cond("Ready", "False", T0S, "Stopped")]},
        ),
        # resuming: Stopped False replaces Stopped True (upstream appends a duplicate)
        (
            graph(cond("Stopped", "True", T0S), cond("Ready", "False", T0S, "Stopped")),
            False,
            {"conditions": [cond("Ready", "False", T0S, "Stopped"), cond("Stopped", "False")]},
        ),
        # running and not stopped: unchanged
        (
            graph(cond("Ready", "True", T0S), cond("Stopped", "False", T0S)),
            False,
            {"conditions": [cond("Ready", "True", T0S), cond("Stopped", "False", T0S)]},
        ),
    ],
)
def test_propagate_stopped_condition(
    initial: InferenceGraphStatus, stopped: bool, want: dict[str, Any]
) -> None:
    propagate_stopped_condition(initial, stopped, clock=clock)
    assert initial.to_kube() == want
    assert [c.type for c in initial.conditions or []].count("Stopped") == 1


def _s(ready: str | None) -> InferenceGraphStatus:
    return InferenceGraphStatus(
        conditions=[Condition(type="Ready", status=ready)] if ready else None
    )


@pytest.mark.parametrize(
    ("previous", "desired", "want"),
    [
        (None, _s("True"), ("Normal", "InferenceGraphReady", "InferenceGraph [ig] is Ready")),
        (
            _s("False"),
            _s("True"),
            ("Normal", "InferenceGraphReady", "InferenceGraph [ig] is Ready"),
        ),
        (
            _s("True"),
            _s("False"),
            ("Warning", "InferenceGraphNotReady", "InferenceGraph [ig] is no longer Ready"),
        ),
        (
            _s("True"),
            _s(None),
            ("Warning", "InferenceGraphNotReady", "InferenceGraph [ig] is no longer Ready"),
        ),
        (_s("True"), _s("True"), None),
        (_s("Unknown"), _s("False"), None),
    ],
)
def test_readiness_event(
    previous: InferenceGraphStatus | None,
    desired: InferenceGraphStatus,
    want: tuple[str, str, str] | None,
) -> None:
    assert readiness_event("ig", previous, desired) == want
    ready = desired.get_condition("Ready")
    assert is_ready(desired) is (ready is not None and ready.status == "True")
