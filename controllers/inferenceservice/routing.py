"""Standard-mode routing: Gateway API HTTPRoutes or one Kubernetes Ingress (the I/O half of
upstream's ``reconcilers/ingress/{httproute,kube_ingress}_reconciler.go``; objects and status
from the pure builders in :mod:`controllers.reconcilers.ingress`).

HTTPRoute readiness comes from the routes' parent status, which the gateway controller
writes; the routes are owned and watched, so their status change re-queues the
InferenceService (upstream polls every second instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress

from apis.serving.v1beta1.configmap import InferenceServiceConfig
from controllers.reconcilers.ingress.httproute import (
    desired_httproutes,
    httproute_checks,
    httproute_routing_status,
)
from controllers.reconcilers.ingress.kube_ingress import (
    create_raw_ingress,
    kube_ingress_routing_status,
)
from controllers.reconcilers.ingress.status import (
    RoutingStatus,
    entry_service_name,
    ingress_condition,
    ingress_creation_disabled,
)
from controllers.thirdparty import HTTPRoute
from runtime.apply import Applier
from runtime.client import ignore_not_found, set_controller_reference

from .workloads import KindNotServedError

__all__ = ["Routing"]


@dataclass
class Routing:
    applier: Applier
    client: Any
    rest_mapper: Any

    async def _get(self, resource: Any, name: str, namespace: str) -> Any:
        return await ignore_not_found(self.client.get(resource, name, namespace))

    async def reconcile(
        self,
        isvc: Any,
        config: InferenceServiceConfig,
        services: Mapping[str, Service],
        *,
        stopped: bool,
    ) -> RoutingStatus:
        """Apply the routes for ``isvc`` (whose ``status`` holds the components' readiness
        computed in this reconcile) and return IngressReady, url and address. ``services``:
        the components' Services by name, as stored."""
        ingress_cfg = config.ingress
        ns, uid = isvc.metadata.namespace, isvc.metadata.uid
        gateway_api = ingress_cfg.enable_gateway_api
        if stopped:
            if gateway_api:
                if await self.rest_mapper.is_served(HTTPRoute):
                    for name, _ in httproute_checks(isvc):
                        await self.applier.delete(HTTPRoute, name, ns, owner_uid=uid)
            else:
                await self.applier.delete(Ingress, isvc.metadata.name, ns, owner_uid=uid)
            return RoutingStatus(ingress_condition("False", "Stopped"))
        entry = services.get(entry_service_name(isvc))
        disabled = ingress_creation_disabled(isvc, ingress_cfg)
        if gateway_api:
            observed: dict[str, Any] = {}
            if not disabled:
                if not await self.rest_mapper.is_served(HTTPRoute):
                    raise KindNotServedError("HTTPRoute", "gateway.networking.k8s.io")
                desired = desired_httproutes(isvc, ingress_cfg, config.inference_service, services)
                for name, route in desired.routes.items():
                    obj = HTTPRoute.from_dict(route)
                    set_controller_reference(isvc, obj)
                    live, _ = await self.applier.ensure(obj)
                    observed[name] = _as_dict(live)
                for name, _ in httproute_checks(isvc):
                    if name not in observed:
                        observed[name] = _as_dict(await self._get(HTTPRoute, name, ns))
                if desired.condition is not None:
                    return RoutingStatus(desired.condition)
            routing = httproute_routing_status(isvc, ingress_cfg, observed, entry)
            # readiness follows the watched routes' status: no polling
            return routing._replace(requeue_after=None)
        built = None
        if not disabled:
            built = create_raw_ingress(isvc, ingress_cfg, config.inference_service)
            if built.ingress is not None:
                await self.applier.ensure(built.ingress)
        return kube_ingress_routing_status(isvc, ingress_cfg, built, entry)


def _as_dict(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    from runtime.codec import object_to_dict

    return object_to_dict(obj)
