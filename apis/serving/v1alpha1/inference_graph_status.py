"""InferenceGraph status rules (upstream keeps them in
``controller/v1alpha1/inferencegraph/controller.go`` and ``raw_ig.go``; reference §5):
Ready from the router Deployment or Knative Service, the Stopped condition (default False),
readiness events.

Upstream sets an InferenceGraph's conditions wholesale (no condition set): Standard mode
replaces them with ``[Ready True]`` once the Deployment has an ``Available`` condition (of
any status, a quirk kept), Knative mode copies the ksvc's; Stopped is then appended.
Deliberate differences: Ready gets a ``lastTransitionTime`` (upstream writes none), kept
from the previous Ready while it stays True; resuming replaces Stopped True with False
instead of appending a second Stopped condition; ``observedGeneration`` is the graph's
generation when given (upstream: the Deployment's).

Helpers mutate the status they are given; no I/O; ``clock`` stamps ``lastTransitionTime``.
"""

from __future__ import annotations

from lightkube.models.apps_v1 import Deployment

from apis.knative import Condition
from apis.knative.condition_set import (
    STATUS_FALSE,
    STATUS_TRUE,
    WallClock,
    format_time,
    is_true,
    utc_now,
)
from apis.knative.serving import ServiceStatus
from apis.serving.constants import (
    CONDITION_READY,
    EVENT_INFERENCE_GRAPH_NOT_READY,
    EVENT_INFERENCE_GRAPH_READY,
    STOPPED,
    STOPPED_REASON,
)
from apis.serving.v1alpha1.inference_graph import InferenceGraphStatus

__all__ = [
    "is_ready",
    "propagate_knative_status",
    "propagate_raw_status",
    "propagate_stopped_condition",
    "readiness_event",
]


def _get(status: InferenceGraphStatus, t: str) -> Condition | None:
    return status.get_condition(t)


def is_ready(status: InferenceGraphStatus | None) -> bool:
    """``inferenceGraphReadiness``: a Ready condition that is True."""
    return status is not None and is_true(_get(status, CONDITION_READY))


def propagate_raw_status(
    status: InferenceGraphStatus,
    deployment: Deployment | None,
    url: str | None,
    *,
    generation: int | None = None,
    clock: WallClock = utc_now,
) -> bool:
    """``PropagateRawStatus`` (Standard mode): once the router Deployment has an
    ``Available`` condition, ``url`` is set and the conditions become ``[Ready True]`` (plus
    the Stopped condition, which :func:`propagate_stopped_condition` then settles).
    Returns whether it had one (upstream requeues with an error until then, unless the
    graph is stopped). ``observedGeneration`` = ``generation`` when given, else the
    Deployment's."""
    dstatus = deployment.status if deployment is not None else None
    available = any(c.type == "Available" for c in (dstatus.conditions if dstatus else None) or ())
    if available:
        status.url = url
        previous = _get(status, CONDITION_READY)
        when = (
            previous.last_transition_time
            if is_true(previous) and previous is not None
            else format_time(clock())
        )
        ready = Condition(type=CONDITION_READY, status=STATUS_TRUE, lastTransitionTime=when)
        # The Stopped condition is carried over (upstream drops it and the stop rules append
        # it again at once), so its time survives too.
        stopped = [c for c in status.conditions or () if c.type == STOPPED]
        status.conditions = [ready, *stopped]
    if generation is not None:
        status.observed_generation = generation
    elif dstatus is not None:
        status.observed_generation = dstatus.observedGeneration or None
    return available


def propagate_knative_status(status: InferenceGraphStatus, ksvc: ServiceStatus) -> None:
    """Knative mode: the conditions are the Knative Service's; ``url`` is its URL while its
    Ready is True, else unset (left as is when the ksvc has no Ready condition)."""
    status.conditions = [c.model_copy() for c in ksvc.conditions or ()] or None
    ready = ksvc.get_condition(CONDITION_READY)
    if ready is not None:
        status.url = ksvc.url if ready.status == STATUS_TRUE else None


def _set_stopped(status: InferenceGraphStatus, value: str, when: str) -> None:
    kept = [c for c in status.conditions or () if c.type != STOPPED]
    kept.append(Condition(type=STOPPED, status=value, lastTransitionTime=when))
    status.conditions = kept


def propagate_stopped_condition(
    status: InferenceGraphStatus, stopped: bool, *, clock: WallClock = utc_now
) -> None:
    """The stop rules: Stopped False is appended when missing; stopping a running graph
    makes the conditions ``[Stopped True, Ready False Stopped]`` and unsets ``url``; resuming
    sets Stopped back to False (the workload's Ready comes from the propagate functions)."""
    now = format_time(clock())
    current = _get(status, STOPPED)
    if current is None:
        _set_stopped(status, STATUS_FALSE, now)
        current_status = STATUS_FALSE
    else:
        current_status = current.status
    if stopped and current_status == STATUS_FALSE:
        status.conditions = [
            Condition(type=STOPPED, status=STATUS_TRUE, lastTransitionTime=now),
            Condition(
                type=CONDITION_READY,
                status=STATUS_FALSE,
                reason=STOPPED_REASON,
                lastTransitionTime=now,
            ),
        ]
        status.url = None
    elif not stopped and current_status == STATUS_TRUE:
        _set_stopped(status, STATUS_FALSE, now)


def readiness_event(
    name: str, previous: InferenceGraphStatus | None, desired: InferenceGraphStatus
) -> tuple[str, str, str] | None:
    """The event after a status write: (type, reason, message) when Ready went True -> not
    True (Warning ``InferenceGraphNotReady``) or not True -> True (Normal
    ``InferenceGraphReady``); else None."""
    was, now = is_ready(previous), is_ready(desired)
    if was and not now:
        return (
            "Warning",
            EVENT_INFERENCE_GRAPH_NOT_READY,
            f"InferenceGraph [{name}] is no longer Ready",
        )
    if not was and now:
        return ("Normal", EVENT_INFERENCE_GRAPH_READY, f"InferenceGraph [{name}] is Ready")
    return None
