"""``trained_model_status.go``: TrainedModelStatus, its living condition set
(InferenceServiceReady, MemoryResourceAvailable, IsMMSPredictor -> Ready) and the
condition/URL rules of the TrainedModel controller (reference §6).

Helpers mutate the status they are given, as upstream's methods do; no I/O; ``clock``
stamps ``lastTransitionTime``.
"""

from __future__ import annotations

from pydantic import Field

from apis.knative import Addressable, Condition, DuckStatus
from apis.knative.condition_set import (
    STATUS_FALSE,
    STATUS_TRUE,
    STATUS_UNKNOWN,
    ConditionSet,
    WallClock,
    is_true,
    utc_now,
)
from apis.serving.constants import (
    INFERENCE_SERVICE_READY,
    IS_MMS_PREDICTOR,
    MEMORY_RESOURCE_AVAILABLE,
    REASON_INFERENCE_SERVICE_NOT_READY,
    REASON_IS_NOT_MMS_PREDICTOR,
    REASON_MEMORY_RESOURCE_NOT_AVAILABLE,
    predict_path,
)

__all__ = [
    "CONDITION_SET",
    "INFERENCE_SERVICE_READY",
    "IS_MMS_PREDICTOR",
    "MEMORY_RESOURCE_AVAILABLE",
    "TrainedModelStatus",
    "get_condition",
    "initialize_conditions",
    "is_condition_ready",
    "is_ready",
    "set_condition",
    "update_trained_model_conditions",
    "update_trained_model_urls",
]

CONDITION_SET = ConditionSet.living(
    INFERENCE_SERVICE_READY, MEMORY_RESOURCE_AVAILABLE, IS_MMS_PREDICTOR
)
"""The living condition set: Ready is True when all three are."""

# The condition messages and controller errors of upstream's trainedmodel/controller.go.
_CHECKS = (
    (
        INFERENCE_SERVICE_READY,
        REASON_INFERENCE_SERVICE_NOT_READY,
        "Inference Service needs to be ready before Trained Model can be ready",
        'Inference Service "{isvc}" is not ready. Trained Model "{tm}" cannot deploy',
    ),
    (
        IS_MMS_PREDICTOR,
        REASON_IS_NOT_MMS_PREDICTOR,
        "Inference Service predictor is not configured for multi-model serving",
        'Inference Service "{isvc}" predictor is not configured for multi-model serving. '
        'Trained Model "{tm}" cannot deploy',
    ),
    (
        MEMORY_RESOURCE_AVAILABLE,
        REASON_MEMORY_RESOURCE_NOT_AVAILABLE,
        "Inference Service does not have enough memory resources for Trained Model",
        'Inference Service "{isvc}" memory resources are not available. Trained Model "{tm}" '
        "cannot deploy",
    ),
)


class TrainedModelStatus(DuckStatus):
    """TrainedModelStatus defines the observed state of TrainedModel"""

    url: str | None = Field(None, alias="url")
    """URL holds the url that will distribute traffic over the provided traffic targets.
    For v1: http[s]://{route-name}.{route-namespace}.{cluster-level-suffix}/v1/models/<trainedmodel>:predict
    For v2: http[s]://{route-name}.{route-namespace}.{cluster-level-suffix}/v2/models/<trainedmodel>/infer"""
    address: Addressable | None = Field(None, alias="address")
    """Addressable endpoint for the deployed trained model
    http://<inferenceservice.metadata.name>/v1/models/<trainedmodel>.metadata.name"""


def initialize_conditions(status: TrainedModelStatus, *, clock: WallClock = utc_now) -> None:
    """``InitializeConditions``: Ready and the three dependents Unknown where unset."""
    CONDITION_SET.manage(status, clock).initialize_conditions()


def is_ready(status: TrainedModelStatus | None) -> bool:
    """``IsReady``: Ready is True."""
    return status is not None and CONDITION_SET.manage(status).is_happy()


def get_condition(status: TrainedModelStatus, condition_type: str) -> Condition | None:
    """``GetCondition`` (a copy)."""
    return CONDITION_SET.manage(status).get_condition(condition_type)


def is_condition_ready(status: TrainedModelStatus, condition_type: str) -> bool:
    """``IsConditionReady``: present and True."""
    return is_true(get_condition(status, condition_type))


def set_condition(
    status: TrainedModelStatus,
    condition_type: str,
    condition_status: str | None,
    reason: str = "",
    message: str = "",
    *,
    clock: WallClock = utc_now,
) -> None:
    """``SetCondition``: True (reason and message dropped, as upstream's ``MarkTrue``),
    False or Unknown through the condition set; None changes nothing."""
    m = CONDITION_SET.manage(status, clock)
    if condition_status == STATUS_UNKNOWN:
        m.mark_unknown(condition_type, reason, message)
    elif condition_status == STATUS_TRUE:
        m.mark_true(condition_type)
    elif condition_status == STATUS_FALSE:
        m.mark_false(condition_type, reason, message)


def update_trained_model_conditions(
    status: TrainedModelStatus,
    *,
    isvc_name: str,
    tm_name: str,
    isvc_ready: bool,
    is_mms_predictor: bool,
    memory_available: bool,
    clock: WallClock = utc_now,
) -> str | None:
    """``updateConditions``: InferenceServiceReady, IsMMSPredictor, MemoryResourceAvailable
    True, or False with upstream's reasons and messages. Returns the controller's error text
    for the last failing check (upstream returns it after writing the status, so the
    TrainedModel is retried with backoff), or None when all hold."""
    error: str | None = None
    for (ctype, reason, message, err), ok in zip(
        _CHECKS, (isvc_ready, is_mms_predictor, memory_available), strict=True
    ):
        if ok:
            set_condition(status, ctype, STATUS_TRUE, clock=clock)
        else:
            set_condition(status, ctype, STATUS_FALSE, reason, message, clock=clock)
            error = err.format(isvc=isvc_name, tm=tm_name)
    return error


def update_trained_model_urls(
    status: TrainedModelStatus,
    tm_name: str,
    protocol: str | None,
    isvc_url: str | None,
    isvc_address_url: str | None,
) -> None:
    """``updateStatus``: ``url`` and ``address.url`` = the InferenceService's plus
    ``/v1/models/<tm>:predict`` (v1) or ``/v2/models/<tm>/infer`` (v2); each left as it is
    while the InferenceService has none."""
    path = predict_path(tm_name, protocol)
    if isvc_url:
        status.url = isvc_url + path
    if isvc_address_url:
        status.address = Addressable(url=isvc_address_url + path)
