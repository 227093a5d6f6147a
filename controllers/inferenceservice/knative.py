"""Knative mode of the InferenceService reconcile: the checks upstream's ``controller.go``
makes before the components (Knative served, ``config-autoscaler``'s
``allow-zero-initial-scale``), one Knative Service per component (upstream
``components/*.go`` ``reconcile*KnativeDeployment`` + ``knative/ksvc_reconciler.go``) with
its status propagated, and the Istio VirtualService + ExternalName Service routing
(``ingress/ingress_reconciler.go``). kserve-behaviour.md §2.1 steps 7, 10, 11, §2.8-§2.10.

The objects come from the pure builders in :mod:`controllers.reconcilers.knative` and
:mod:`controllers.reconcilers.ingress.virtualservice`; writes go through the
compare-then-apply :class:`runtime.apply.Applier` (upstream sends a dry-run update on every
reconcile to learn Knative's defaults, then diffs; here a Knative Service already holding
every field we set costs no request, whatever Knative's webhook added). Reads come from the
cache: Knative's ConfigMaps (``config-autoscaler``, ``config-domain``) must be in the
manager's cache scope (``knative-serving`` by default).

Beyond upstream: ``observedGeneration`` is the InferenceService's generation once every
component's Knative Service has observed its own (upstream copies the Knative Service's
generation); the rejection (Knative not served) is a PredictorReady condition, rechecked
every :data:`KNATIVE_RECHECK_SECONDS` so Knative installed later is picked up without a
restart; a dropped ``initial-scale`` annotation is an Info condition and one event.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lightkube.resources.core_v1 import ConfigMap, Service

from apis.knative.serving import ServiceStatus
from apis.serving.constants import (
    REVISION_LABEL,
    DeploymentModeType,
    InferenceServiceComponent,
)
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    get_condition,
    set_condition,
)
from apis.serving.v1beta1.inference_service_status_knative import (
    propagate_cross_component_status,
    propagate_status,
)
from controllers.inferenceservice.components.component import ComponentWorkload
from controllers.reconcilers.ingress.status import INGRESS_READY, RoutingStatus
from controllers.reconcilers.ingress.virtualservice import (
    create_external_service,
    create_virtual_service,
    domain_list,
    knative_routing_status,
)
from controllers.reconcilers.knative import (
    AUTOSCALER_CONFIGMAP_NAME,
    DOMAIN_CONFIGMAP_NAME,
    allow_zero_initial_scale,
    autoscaler_config_namespace,
    create_knative_service,
    knative_serving_namespace,
    validate_initial_scale_annotation,
)
from controllers.thirdparty import KnativeService, VirtualService
from runtime.apply import Applier
from runtime.client import ignore_not_found, set_controller_reference
from runtime.codec import object_to_dict

from .workloads import AppliedComponent, KindNotServedError

__all__ = [
    "INITIAL_SCALE_CONDITION",
    "KNATIVE_RECHECK_SECONDS",
    "KnativeComponent",
    "KnativeMode",
    "KnativeRejected",
]

KNATIVE_RECHECK_SECONDS: Final = 30.0
"""While Knative Services are not served, how often a Knative-mode InferenceService checks
again (upstream: a terminal error, retried only when the InferenceService changes)."""
SERVERLESS_MODE_REJECTED: Final = "ServerlessModeRejected"
INITIAL_SCALE_CONDITION: Final = "InitialScaleValid"
"""Info condition (beyond upstream, which only logs): False while the InferenceService's
``autoscaling.knative.dev/initial-scale`` annotation is ignored."""
_READY_TYPES: Final = {
    InferenceServiceComponent.PREDICTOR: "PredictorReady",
    InferenceServiceComponent.TRANSFORMER: "TransformerReady",
    InferenceServiceComponent.EXPLAINER: "ExplainerReady",
}


class KnativeRejected(Exception):
    """Knative mode was resolved but Knative Services are not served: the status says so;
    reconcile again after ``requeue_after`` seconds."""

    def __init__(self, message: str, requeue_after: float) -> None:
        super().__init__(message)
        self.requeue_after = requeue_after


@dataclass(frozen=True)
class KnativeComponent:
    """A component's Knative Service as stored after the reconcile."""

    service_status: ServiceStatus
    observed: bool
    """Knative has processed the Service's current generation (its status describes it)."""


@dataclass
class KnativeMode:
    """The Knative-mode steps of one reconcile (see the module docstring)."""

    applier: Applier
    client: Any
    rest_mapper: Any
    recorder: Any
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _warned_no_virtual_service: set[tuple[str, str]] = field(default_factory=set)

    async def _get(self, resource: Any, name: str, namespace: str | None) -> Any:
        return await ignore_not_found(self.client.get(resource, name, namespace))

    # ------------------------------------------------------------------ before the components

    async def prepare(self, isvc: Any) -> None:
        """Upstream's step 7: Knative served, else :class:`KnativeRejected` (Warning
        ``ServerlessModeRejected`` once, PredictorReady False); then the
        ``initial-scale`` annotation checked against ``allow-zero-initial-scale`` and
        dropped from ``isvc`` (this reconcile's copy) when Knative would not honour it.
        Raises :class:`~controllers.reconcilers.knative.InvalidKnativeConfig` for a
        ``config-autoscaler`` value Knative's own parser refuses."""
        status: InferenceServiceStatus = isvc.status
        if not await self.rest_mapper.is_served(KnativeService):
            message = (f"the resolved deployment mode of InferenceService "
                       f"'{isvc.metadata.name}' is Knative, but Knative Serving is not available")
            current = get_condition(status, "PredictorReady")
            if current is None or current.reason != SERVERLESS_MODE_REJECTED:
                self.recorder.event(
                    isvc, "Warning", SERVERLESS_MODE_REJECTED, "Reconcile",
                    "It is not possible to use Knative deployment mode when Knative Services "
                    "are not available")
            set_condition(status, "PredictorReady", "False", SERVERLESS_MODE_REJECTED, message)
            raise KnativeRejected(message, KNATIVE_RECHECK_SECONDS)
        autoscaler = await self._get(ConfigMap, AUTOSCALER_CONFIGMAP_NAME,
                                     autoscaler_config_namespace(self.env))
        # absent: Knative's defaults (upstream fails the reconcile until it exists)
        allow_zero = allow_zero_initial_scale(autoscaler.data if autoscaler is not None else None)
        annotations, dropped = validate_initial_scale_annotation(isvc.metadata.annotations,
                                                                 allow_zero)
        isvc.metadata.annotations = annotations
        previous = get_condition(status, INITIAL_SCALE_CONDITION)
        if dropped is None:
            if previous is not None:
                status.conditions = [c for c in status.conditions or ()
                                     if c.type != INITIAL_SCALE_CONDITION] or None
            return
        if previous is None or previous.message != dropped:
            self.recorder.event(isvc, "Warning", "InvalidInitialScale", "Reconcile", dropped)
        set_condition(status, INITIAL_SCALE_CONDITION, "False", "InvalidInitialScale", dropped)

    # ------------------------------------------------------------------ components

    async def reconcile_component(
        self,
        isvc: Any,
        workload: ComponentWorkload,
        config: InferenceServiceConfig,
        *,
        stopped: bool,
    ) -> KnativeComponent | None:
        """Apply (stopped: delete) the component's Knative Service and, unless stopped,
        propagate its status into ``isvc.status`` (``PropagateStatus``)."""
        meta = workload.meta
        name, ns, uid = meta.name or "", meta.namespace or "", isvc.metadata.uid
        if stopped:
            if await self.rest_mapper.is_served(KnativeService):
                await self.applier.delete(KnativeService, name, ns, owner_uid=uid)
            return None
        if not await self.rest_mapper.is_served(KnativeService):
            raise KindNotServedError("Service", "serving.knative.dev")
        status: InferenceServiceStatus = isvc.status
        key = str(workload.component)
        rolled_out = _rolled_out(status, key)
        body = await self._apply_ksvc(isvc, workload, config)
        service_status = ServiceStatus.model_validate(body.get("status") or {})
        propagate_status(status, workload.component, service_status,
                         generation=isvc.metadata.generation)
        if _rolled_out(status, key) != rolled_out:
            # the traffic follows the rolled-out revision: a rollout or a rollback just
            # observed changes it now (upstream waits for its own status write to come back)
            body = await self._apply_ksvc(isvc, workload, config)
        observed = service_status.has_observed((body.get("metadata") or {}).get("generation"))
        return KnativeComponent(service_status, observed)

    async def _apply_ksvc(self, isvc: Any, workload: ComponentWorkload,
                          config: InferenceServiceConfig) -> dict[str, Any]:
        current = (isvc.status.components or {}).get(str(workload.component))
        desired = KnativeService.from_dict(create_knative_service(
            workload.meta, workload.extension, workload.pod_spec, current,
            isvc_config_labels_disallowed(config)))
        set_controller_reference(isvc, desired)
        live, _ = await self.applier.ensure(desired)
        return object_to_dict(live) if live is not None else {}

    async def revision_pods(self, isvc: Any, service_status: ServiceStatus) -> list[Any]:
        """The pods of the latest created revision (upstream lists by
        ``serving.knative.dev/revision``), for the model status."""
        from lightkube.resources.core_v1 import Pod

        revision = service_status.latest_created_revision_name or ""
        if not revision:
            return []
        return list(await self.client.list(Pod, isvc.metadata.namespace,
                                           labels={REVISION_LABEL: revision}))

    @staticmethod
    def cross_component_status(isvc: Any, mode: DeploymentModeType, stopped: bool) -> None:
        """Upstream's step 10: RoutesReady / LatestDeploymentReady over the components
        (Knative mode, not while stopped)."""
        if mode != DeploymentModeType.KNATIVE or stopped:
            return
        spec = isvc.spec
        components = [InferenceServiceComponent.PREDICTOR]
        if spec.transformer is not None:
            components.append(InferenceServiceComponent.TRANSFORMER)
        if spec.explainer is not None:
            components.append(InferenceServiceComponent.EXPLAINER)
        for condition_type in ("RoutesReady", "LatestDeploymentReady"):
            propagate_cross_component_status(isvc.status, components, condition_type)

    # ------------------------------------------------------------------ routing

    async def routing(self, isvc: Any, config: InferenceServiceConfig, *,
                      stopped: bool) -> RoutingStatus:
        """Upstream's step 11 for Knative (and ModelMesh): the VirtualService and the
        ExternalName Service (deleted when stopped), then IngressReady, url and address."""
        ingress = config.ingress
        name, ns, uid = isvc.metadata.name, isvc.metadata.namespace, isvc.metadata.uid
        vs_served = await self.rest_mapper.is_served(VirtualService)
        key = (ns, name)
        if not vs_served and not ingress.disable_istio_virtual_host:
            if key not in self._warned_no_virtual_service:  # upstream: every reconcile
                self._warned_no_virtual_service.add(key)
                self.recorder.event(
                    isvc, "Warning", "VirtualServiceCRDNotFound", "Reconcile",
                    "Istio VirtualService CRD not present; VirtualService reconciliation "
                    "skipped. If you do not use Istio, set ingress.disableIstioVirtualHost=true.")
        else:
            self._warned_no_virtual_service.discard(key)
        pending = None
        if vs_served:
            if stopped:
                await self.applier.delete(VirtualService, name, ns, owner_uid=uid)
            else:
                domains = domain_list(await self._config_domain())
                result = create_virtual_service(isvc, ingress, domains, config.inference_service)
                pending = result.condition
                if result.virtual_service is not None and not ingress.disable_istio_virtual_host:
                    vs = VirtualService.from_dict(result.virtual_service)
                    set_controller_reference(isvc, vs)
                    await self.applier.ensure(vs)
        if stopped:
            await self.applier.delete(Service, name, ns, owner_uid=uid)
            return RoutingStatus(get_condition(isvc.status, INGRESS_READY)
                                 or _ingress("False", "Stopped"))
        if not ingress.disable_istio_virtual_host:
            svc = Service.from_dict(create_external_service(isvc, ingress))
            set_controller_reference(isvc, svc)
            await self.applier.ensure(svc)
        routing = knative_routing_status(isvc, ingress, pending)
        if routing is not None:
            return routing
        current = get_condition(isvc.status, INGRESS_READY)
        return RoutingStatus(current if current is not None else _ingress("Unknown"))

    async def _config_domain(self) -> dict[str, str] | None:
        cm = await self._get(ConfigMap, DOMAIN_CONFIGMAP_NAME, knative_serving_namespace(self.env))
        return dict(cm.data or {}) if cm is not None else None


def isvc_config_labels_disallowed(config: InferenceServiceConfig) -> list[str]:
    """``serviceLabelDisallowedList`` (the built-in ``networking.knative.dev/visibility``
    included when the config has an ``inferenceService`` key)."""
    return list(config.inference_service.service_label_disallowed_list or [])


def _rolled_out(status: InferenceServiceStatus, component: str) -> str | None:
    comp = (status.components or {}).get(component)
    return comp.latest_rolledout_revision if comp is not None else None


def _ingress(status: str, reason: str | None = None) -> Any:
    from apis.knative import Condition

    return Condition(type=INGRESS_READY, status=status, reason=reason)


def ready_type(component: InferenceServiceComponent) -> str:
    return _READY_TYPES[component]


EMPTY = AppliedComponent([], [])
"""What a Knative component hands the routing step: no Deployments, no Services."""
