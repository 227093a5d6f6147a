"""The InferenceGraph status the controller writes (pure).

Built on ``apis.serving.v1alpha1.inference_graph_status`` (Stopped condition, Knative
propagation, readiness events) with the deliberate fixes of issue 11:

- Standard mode: Ready is the router Deployment's ``Available`` condition, True only when
  that condition is True (upstream: True as soon as an ``Available`` condition exists, even
  False; ``apis``' ``propagate_raw_status`` keeps that quirk for parity, so it is not used
  here); ``url`` only while Ready;
- every problem upstream answers with an error and a retry (InferenceService missing or not
  ready, Knative not served, a bad router config, an invalid spec) is a Ready False condition
  with a reason and message instead;
- ``status.deploymentMode`` is written (upstream never writes it), so the mode is sticky as
  for InferenceServices; ``observedGeneration`` is the graph's generation (Knative
  mode: once the router's Knative Service has observed the spec applied).
"""

from __future__ import annotations

from typing import Any

from apis.knative import Condition
from apis.knative.condition_set import (
    STATUS_FALSE,
    STATUS_TRUE,
    WallClock,
    format_time,
    semantic_equal,
    utc_now,
)
from apis.serving.constants import CONDITION_READY, STOPPED
from apis.serving.v1alpha1.inference_graph import InferenceGraphStatus

__all__ = [
    "REASON_CONFIG_UNAVAILABLE",
    "REASON_DEPLOYMENT_NOT_AVAILABLE",
    "REASON_INVALID_AUTOSCALER",
    "REASON_INVALID_ROUTER_CONFIG",
    "REASON_INVALID_SPEC",
    "REASON_SERVERLESS_MODE_REJECTED",
    "deployment_available",
    "propagate_deployment_status",
    "set_ready",
    "status_changed",
]

REASON_DEPLOYMENT_NOT_AVAILABLE = "DeploymentNotAvailable"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_INVALID_ROUTER_CONFIG = "InvalidRouterConfig"
REASON_INVALID_AUTOSCALER = "InvalidAutoscalerClass"
REASON_CONFIG_UNAVAILABLE = "ConfigUnavailable"
REASON_SERVERLESS_MODE_REJECTED = "ServerlessModeRejected"


def set_ready(
    status: InferenceGraphStatus,
    ready: bool,
    reason: str = "",
    message: str = "",
    *,
    clock: WallClock = utc_now,
) -> None:
    """Conditions become ``[Ready, Stopped (kept)]``. Ready keeps its ``lastTransitionTime``
    while its status, reason and message stay the same (no write when nothing changed)."""
    value = STATUS_TRUE if ready else STATUS_FALSE
    reason_v = None if ready else (reason or None)
    message_v = None if ready else (message or None)
    previous = status.get_condition(CONDITION_READY)
    same = (
        previous is not None
        and previous.status == value
        and (previous.reason or None) == reason_v
        and (previous.message or None) == message_v
    )
    when = previous.last_transition_time if same and previous is not None else format_time(clock())
    cond = Condition(
        type=CONDITION_READY,
        status=value,
        reason=reason_v,
        message=message_v,
        lastTransitionTime=when,
    )
    stopped = [c for c in status.conditions or () if c.type == STOPPED]
    status.conditions = [cond, *stopped]


def deployment_available(deployment: Any) -> tuple[bool, str, str]:
    """(available, reason, message) from a Deployment's ``Available`` condition: True only
    when it is True; otherwise its reason and message, or ``DeploymentNotAvailable`` when
    the Deployment (or the condition) does not exist yet."""
    if deployment is None:
        return False, REASON_DEPLOYMENT_NOT_AVAILABLE, "the router Deployment does not exist yet"
    status = getattr(deployment, "status", None)
    for c in (status.conditions if status is not None else None) or ():
        if c.type == "Available":
            if c.status == STATUS_TRUE:
                return True, "", ""
            return (
                False,
                c.reason or REASON_DEPLOYMENT_NOT_AVAILABLE,
                c.message or "the router Deployment is not available",
            )
    return (
        False,
        REASON_DEPLOYMENT_NOT_AVAILABLE,
        "the router Deployment has no Available condition yet",
    )


def propagate_deployment_status(
    status: InferenceGraphStatus,
    deployment: Any,
    url: str | None,
    *,
    clock: WallClock = utc_now,
) -> bool:
    """Standard mode: Ready from the router Deployment (:func:`deployment_available`),
    ``url`` while Ready. Returns Ready."""
    ok, reason, message = deployment_available(deployment)
    set_ready(status, ok, reason, message, clock=clock)
    status.url = url if ok else None
    return ok


def status_changed(old: InferenceGraphStatus | None, new: InferenceGraphStatus) -> bool:
    """Whether writing ``new`` over ``old`` changes anything but condition timestamps."""
    return not semantic_equal(old or InferenceGraphStatus(), new)
