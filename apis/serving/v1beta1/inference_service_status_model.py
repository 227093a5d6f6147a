"""InferenceService ``status.modelStatus`` (the model half of upstream
``inference_service_status.go``): model revision states, transition status, failure info,
copies, and ``PropagateModelStatus`` from the predictor's pods.

Transitions: Pending / Loading -> InProgress, Loaded -> UpToDate (and active state Loaded),
FailedToLoad -> BlockedByFailedLoad; an invalid spec (runtime missing, disabled, not
supporting the format or protocol, a bad predictor spec) -> InvalidSpec with target state
FailedToLoad and a ``lastFailureInfo`` naming the reason.

Free functions mutating the status in place, as upstream's methods do; no I/O. Pods are
lightkube ``core_v1.Pod`` objects. Integers Go marshals with ``omitempty``
(``copies.totalCopies``, ``lastFailureInfo.exitCode``) are left unset when zero, so the
status serialises as upstream's does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from lightkube.models.core_v1 import ContainerStatus, Pod

from apis.knative.serving import ServiceStatus
from apis.serving.constants import (
    INFERENCE_SERVICE_CONTAINER,
    STATE_REASON_CRASH_LOOP_BACK_OFF,
    STATE_REASON_ERROR,
    STORAGE_INITIALIZER_CONTAINER,
)
from apis.serving.v1beta1.inference_service_status import (
    ComponentStatusSpec,
    FailureInfo,
    FailureReason,
    InferenceServiceStatus,
    ModelCopies,
    ModelRevisionStates,
    ModelState,
    ModelStatus,
    TransitionStatus,
)
from apis.serving.v1beta1.inference_service_status_conditions import is_ready

__all__ = [
    "count_ready_pods",
    "mark_invalid_spec",
    "model_status",
    "propagate_model_status",
    "set_model_failure_info",
    "sort_pods_newest_first",
    "update_model_revision_states",
    "update_model_transition_status",
]

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def model_status(status: InferenceServiceStatus) -> ModelStatus:
    """``status.modelStatus``, created as Go's zero value (``transitionStatus: ""``) when
    missing."""
    if status.model_status is None:
        status.model_status = ModelStatus(transition_status="")
    return status.model_status


def set_model_failure_info(status: InferenceServiceStatus, info: FailureInfo | None) -> bool:
    """``SetModelFailureInfo``: replace ``lastFailureInfo``; False when it was equal."""
    ms = model_status(status)
    if info == ms.last_failure_info:
        return False
    ms.last_failure_info = info
    return True


def update_model_revision_states(
    status: InferenceServiceStatus, state: ModelState, info: FailureInfo | None = None
) -> None:
    """``UpdateModelRevisionStates``: target state ``state`` and the transition it implies
    (Pending/Loading -> InProgress; Loaded -> UpToDate with active state Loaded;
    FailedToLoad -> BlockedByFailedLoad); ``info`` (when given) becomes
    ``lastFailureInfo``."""
    ms = model_status(status)
    if ms.model_revision_states is None:
        ms.model_revision_states = ModelRevisionStates(active_model_state="")
    states = ms.model_revision_states
    states.target_model_state = state
    if state in ("Pending", "Loading"):
        ms.transition_status = "InProgress"
    elif state == "Loaded":
        ms.transition_status = "UpToDate"
        states.active_model_state = "Loaded"
    elif state == "FailedToLoad":
        ms.transition_status = "BlockedByFailedLoad"
    if info is not None:
        set_model_failure_info(status, info)


def update_model_transition_status(
    status: InferenceServiceStatus, transition: TransitionStatus, info: FailureInfo | None = None
) -> None:
    """``UpdateModelTransitionStatus``: set the transition; InvalidSpec also makes the target
    state FailedToLoad. ``info`` (when given) becomes ``lastFailureInfo``."""
    ms = model_status(status)
    ms.transition_status = transition
    if transition == "InvalidSpec":
        if ms.model_revision_states is None:
            ms.model_revision_states = ModelRevisionStates(
                active_model_state="", target_model_state="FailedToLoad"
            )
        else:
            ms.model_revision_states.target_model_state = "FailedToLoad"
    if info is not None:
        set_model_failure_info(status, info)


def mark_invalid_spec(status: InferenceServiceStatus, reason: FailureReason, message: str) -> None:
    """The predictor's refusal of its runtime or spec: transition InvalidSpec, target state
    FailedToLoad, ``lastFailureInfo {reason, message}``. Reasons and upstream's messages:
    RuntimeNotRecognized (``constants.MESSAGE_RUNTIME_NOT_RECOGNIZED``), RuntimeDisabled,
    NoSupportingRuntime, InvalidPredictorSpec (``constants.MESSAGE_*``)."""
    update_model_transition_status(
        status, "InvalidSpec", FailureInfo(reason=reason, message=message or None)
    )


def count_ready_pods(pods: Iterable[Pod]) -> int:
    """``countReadyPods``: Running pods whose Ready condition is True."""
    n = 0
    for pod in pods:
        st = pod.status
        if st is None or st.phase != "Running":
            continue
        if any(c.type == "Ready" and c.status == "True" for c in st.conditions or ()):
            n += 1
    return n


def sort_pods_newest_first(pods: Iterable[Pod]) -> list[Pod]:
    """``sortPodsByCreatedTimestampDesc``: newest ``creationTimestamp`` first, ties (the
    timestamp has whole seconds) broken by name, so the pod whose state is reported does not
    flip between reconciles."""

    def created(p: Pod) -> datetime:
        t = p.metadata.creationTimestamp if p.metadata is not None else None
        if t is None:
            return _EPOCH
        return t if t.tzinfo is not None else t.replace(tzinfo=UTC)

    def name(p: Pod) -> str:
        return (p.metadata.name if p.metadata is not None else None) or ""

    by_name = sorted(pods, key=name)
    return sorted(by_name, key=created, reverse=True)


def _failure(message: str | None, exit_code: int | None) -> FailureInfo:
    return FailureInfo(
        reason="ModelLoadFailed", message=message or None, exit_code=exit_code or None
    )


def _crash_loop_failure(cs: ContainerStatus) -> FailureInfo:
    """Failure info of a container in CrashLoopBackOff: its last termination (upstream
    dereferences it unchecked and panics when absent; here the waiting message stands in)."""
    last = cs.lastState.terminated if cs.lastState is not None else None
    if last is not None:
        return _failure(last.message, last.exitCode)
    waiting = cs.state.waiting if cs.state is not None else None
    return _failure(waiting.message if waiting is not None else None, None)


def propagate_model_status(
    status: InferenceServiceStatus,
    status_spec: ComponentStatusSpec,
    pods: Sequence[Pod],
    raw_deployment: bool,
    service_status: ServiceStatus | None = None,
) -> bool:
    """``PropagateModelStatus`` from the predictor's pods (``app=isvc.<name>`` in Standard
    mode, the latest revision's in Knative), the newest pod deciding.

    ``copies.totalCopies`` = Ready pods. No pods: Pending (Knative: FailedToLoad when a ksvc
    condition is False). The storage-initializer running -> Loading (but False, "requeue",
    when it has failed before: it may be between crashes); terminated with Error or in
    CrashLoopBackOff -> FailedToLoad with ``lastFailureInfo {ModelLoadFailed, message,
    exitCode}``. Ready InferenceService -> Loaded (Knative: once the latest created revision
    is the latest ready one). Otherwise the kserve-container terminated with Error or
    crash-looping -> FailedToLoad, else Pending. Returns False only to ask for a requeue."""
    pods = sort_pods_newest_first(pods)
    ms = model_status(status)
    if ms.model_copies is None:
        ms.model_copies = ModelCopies(failed_copies=0)
    ms.model_copies.total_copies = count_ready_pods(pods) or None
    if not pods:
        # Knative: scaled to zero because of an error? (lastFailureInfo is left as it is)
        if (
            not raw_deployment
            and service_status is not None
            and any(c.status == "False" for c in service_status.conditions or ())
        ):
            update_model_revision_states(status, "FailedToLoad")
            return True
        update_model_revision_states(status, "Pending")
        return True
    first = pods[0].status
    for cs in (first.initContainerStatuses if first is not None else None) or ():
        init_state = cs.state
        if cs.name != STORAGE_INITIALIZER_CONTAINER or init_state is None:
            continue
        if init_state.running is not None:
            if cs.lastState is not None and cs.lastState.terminated is not None:
                return False
            update_model_revision_states(status, "Loading")
            return True
        if init_state.terminated is not None and init_state.terminated.reason == STATE_REASON_ERROR:
            failed = init_state.terminated
            update_model_revision_states(
                status, "FailedToLoad", _failure(failed.message, failed.exitCode)
            )
            return True
        waiting = init_state.waiting
        if waiting is not None and waiting.reason == STATE_REASON_CRASH_LOOP_BACK_OFF:
            update_model_revision_states(status, "FailedToLoad", _crash_loop_failure(cs))
            return True
    if is_ready(status) and (
        raw_deployment
        or (status_spec.latest_created_revision or "") == (status_spec.latest_ready_revision or "")
    ):
        update_model_revision_states(status, "Loaded")
        return True
    for cs in (first.containerStatuses if first is not None else None) or ():
        if cs.name != INFERENCE_SERVICE_CONTAINER:
            continue
        state = cs.state
        terminated = state.terminated if state is not None else None
        waiting = state.waiting if state is not None else None
        if terminated is not None and terminated.reason == STATE_REASON_ERROR:
            update_model_revision_states(
                status, "FailedToLoad", _failure(terminated.message, terminated.exitCode)
            )
        elif waiting is not None and waiting.reason == STATE_REASON_CRASH_LOOP_BACK_OFF:
            update_model_revision_states(status, "FailedToLoad", _crash_loop_failure(cs))
        else:
            update_model_revision_states(status, "Pending")
    return True
