"""Knative-mode InferenceService status (upstream ``inference_service_status.go``
``PropagateStatus`` and ``PropagateCrossComponentStatus``): component conditions, revisions,
traffic, url and address from each component's Knative Service, and the aggregated
RoutesReady / LatestDeploymentReady. Mutates the status in place; no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from apis.knative import Condition
from apis.knative.condition_set import (
    STATUS_FALSE,
    STATUS_TRUE,
    STATUS_UNKNOWN,
    WallClock,
    is_true,
    utc_now,
)
from apis.knative.serving import ServiceStatus
from apis.serving.constants import (
    CONDITION_READY,
    EXPLAINER_CONFIGURATION_READY,
    EXPLAINER_ROUTES_READY,
    LATEST_DEPLOYMENT_READY,
    PREDICTOR_CONFIGURATION_READY,
    PREDICTOR_ROUTE_READY,
    ROUTES_READY,
    TRANSFORMER_CONFIGURATION_READY,
    TRANSFORMER_ROUTE_READY,
    InferenceServiceComponent,
)
from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    READY_CONDITIONS,
    Component,
    component_key,
    component_status,
    is_condition_ready,
    is_condition_unknown,
    set_condition,
)

__all__ = [
    "CONFIGURATION_CONDITIONS",
    "ROUTE_CONDITIONS",
    "propagate_cross_component_status",
    "propagate_status",
]

ROUTE_CONDITIONS: Mapping[str, str] = {
    InferenceServiceComponent.PREDICTOR: PREDICTOR_ROUTE_READY,
    InferenceServiceComponent.EXPLAINER: EXPLAINER_ROUTES_READY,
    InferenceServiceComponent.TRANSFORMER: TRANSFORMER_ROUTE_READY,
}
"""``routeConditionsMap`` (Knative)."""
CONFIGURATION_CONDITIONS: Mapping[str, str] = {
    InferenceServiceComponent.PREDICTOR: PREDICTOR_CONFIGURATION_READY,
    InferenceServiceComponent.EXPLAINER: EXPLAINER_CONFIGURATION_READY,
    InferenceServiceComponent.TRANSFORMER: TRANSFORMER_CONFIGURATION_READY,
}
"""``configurationConditionsMap`` (Knative)."""
_AGGREGATES: Mapping[str, Mapping[str, str]] = {
    ROUTES_READY: ROUTE_CONDITIONS,
    LATEST_DEPLOYMENT_READY: CONFIGURATION_CONDITIONS,
}


def propagate_cross_component_status(
    status: InferenceServiceStatus,
    components: Sequence[Component],
    condition_type: str,
    *,
    clock: WallClock = utc_now,
) -> None:
    """``PropagateCrossComponentStatus`` (Knative): RoutesReady / LatestDeploymentReady True
    iff every listed component's route / configuration condition is True; otherwise False
    (Unknown if that condition is Unknown or missing) with reason ``<Type> not ready`` of the
    last such component. Other condition types are ignored."""
    per_component = _AGGREGATES.get(condition_type)
    if per_component is None:
        return
    state, reason = STATUS_TRUE, ""
    for component in components:
        sub = per_component[component_key(component)]
        if not is_condition_ready(status, sub):
            state = STATUS_UNKNOWN if is_condition_unknown(status, sub) else STATUS_FALSE
            reason = sub + " not ready"
    set_condition(status, condition_type, state, reason, clock=clock)


def propagate_status(
    status: InferenceServiceStatus,
    component: Component,
    service_status: ServiceStatus,
    *,
    generation: int | None = None,
    clock: WallClock = utc_now,
) -> None:
    """``PropagateStatus`` (Knative): revisions, traffic, url/address (when the ksvc is
    Ready) and the Ready / RoutesReady / ConfigurationsReady conditions of a component's
    Knative Service, including the rolled-out revision tracking and its rollback case.
    ``observedGeneration`` = ``generation`` when given, else the ksvc's (upstream)."""
    spec = component_status(status, component)
    key = component_key(component)
    latest_ready = service_status.latest_ready_revision_name or ""
    latest_created = service_status.latest_created_revision_name or ""
    spec.latest_created_revision = latest_created or None
    traffic = service_status.traffic or []
    revision_traffic: dict[str, int] = {}
    for t in traffic:
        if t.percent is not None:
            name = t.revision_name or ""
            revision_traffic[name] = revision_traffic.get(name, 0) + t.percent
    for t in traffic:
        if (t.revision_name or "") != latest_ready or not t.latest_revision:
            continue
        if (spec.latest_rolledout_revision or "") != latest_ready:
            if t.percent == 100:
                # Track the last revision that is fully rolled out.
                spec.previous_rolledout_revision = spec.latest_rolledout_revision
                spec.latest_rolledout_revision = latest_ready or None
        elif (
            latest_ready == latest_created
            and t.percent is not None
            and t.percent < 100
            and revision_traffic.get(t.revision_name or "") == 100
            and spec.previous_rolledout_revision
        ):
            # Rolled out at 100 % and then rolled back: the previous revision is current again.
            spec.latest_rolledout_revision = spec.previous_rolledout_revision
    if latest_ready != (spec.latest_ready_revision or ""):
        spec.latest_ready_revision = latest_ready or None
    ready = service_status.get_condition(CONDITION_READY)
    if is_true(ready):
        if service_status.address is not None:
            spec.address = service_status.address
        if service_status.url is not None:
            spec.url = service_status.url
    for ours, theirs in (
        (READY_CONDITIONS[key], ready),
        (ROUTE_CONDITIONS[key], service_status.get_condition("RoutesReady")),
    ):
        _copy_condition(status, ours, theirs, clock)
    spec.traffic = service_status.traffic
    _copy_condition(
        status,
        CONFIGURATION_CONDITIONS[key],
        service_status.get_condition("ConfigurationsReady"),
        clock,
    )
    status.observed_generation = (
        generation if generation is not None else service_status.observed_generation
    )


def _copy_condition(
    status: InferenceServiceStatus, t: str, c: Condition | None, clock: WallClock
) -> None:
    if c is not None:
        set_condition(status, t, c.status, c.reason, c.message, clock=clock)
