"""Standard-mode routing of an InferenceService (upstream
``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress``), as pure builders: host names
(:mod:`.domain`, with the Go-template subset in :mod:`.gotemplate`), URL paths
(:mod:`.path`), Gateway API HTTPRoutes (:mod:`.httproute`), the Kubernetes Ingress
(:mod:`.kube_ingress`) and what routing reports in status (:mod:`.status`). The Knative-mode
Istio VirtualService is not here yet."""

from .domain import (
    IngressError,
    generate_domain_name,
    generate_internal_domain_name,
    get_additional_hosts,
)
from .httproute import (
    DesiredRoutes,
    RouteResult,
    desired_httproutes,
    httproute_checks,
    httproute_routing_status,
    httproutes_ingress_condition,
    is_httproute_ready,
)
from .kube_ingress import IngressResult, create_raw_ingress, kube_ingress_routing_status
from .path import generate_url_path
from .status import (
    RoutingStatus,
    create_address,
    create_component_url,
    create_raw_url,
    entry_service_name,
    ingress_creation_disabled,
    is_cluster_local,
)

__all__ = [
    "DesiredRoutes",
    "IngressError",
    "IngressResult",
    "RouteResult",
    "RoutingStatus",
    "create_address",
    "create_component_url",
    "create_raw_ingress",
    "create_raw_url",
    "desired_httproutes",
    "entry_service_name",
    "generate_domain_name",
    "generate_internal_domain_name",
    "generate_url_path",
    "get_additional_hosts",
    "httproute_checks",
    "httproute_routing_status",
    "httproutes_ingress_condition",
    "ingress_creation_disabled",
    "is_cluster_local",
    "is_httproute_ready",
    "kube_ingress_routing_status",
]
