"""InferenceService conditions and component status (the condition half of upstream
``inference_service_status.go``, plus the canary condition and readiness events upstream
keeps in ``components/predictor.go`` and ``controller.go``). Knative propagation is in
:mod:`.inference_service_status_knative`, the stop rules in :mod:`.inference_service_status_stop`,
model status in :mod:`.inference_service_status_model`.

The living set is {PredictorReady, IngressReady} -> Ready: those two and Ready have severity
Error; every other type (TransformerReady, ExplainerReady, RoutesReady,
LatestDeploymentReady, ``<Comp>RouteReady``, ``<Comp>ConfigurationReady``,
CanaryPredictorReady, Stopped, OciImageVolumeCompatible) is Info. Conditions stay sorted by
type.

Free functions over :class:`InferenceServiceStatus`, mutating it in place as upstream's
methods do (deep-copy a cached object first). Pure otherwise: no I/O; ``clock`` stamps
``lastTransitionTime``. Deployments are lightkube ``apps_v1.Deployment`` objects.

One deliberate difference: :func:`propagate_raw_status` takes the InferenceService's
``metadata.generation`` for ``status.observedGeneration`` (upstream copies the first
Deployment's ``status.observedGeneration``, so waiting for "observedGeneration ==
generation" never works); without ``generation`` it behaves as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightkube.models.apps_v1 import Deployment

from apis.knative import Condition, ConditionManager, ConditionSet, semantic_equal
from apis.knative.condition_set import (
    STATUS_FALSE,
    STATUS_TRUE,
    STATUS_UNKNOWN,
    WallClock,
    format_time,
    is_false,
    is_true,
    utc_now,
)
from apis.serving.constants import (
    CANARY_PREDICTOR_READY,
    CONDITION_READY,
    EVENT_INFERENCE_SERVICE_NOT_READY,
    EVENT_INFERENCE_SERVICE_READY,
    EXPLAINER_READY,
    INGRESS_READY,
    PREDICTOR_READY,
    REASON_ALL_CANARIES_READY,
    REASON_CANARIES_NOT_READY,
    REASON_NEW_REPLICA_SET_AVAILABLE,
    STOPPED_REASON,
    TRANSFORMER_READY,
    WORKER_NODE_SUFFIX,
    DeploymentModeType,
    InferenceServiceComponent,
)
from apis.serving.v1beta1.inference_service_status import (
    CanaryStatus,
    ComponentStatusSpec,
    InferenceServiceStatus,
)

__all__ = [
    "CONDITION_SET",
    "READY_CONDITIONS",
    "Component",
    "clear_condition",
    "component_key",
    "component_status",
    "condition_manager",
    "failed_condition_types",
    "get_condition",
    "get_deployment_condition",
    "inference_service_status_equal",
    "initialize_conditions",
    "is_condition_false",
    "is_condition_ready",
    "is_condition_unknown",
    "is_ready",
    "propagate_canary_status",
    "propagate_raw_status",
    "propagate_raw_status_with_messages",
    "readiness_event",
    "set_condition",
]

Component = InferenceServiceComponent | str

CONDITION_SET = ConditionSet.living(PREDICTOR_READY, INGRESS_READY)
"""``conditionSet``: Ready follows PredictorReady and IngressReady."""

READY_CONDITIONS: Mapping[str, str] = {
    InferenceServiceComponent.PREDICTOR: PREDICTOR_READY,
    InferenceServiceComponent.EXPLAINER: EXPLAINER_READY,
    InferenceServiceComponent.TRANSFORMER: TRANSFORMER_READY,
}
"""``readyConditionsMap``: component -> its ``<Comp>Ready`` condition."""


def component_key(component: Component) -> str:
    """The ``status.components`` key of ``component``; ValueError for an unknown one."""
    key = str(component)
    if key not in READY_CONDITIONS:
        raise ValueError(f"unknown InferenceService component {key!r}")
    return key


# ---------------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------------


def condition_manager(
    status: InferenceServiceStatus, clock: WallClock = utc_now
) -> ConditionManager:
    """``conditionSet.Manage(status)``."""
    return CONDITION_SET.manage(status, clock)


def initialize_conditions(status: InferenceServiceStatus, *, clock: WallClock = utc_now) -> None:
    """``InitializeConditions``: Ready, PredictorReady and IngressReady Unknown where unset."""
    condition_manager(status, clock).initialize_conditions()


def is_ready(status: InferenceServiceStatus | None) -> bool:
    """``IsReady``: the Ready condition is True."""
    return status is not None and condition_manager(status).is_happy()


def get_condition(status: InferenceServiceStatus, condition_type: str) -> Condition | None:
    """``GetCondition`` (a copy)."""
    return condition_manager(status).get_condition(condition_type)


def is_condition_ready(status: InferenceServiceStatus, condition_type: str) -> bool:
    """``IsConditionReady``: present and True."""
    return is_true(get_condition(status, condition_type))


def is_condition_false(status: InferenceServiceStatus, condition_type: str) -> bool:
    """``IsConditionFalse``: present and False."""
    return is_false(get_condition(status, condition_type))


def is_condition_unknown(status: InferenceServiceStatus, condition_type: str) -> bool:
    """``IsConditionUnknown``: absent or Unknown."""
    c = get_condition(status, condition_type)
    return c is None or c.status == STATUS_UNKNOWN


def set_condition(
    status: InferenceServiceStatus,
    condition_type: str,
    condition_status: str | None,
    reason: str | None = "",
    message: str | None = "",
    *,
    clock: WallClock = utc_now,
) -> None:
    """``SetCondition``: mark ``condition_type`` True (with reason), False or Unknown through
    the condition set, so Ready follows; ``condition_status=None`` (upstream: a nil
    condition) and any other status change nothing."""
    m = condition_manager(status, clock)
    if condition_status == STATUS_UNKNOWN:
        m.mark_unknown(condition_type, reason or "", message or "")
    elif condition_status == STATUS_TRUE:
        m.mark_true_with_reason(condition_type, reason or "", message or "")
    elif condition_status == STATUS_FALSE:
        m.mark_false(condition_type, reason or "", message or "")


def clear_condition(status: InferenceServiceStatus, condition_type: str) -> None:
    """``ClearCondition``: remove a non-terminal condition; Ready, PredictorReady and
    IngressReady are left in place (upstream ignores the refusal)."""
    if CONDITION_SET.is_terminal(condition_type):
        return
    condition_manager(status).clear_condition(condition_type)


def failed_condition_types(status: InferenceServiceStatus) -> list[str]:
    """``GetFailConditions``: the types of the False conditions, in status order."""
    return [c.type for c in status.conditions or () if c.status == STATUS_FALSE]


# ---------------------------------------------------------------------------------------------
# Component status
# ---------------------------------------------------------------------------------------------


def component_status(status: InferenceServiceStatus, component: Component) -> ComponentStatusSpec:
    """``status.components[component]``, created empty if missing (upstream's propagate
    functions always leave an entry for the component they touch)."""
    key = component_key(component)
    if status.components is None:
        status.components = {}
    spec = status.components.get(key)
    if spec is None:
        spec = status.components[key] = ComponentStatusSpec()
    return spec


def propagate_raw_status_with_messages(
    status: InferenceServiceStatus,
    component: Component,
    reason: str,
    message: str,
    target_status: str,
    *,
    clock: WallClock = utc_now,
) -> None:
    """``PropagateRawStatusWithMessages``: ``<Comp>Ready`` = ``target_status`` with
    ``reason`` and ``message`` (e.g. False ``ReconcileFailed`` when building the component
    failed)."""
    component_status(status, component)
    set_condition(
        status,
        READY_CONDITIONS[component_key(component)],
        target_status,
        reason,
        message,
        clock=clock,
    )


def _deployment_conditions(d: Deployment) -> list[Any]:
    return list((d.status.conditions if d.status is not None else None) or [])


def get_deployment_condition(
    deployments: Sequence[Deployment], condition_type: str
) -> Condition | None:
    """``getDeploymentCondition``: the Deployment condition of ``condition_type`` as a
    knative condition, or None when absent.

    One Deployment: its condition as is. Several (multi-node head + worker): only when exactly
    two carry the condition; status True iff both are True; message and reason prefixed
    ``predictor-container: `` / ``worker-container: `` (a name containing ``worker``) and
    joined with ``, `` (the reason unprefixed when all are the same); the head's time."""
    if len(deployments) == 1:
        for con in _deployment_conditions(deployments[0]):
            if con.type == condition_type:
                return _knative_condition(
                    condition_type, con.status, con.reason, con.message, con.lastTransitionTime
                )
        return None
    if not deployments:
        return None
    statuses: list[str] = []
    messages: list[str] = []
    reasons: list[str] = []
    raw_reasons: list[str] = []
    times: list[Any] = []
    for d in deployments:
        name = (d.metadata.name if d.metadata is not None else None) or ""
        prefix = "worker-container: " if WORKER_NODE_SUFFIX in name else "predictor-container: "
        for con in _deployment_conditions(d):
            if con.type == condition_type:
                statuses.append(con.status)
                messages.append(prefix + (con.message or ""))
                reasons.append(prefix + (con.reason or ""))
                raw_reasons.append(con.reason or "")
                times.append(con.lastTransitionTime)
                break
    if len(statuses) != 2:
        return None
    all_true = all(s == STATUS_TRUE for s in statuses)
    same_reason = all(r == raw_reasons[0] for r in raw_reasons)
    return _knative_condition(
        condition_type,
        STATUS_TRUE if all_true else STATUS_FALSE,
        raw_reasons[0] if same_reason else ", ".join(reasons),
        ", ".join(messages),
        times[0],
    )


def _knative_condition(
    condition_type: str, status: str, reason: str | None, message: str | None, when: Any
) -> Condition:
    return Condition(
        type=condition_type,
        status=status,
        reason=reason or None,
        message=message or None,
        lastTransitionTime=format_time(when) if when is not None else None,
    )


def propagate_raw_status(
    status: InferenceServiceStatus,
    component: Component,
    deployments: Sequence[Deployment],
    url: str | None,
    *,
    generation: int | None = None,
    not_ready: tuple[str, str] | None = None,
    clock: WallClock = utc_now,
) -> None:
    """``PropagateRawStatus``: ``<Comp>Ready`` from the component's Deployment(s).

    False by default; Available True -> True; Progressing False with a message -> False;
    Progressing True ``NewReplicaSetAvailable`` -> True; Progressing True otherwise while
    Available is not True -> Unknown; Available False -> False; ReplicaFailure True -> False
    (later rules win; reason and message come from the deciding Deployment condition).
    ``components.<c>.url`` is set to ``url`` only when the result is True.

    Beyond upstream: ``not_ready`` (``(reason, message)``, e.g. from
    :func:`~.inference_service_status_pods.predictor_not_ready_reason` over the component's
    pods) replaces the Deployment's generic reason when the result is not True, except a
    ReplicaFailure's (``FailedCreate``: quota, admission), which already says what is wrong.
    ``observedGeneration`` = ``generation`` (the InferenceService's) when given, else the
    first Deployment's as upstream."""
    spec = component_status(status, component)
    state, reason, message = STATUS_FALSE, "", ""
    available = get_deployment_condition(deployments, "Available")
    available_true = is_true(available)
    if available is not None and available_true:
        state, reason, message = STATUS_TRUE, available.reason or "", available.message or ""
    progressing = get_deployment_condition(deployments, "Progressing")
    if progressing is not None:
        p_reason, p_message = progressing.reason or "", progressing.message or ""
        if progressing.status == STATUS_FALSE:
            if p_message:
                # A message means a problem, usually ProgressDeadlineExceeded.
                state, reason, message = STATUS_FALSE, p_reason, p_message
        elif progressing.status == STATUS_TRUE:
            if p_reason == REASON_NEW_REPLICA_SET_AVAILABLE:
                state, reason, message = STATUS_TRUE, p_reason, p_message
            elif not available_true:
                state, reason, message = STATUS_UNKNOWN, p_reason, p_message
    if available is not None and available.status == STATUS_FALSE:
        state, reason, message = STATUS_FALSE, available.reason or "", available.message or ""
    failure = get_deployment_condition(deployments, "ReplicaFailure")
    if failure is not None and failure.status == STATUS_TRUE:
        state, reason, message = STATUS_FALSE, failure.reason or "", failure.message or ""
    elif state != STATUS_TRUE and not_ready is not None:
        reason, message = not_ready
    if state == STATUS_TRUE:
        spec.url = url
    set_condition(
        status, READY_CONDITIONS[component_key(component)], state, reason, message, clock=clock
    )
    if generation is not None:
        status.observed_generation = generation
    elif deployments:
        first = deployments[0].status
        status.observed_generation = (
            first.observedGeneration if first is not None else None
        ) or None


# ---------------------------------------------------------------------------------------------
# Canaries (reference §2.8), readiness events and status comparison (§2.1)
# ---------------------------------------------------------------------------------------------


def propagate_canary_status(
    status: InferenceServiceStatus,
    canaries: Sequence[CanaryStatus],
    *,
    stopped: bool = False,
    clock: WallClock = utc_now,
) -> None:
    """Standard-mode ``spec.canary[]``: ``canaryStatuses`` = ``canaries`` (omitted when
    none) and CanaryPredictorReady True ``AllCanariesReady`` / False ``CanariesNotReady`` /
    False ``Stopped``; the condition is cleared when there are no canaries."""
    status.canary_statuses = list(canaries) or None
    if not canaries:
        clear_condition(status, CANARY_PREDICTOR_READY)
        return
    if stopped:
        state, reason = STATUS_FALSE, STOPPED_REASON
    elif all(c.ready for c in canaries):
        state, reason = STATUS_TRUE, REASON_ALL_CANARIES_READY
    else:
        state, reason = STATUS_FALSE, REASON_CANARIES_NOT_READY
    set_condition(status, CANARY_PREDICTOR_READY, state, reason, clock=clock)


def readiness_event(
    name: str, previous: InferenceServiceStatus | None, desired: InferenceServiceStatus
) -> tuple[str, str, str] | None:
    """The event ``updateStatus`` records after a status write: (type, reason, message) when
    Ready went True -> False (Warning ``InferenceServiceNotReady``, naming the False
    conditions) or not-True -> True (Normal ``InferenceServiceReady``); else None."""
    was_ready = is_ready(previous)
    if was_ready and is_condition_false(desired, CONDITION_READY):
        failed = ", ".join(failed_condition_types(desired))
        return (
            "Warning",
            EVENT_INFERENCE_SERVICE_NOT_READY,
            f"InferenceService [{name}] is no longer Ready because of: {failed}",
        )
    if not was_ready and is_ready(desired):
        return ("Normal", EVENT_INFERENCE_SERVICE_READY, f"InferenceService [{name}] is Ready")
    return None


def inference_service_status_equal(
    a: InferenceServiceStatus | None,
    b: InferenceServiceStatus | None,
    mode: DeploymentModeType | str,
) -> bool:
    """``inferenceServiceStatusEqual``: semantic equality (condition times ignored). In
    ModelMesh mode only url, address, the duck fields and the transformer / explainer
    components count (ModelMesh's controller owns the rest)."""
    if mode != DeploymentModeType.MODEL_MESH:
        return semantic_equal(a, b)
    a = a or InferenceServiceStatus()
    b = b or InferenceServiceStatus()
    if not (
        a.url == b.url
        and semantic_equal(a.address, b.address)
        and semantic_equal(_duck(a), _duck(b))
    ):
        return False
    for c in (InferenceServiceComponent.TRANSFORMER, InferenceServiceComponent.EXPLAINER):
        ca = (a.components or {}).get(c)
        cb = (b.components or {}).get(c)
        if not semantic_equal(ca or ComponentStatusSpec(), cb or ComponentStatusSpec()):
            return False
    return True


def _duck(s: InferenceServiceStatus) -> InferenceServiceStatus:
    return InferenceServiceStatus(
        observedGeneration=s.observed_generation,
        conditions=s.conditions,
        annotations=s.annotations,
    )
