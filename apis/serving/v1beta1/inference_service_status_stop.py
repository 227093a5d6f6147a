"""Stopping an InferenceService (reference §2.9, upstream ``components/*.go`` and
``controller.go``): the stop annotation, the predictor clearing the status, the other
components and ingress marked False ``Stopped``, and the Stopped condition. Mutates the
status in place; no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from apis.knative.condition_set import STATUS_FALSE, STATUS_TRUE, WallClock, is_false, utc_now
from apis.serving.constants import PREDICTOR_READY, STOP_ANNOTATION, STOPPED, STOPPED_REASON
from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus, ModelStatus
from apis.serving.v1beta1.inference_service_status_conditions import get_condition, set_condition

__all__ = [
    "is_stop_requested",
    "mark_component_stopped",
    "mark_predictor_stopped",
    "propagate_stopped_condition",
]


def is_stop_requested(annotations: Mapping[str, str] | None) -> bool:
    """``utils.GetForceStopRuntime``: the stop annotation equals ``true`` in any case."""
    value = (annotations or {}).get(STOP_ANNOTATION)
    return value is not None and value.casefold() == "true"


def _is_stopped(status: InferenceServiceStatus, condition_type: str) -> bool:
    c = get_condition(status, condition_type)
    return is_false(c) and c is not None and c.reason == STOPPED_REASON


def mark_predictor_stopped(status: InferenceServiceStatus, *, clock: WallClock = utc_now) -> bool:
    """The predictor's stop: unless PredictorReady is already False ``Stopped``, clear the
    whole status except ``deploymentMode`` and set PredictorReady (hence Ready) False
    ``Stopped``. ``modelStatus`` becomes ``{transitionStatus: ""}``, the zero value upstream
    always serialises. Returns whether anything changed."""
    if _is_stopped(status, PREDICTOR_READY):
        return False
    mode = status.deployment_mode
    for name, field in type(status).model_fields.items():
        setattr(status, name, field.get_default(call_default_factory=True))
    status.deployment_mode = mode
    status.model_status = ModelStatus(transition_status="")
    set_condition(status, PREDICTOR_READY, STATUS_FALSE, STOPPED_REASON, clock=clock)
    return True


def mark_component_stopped(
    status: InferenceServiceStatus, condition_type: str, *, clock: WallClock = utc_now
) -> bool:
    """TransformerReady / ExplainerReady / IngressReady False ``Stopped`` (unless already).
    Returns whether anything changed."""
    if _is_stopped(status, condition_type):
        return False
    set_condition(status, condition_type, STATUS_FALSE, STOPPED_REASON, clock=clock)
    return True


def propagate_stopped_condition(
    status: InferenceServiceStatus, stopped: bool, *, clock: WallClock = utc_now
) -> None:
    """Reference §2.1 step 9: Stopped defaults to False; True while ``stopped``; back to False
    when the annotation goes."""
    current = get_condition(status, STOPPED)
    current_status = current.status if current is not None else None
    if current is None:
        set_condition(status, STOPPED, STATUS_FALSE, clock=clock)
        current_status = STATUS_FALSE
    if stopped and current_status == STATUS_FALSE:
        set_condition(status, STOPPED, STATUS_TRUE, clock=clock)
    elif not stopped and current_status == STATUS_TRUE:
        set_condition(status, STOPPED, STATUS_FALSE, clock=clock)
